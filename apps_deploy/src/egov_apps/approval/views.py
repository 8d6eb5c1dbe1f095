"""一站式审批 staff workbench: the department's open applications against their statutory deadlines;
accept, ask for more material, approve or reject (each decision audited)."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from egov_apps.approval.models import ACTIVE, Application
from egov_apps.catalogue import BY_CODE
from egov_apps.common import audit
from egov_apps.common.deadline import card, remaining
from egov_apps.common.masking import mask_id, mask_phone
from egov_apps.common.staff import may_see, scope, staff_required
from egov_apps.common.views import bad_request, forbidden

ACTIONS = {  # action -> (allowed from, new status, label)
    "accept": (("open", "more_material"), "accepted", "受理"),
    "more_material": (("open", "accepted"), "more_material", "补正材料"),
    "approve": (("accepted",), "completed", "准予许可"),
    "reject": (("open", "accepted", "more_material"), "rejected", "不予许可"),
}


def landing(request):
    return render(request, "approval/landing.html")


def _row(a: Application, now) -> dict:
    item = BY_CODE.get(a.item_code, {})
    return {"a": a, "item": item.get("name", a.item_code), "card": card(a.submitted_at, a.due_at, now),
            "remaining": remaining(a.due_at, now), "applicant": mask_id(a.applicant_id) if a.applicant_type == "person"
            else a.applicant_id}


@staff_required
def workbench(request):
    now = timezone.now()
    status = request.GET.get("status", "active")
    qs = scope(Application.objects.all(), request.user)
    qs = qs.filter(status__in=ACTIVE) if status == "active" else qs.filter(status=status) \
        if status in dict(Application._meta.get_field("status").choices) else qs.none()
    rows = [_row(a, now) for a in qs.order_by("due_at")[:200]]
    return render(request, "approval/workbench.html", {"rows": rows, "status": status,
                                                       "statuses": Application._meta.get_field("status").choices})


@staff_required
@require_http_methods(["GET", "POST"])
def detail(request, id: int):
    a = get_object_or_404(Application, pk=id)
    if not may_see(request.user, a.department):
        return forbidden(request, "application.view", f"application:{id}")
    if request.method == "POST":
        if request.user.staff.role == "supervisor":
            return forbidden(request, "application.decide", f"application:{id}")
        action = request.POST.get("action", "")
        note = request.POST.get("note", "").strip()[:1000]
        if action not in ACTIONS:
            return bad_request(request, "未知的办理操作", "application.decide", f"application:{id}")
        allowed, new, label = ACTIONS[action]
        if action in ("more_material", "reject") and not note:
            return bad_request(request, f"“{label}”须填写理由", "application.decide", f"application:{id}")
        with transaction.atomic():
            locked = Application.objects.select_for_update().get(pk=id)
            if locked.status not in allowed:
                return bad_request(request, f"当前状态为“{locked.get_status_display()}”，不能{label}",
                                   "application.decide", f"application:{id}")
            locked.status, locked.decided_by = new, request.user.get_username()
            locked.note = note or locked.note
            if new in ("completed", "rejected"):
                locked.completed_at = timezone.now()
            locked.save(update_fields=["status", "decided_by", "note", "completed_at"])
            audit.record(request, f"application.{action}", f"application:{id}", detail=note)
        return redirect("approval-detail", id=id)
    audit.record(request, "application.view", f"application:{id}")
    return render(request, "approval/detail.html", {**_row(a, timezone.now()),
                                                    "phone": mask_phone(a.applicant_phone) if a.applicant_phone else "",
                                                    "guide": BY_CODE.get(a.item_code),
                                                    "actions": [(k, v[2]) for k, v in ACTIONS.items()
                                                                if a.status in v[0]]})
