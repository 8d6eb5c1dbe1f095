"""12345 hotline pages for staff: take a call as a ticket, dispatch it to a department, answer it,
close it with the caller's satisfaction. Dispatchers (role supervisor) see every ticket; a
department's staff see the tickets dispatched to them."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from egov_apps.catalogue import departments
from egov_apps.common import audit
from egov_apps.common.api import ApiError
from egov_apps.common.deadline import card, remaining
from egov_apps.common.masking import mask_id, mask_phone, phone_problem
from egov_apps.common.staff import may_see, scope, staff_required
from egov_apps.common.views import bad_request, forbidden
from egov_apps.hotline import api
from egov_apps.hotline.models import CATEGORIES, Ticket


def landing(request):
    return render(request, "hotline/landing.html")


@staff_required
def board(request):
    now = timezone.now()
    qs = scope(Ticket.objects.exclude(status="closed"), request.user)
    rows = [{"t": t, "phone": mask_phone(t.caller_phone), "card": card(t.created_at, t.due_at, now),
             "remaining": remaining(t.due_at, now)} for t in qs.order_by("due_at")[:200]]
    return render(request, "hotline/board.html", {"rows": rows})


@staff_required
@require_http_methods(["GET", "POST"])
def new(request):
    names = ("caller_phone", "citizen_id", "town_id", "category", "content")
    form = {k: request.POST.get(k, "").strip() for k in names}
    if request.method == "POST":
        problem = phone_problem(form["caller_phone"]) or ("请填写来电内容" if not form["content"] else None) \
            or ("请填写所在镇街" if not form["town_id"] else None)
        if problem:
            return bad_request(request, problem, "ticket.create")
        try:
            row = api.create(**{k: v for k, v in form.items()})
        except ApiError as e:
            return bad_request(request, e.message, "ticket.create")
        audit.record(request, "ticket.create", f"ticket:{row['id']}", detail=form["content"][:200])
        return redirect("hotline-ticket", id=row["id"])
    return render(request, "hotline/new.html", {"categories": CATEGORIES})


@staff_required
@require_http_methods(["GET", "POST"])
def ticket(request, id: int):
    t = get_object_or_404(Ticket, pk=id)
    dispatcher = request.user.staff.sees_all()
    if not dispatcher and not may_see(request.user, t.department):
        return forbidden(request, "ticket.view", f"ticket:{id}")
    if request.method == "POST":
        action = request.POST.get("action", "")
        with transaction.atomic():
            t = Ticket.objects.select_for_update().get(pk=id)
            if action == "dispatch" and dispatcher and t.status in ("open", "assigned"):
                dept = request.POST.get("department", "")
                if dept not in departments():
                    return bad_request(request, "未知的承办部门", "ticket.dispatch", f"ticket:{id}")
                t.department, t.status = dept, "assigned"
                t.save(update_fields=["department", "status"])
            elif action == "answer" and not dispatcher and t.status == "assigned":
                answer = request.POST.get("answer", "").strip()
                if not answer:
                    return bad_request(request, "请填写答复内容", "ticket.answer", f"ticket:{id}")
                t.answer, t.status = answer[:2000], "answered"
                t.save(update_fields=["answer", "status"])
            elif action == "close" and dispatcher and t.status == "answered":
                try:
                    score = int(request.POST.get("satisfaction", ""))
                except ValueError:
                    score = 0
                if not 1 <= score <= 5:
                    return bad_request(request, "满意度须为 1 至 5", "ticket.close", f"ticket:{id}")
                t.satisfaction, t.status, t.closed_at = score, "closed", timezone.now()
                t.save(update_fields=["satisfaction", "status", "closed_at"])
            else:
                return bad_request(request, "当前状态下不能执行该操作", f"ticket.{action or 'unknown'}", f"ticket:{id}")
            audit.record(request, f"ticket.{action}", f"ticket:{id}", detail=t.department or "")
        return redirect("hotline-ticket", id=id)
    audit.record(request, "ticket.view", f"ticket:{id}")
    return render(request, "hotline/ticket.html", {
        "t": t, "phone": mask_phone(t.caller_phone), "citizen": mask_id(t.citizen_id) if t.citizen_id else "",
        "dispatcher": dispatcher, "departments": departments(), "card": card(t.created_at, t.due_at),
        "remaining": remaining(t.due_at)})
