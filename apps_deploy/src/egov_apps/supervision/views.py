"""电子监察 real-time view: every running approval against its statutory deadline, read live from
the one-stop approval system (not a copy): red card when overdue, yellow when close, counted per
department and per town. Department staff see their department; supervisors see all."""

from __future__ import annotations

from collections import Counter

from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from egov_apps.catalogue import BY_CODE
from egov_apps.common import audit, upstream
from egov_apps.common.deadline import card, remaining
from egov_apps.common.staff import staff_required
from egov_apps.common.views import message

APPROVAL = "one-stop-approval"


def landing(request):
    return render(request, "supervision/landing.html")


@staff_required
def cards(request):
    try:
        status, body = upstream.call(APPROVAL, "GET", "/applications?active=1")
    except upstream.Unavailable:
        status, body = 0, {}
    if status != 200:
        return message(request, "数据暂不可用", "无法读取一站式审批系统的数据，请稍后再试。", 503)
    now = timezone.now()
    staff = request.user.staff
    rows = []
    for a in body["applications"]:
        if not staff.sees_all() and a["department"] != staff.department:
            continue
        due, sub = parse_datetime(a["due_at"]), parse_datetime(a["submitted_at"])
        c = card(sub, due, now)
        if c != "green":
            rows.append({**a, "card": c, "remaining": remaining(due, now),
                         "item": BY_CODE.get(a["item_code"], {}).get("name", a["item_code"])})
    rows.sort(key=lambda r: (r["card"] != "red", r["due_at"]))
    by_dept = Counter((r["department"], r["card"]) for r in rows)
    by_town = Counter((r["town_id"] or "（未填）", r["card"]) for r in rows)
    depts = sorted({d for d, _ in by_dept})
    towns = sorted({t for t, _ in by_town})
    audit.record(request, "supervision.view", detail=f"{len(rows)} cards")
    return render(request, "supervision/cards.html", {
        "rows": rows[:300], "red": sum(r["card"] == "red" for r in rows),
        "yellow": sum(r["card"] == "yellow" for r in rows),
        "by_dept": [(d, by_dept[(d, "red")], by_dept[(d, "yellow")]) for d in depts],
        "by_town": [(t, by_town[(t, "red")], by_town[(t, "yellow")]) for t in towns]})
