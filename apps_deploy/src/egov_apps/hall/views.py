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
# 企业开办一表通: registration, tax, social security, seal... (the catalogue's enterprise items)
JOINT_ITEMS = ["440113-0002", "440113-0025", "440113-0026", "440113-0005", "440113-0003"]
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


def _item(code: str, request=None) -> ServiceItem:
    item = ServiceItem.objects.filter(code=code).first()
    if item is None:
        if request is not None and request.method == "POST":
            audit.record(request, "apply", code[:40], outcome="refused", detail="unknown service item")
        raise Http404("no such service item")
    return item


def guide(request, code: str):
    item = _item(code)
    ServiceItem.objects.filter(code=code).update(views=F("views") + 1)
    return render(request, "hall/guide.html", {"item": item})


@require_http_methods(["GET", "POST"])
def apply(request, code: str):
    item = _item(code, request)
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
def joint(request):
    """企业开办一表通: one form for an enterprise, fanned out by approval to every department at once."""
    items = ServiceItem.objects.filter(code__in=JOINT_ITEMS)
    if request.method == "GET":
        return render(request, "hall/joint.html", {"items": items, "form": {}})
    uscc = request.POST.get("uscc", "").strip().upper()
    codes = [c for c in request.POST.getlist("item_codes") if c]
    problem = uscc_problem(uscc) or (None if len(set(codes)) >= 2 else "请至少选择两个事项") \
        or (None if set(codes) <= set(JOINT_ITEMS) else "所选事项不在一表通范围内")
    if problem:
        audit.record(request, "apply.joint", outcome="refused", detail=problem)
        return render(request, "hall/joint.html", {"items": items, "form": {"uscc": uscc, "codes": codes},
                                                   "error": problem}, status=400)
    try:
        status, body = upstream.call(APPROVAL, "POST", "/joint-applications",
                                     {"uscc": uscc, "item_codes": sorted(set(codes))})
    except upstream.Unavailable:
        return message(request, "服务暂不可用", "审批系统暂时无法访问，请稍后再试。", 503)
    if status != 201:
        audit.record(request, "apply.joint", outcome="refused", detail=f"{status} {body.get('error', '')}")
        msg = {404: "法人库中没有该统一社会信用代码的登记信息"}.get(status, "申请未能提交，请核对后重试")
        return render(request, "hall/joint.html", {"items": items, "form": {"uscc": uscc, "codes": codes},
                                                   "error": msg}, status=400)
    audit.record(request, "apply.joint", f"joint:{body['joint_id']}", detail=",".join(sorted(set(codes))))
    names = {i.code: i.name for i in items}
    rows = [{**a, "name": names.get(a["item_code"], a["item_code"])} for a in body["applications"]]
    return render(request, "hall/joint_done.html", {"joint": body, "rows": rows}, status=201)


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
