"""电子监察: red and yellow cards read live from the approval data, per department and town."""

import json
from datetime import timedelta

import pytest

from tests.unit.apps_deploy.conftest import login, urlconf

pytestmark = pytest.mark.usefixtures("db")


def _applications(db, client):
    from django.utils import timezone

    from egov_apps.approval.models import Application

    ids = {}
    with urlconf("approval"):
        for name, code, town in (("late", "440113-0009", "shiqiao"), ("close", "440113-0009", "dashi"),
                                 ("fine", "440113-0009", "dashi"), ("other", "440113-0013", "shiqiao")):
            r = client.post("/applications", json.dumps({"applicant_type": "person", "applicant_id": db["persons"][0],
                                                        "item_code": code, "town_id": town}),
                            content_type="application/json")
            ids[name] = r.json()["id"]
    now = timezone.now()
    Application.objects.filter(pk=ids["late"]).update(due_at=now - timedelta(days=1))
    Application.objects.filter(pk=ids["other"]).update(due_at=now - timedelta(days=1))
    Application.objects.filter(pk=ids["close"]).update(due_at=now + timedelta(hours=2))
    return ids


def test_cards_per_department_and_town(client, db, staff, approval_upstream):
    ids = _applications(db, client)
    with urlconf("supervision"):
        _, token = staff("jiancha", "区政务服务数据管理局", role="supervisor")
        login(client, "jiancha", token())
        r = client.get("/staff/")
    page = r.content.decode()
    assert r.status_code == 200 and r.context["red"] == 2 and r.context["yellow"] == 1
    assert ("区民政局", 1, 1) in r.context["by_dept"] and ("区公安分局", 1, 0) in r.context["by_dept"]
    assert ("shiqiao", 2, 0) in r.context["by_town"]
    assert "红牌 2" in page and f"<td>{ids['fine']}</td>" not in page


def test_department_staff_see_only_their_cards(client, db, staff, approval_upstream):
    _applications(db, client)
    with urlconf("supervision"):
        _, token = staff("mz", "区民政局")
        login(client, "mz", token())
        r = client.get("/staff/")
    assert r.context["red"] == 1 and [d for d, *_ in r.context["by_dept"]] == ["区民政局"]


def test_scan_keeps_flags_once(client, db, approval_upstream):
    _applications(db, client)
    with urlconf("supervision"):
        first = client.post("/scan", "{}", content_type="application/json").json()
        again = client.post("/scan", "{}", content_type="application/json").json()
        flags = client.get("/flags").json()
        assert client.get("/indicators/shiqiao").json()["indicators"][0]["indicator"] == "gdp"
        assert client.get("/indicators/nowhere").status_code == 404
    assert first == {"overdue": 2, "new_flags": 2} and again == {"overdue": 2, "new_flags": 0}
    assert sum(f["flagged"] for f in flags["by_department"]) == 2
