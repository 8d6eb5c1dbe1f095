"""网上办事大厅 pages for citizens (no account): find a service item, read its guide, apply online,
track an application with its number and the tracking secret shown when applying. Applications
go to the one-stop approval system through its API (which validates the applicant against the
base databases); the hall keeps no copy."""

from __future__ import annotations

from django.db.models import F, Q
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from egov_apps.common import audit, upstream
from egov_apps.common.masking import citizen_id_problem, phone_problem, uscc_problem
from egov_apps.common.views import bad_request, message
from egov_apps.hall.models import ServiceItem

APPROVAL = "one-stop-approval"
STATUS = {"open": "待受理", "accepted": "已受理，审查中", "more_material": "请补正材料",
          "completed": "已办结（准予许可）", "rejected": "不予许可"}


def index(request):
    q = request.GET.get("q", "").strip()[:50]
    dept = request.GET.get("department", "")
    qs = ServiceItem.objects.all()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(department__icontains=q))
    if dept:
        qs = qs.filter(department=dept)
    departments = ServiceItem.objects.values_list("department", flat=True).distinct().order_by("department")
    return render(request, "hall/index.html", {"items": qs, "q": q, "department": dept, "departments": departments})


def _item(code: str) -> ServiceItem:
    item = ServiceItem.objects.filter(code=code).first()
    if item is None:
        raise Http404("no such service item")
    return item


def guide(request, code: str):
    item = _item(code)
    ServiceItem.objects.filter(code=code).update(views=F("views") + 1)
    return render(request, "hall/guide.html", {"item": item})


@require_http_methods(["GET", "POST"])
def apply(request, code: str):
    item = _item(code)
    if request.method == "GET":
        return render(request, "hall/apply.html", {"item": item, "form": {}})
    form = {k: request.POST.get(k, "").strip().upper() if k == "applicant_id" else request.POST.get(k, "").strip()
            for k in ("applicant_type", "applicant_id", "applicant_phone", "town_id")}
    if form["applicant_type"] not in ("person", "entity"):
        problem = "请选择申请人类型"
    elif form["applicant_type"] == "person":
        problem = citizen_id_problem(form["applicant_id"])
    else:
        problem = uscc_problem(form["applicant_id"])
    problem = problem or phone_problem(form["applicant_phone"])
    if problem:
        audit.record(request, "apply", item.code, outcome="refused", detail=problem)
        return render(request, "hall/apply.html", {"item": item, "form": form, "error": problem}, status=400)
    try:
        status, body = upstream.call(APPROVAL, "POST", "/applications", {**form, "item_code": item.code,
                                                                        "tracking": True})
    except upstream.Unavailable:
        return message(request, "服务暂不可用", "审批系统暂时无法访问，请稍后再试。", 503)
    if status != 201:
        msg = {404: "基础信息库中没有该申请人的登记信息，请核对证件号码"}.get(status, "申请未能提交，请核对后重试")
        audit.record(request, "apply", item.code, outcome="refused", detail=f"{status} {body.get('error', '')}")
        return render(request, "hall/apply.html", {"item": item, "form": form, "error": msg}, status=400)
    audit.record(request, "apply", f"application:{body['id']}", detail=item.code)
    return render(request, "hall/applied.html", {"item": item, "app": body}, status=201)


@require_http_methods(["GET", "POST"])
def track(request):
    if request.method == "GET":
        return render(request, "hall/track.html", {})
    number, secret = request.POST.get("number", "").strip(), request.POST.get("secret", "").strip()
    if not number.isdigit() or not secret or len(secret) > 32:
        return bad_request(request, "请填写申请编号（数字）和查询密码", "track")
    try:
        status, body = upstream.call(APPROVAL, "POST", f"/applications/{int(number)}/track", {"secret": secret})
    except upstream.Unavailable:
        return message(request, "服务暂不可用", "审批系统暂时无法访问，请稍后再试。", 503)
    if status != 200:
        audit.record(request, "track", f"application:{number}", outcome="refused", detail="wrong number or secret")
        return render(request, "hall/track.html", {"error": "申请编号或查询密码不正确", "number": number}, status=404)
    return render(request, "hall/track.html", {"app": body, "number": number,
                                               "status": STATUS.get(body["status"], body["status"])})
