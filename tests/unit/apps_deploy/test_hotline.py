"""12345: the drills' JSON API, and a call taken, dispatched, answered and closed with satisfaction."""

import json

import pytest

from tests.unit.apps_deploy.conftest import login, urlconf

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture(autouse=True)
def _urls():
    with urlconf("hotline"):
        yield


CALL = {"caller_phone": "13900000000", "town_id": "shiqiao", "category": "建议", "content": "增设公交站"}


def test_api_ticket_numbers_idempotency_and_masking(client):
    post = lambda b: client.post("/tickets", json.dumps(b, ensure_ascii=False), content_type="application/json")
    r1, r2 = post({**CALL, "client_ref": "d-1"}), post({**CALL, "client_ref": "d-1"})
    assert r1.status_code == 201 and r1.json()["ticket_no"] == f"12345-{r1.json()['id']:09d}"
    assert r2.json()["id"] == r1.json()["id"]
    assert client.get(f"/tickets/{r1.json()['id']}").json()["caller_phone"] == "139****0000"
    assert [t["id"] for t in client.get("/tickets").json()["tickets"]] == [r1.json()["id"]]
    bad = post({**CALL, "category": "闲聊"})
    assert bad.status_code == 400 and "category must be one of" in bad.json()["error"]
    assert post({k: v for k, v in CALL.items() if k != "content"}).json() == {"error": "missing field: content"}


def test_take_dispatch_answer_close(client, staff):
    from django.test import Client

    from egov_apps.common.models import AuditEntry
    from egov_apps.hotline.models import Ticket

    _, t_disp = staff("disp", "12345热线", role="supervisor")
    _, t_dept = staff("minzheng", "区民政局")
    dept = Client()  # a TOTP code logs in once: a second login in the same 30 s step is refused (replay)
    login(client, "disp", t_disp())
    login(dept, "minzheng", t_dept())
    r = client.post("/staff/tickets/new/", {**CALL, "citizen_id": ""})
    assert r.status_code == 302
    t = Ticket.objects.get()
    assert client.post(f"/staff/tickets/{t.id}/", {"action": "dispatch", "department": "火星局"}).status_code == 400
    assert client.post(f"/staff/tickets/{t.id}/", {"action": "dispatch", "department": "区民政局"}).status_code == 302
    assert "13900000000" not in dept.get("/staff/").content.decode()  # masked in the list
    assert dept.post(f"/staff/tickets/{t.id}/", {"action": "answer", "answer": "已转交交通部门研究"}).status_code == 302
    assert client.post(f"/staff/tickets/{t.id}/", {"action": "close", "satisfaction": "9"}).status_code == 400
    assert client.post(f"/staff/tickets/{t.id}/", {"action": "close", "satisfaction": "4"}).status_code == 302
    t.refresh_from_db()
    assert (t.status, t.department, t.satisfaction) == ("closed", "区民政局", 4) and t.closed_at
    assert set(AuditEntry.objects.filter(outcome="ok").values_list("action", flat=True)) >= {
        "ticket.create", "ticket.dispatch", "ticket.answer", "ticket.close"}


def test_another_departments_ticket_is_refused(client, staff):
    from egov_apps.hotline.models import Ticket

    _, token = staff("gongan", "区公安分局")
    t = Ticket.objects.create(caller_phone="13900000000", town_id="shiqiao", category="投诉", content="噪音",
                              department="区民政局", status="assigned", due_at="2030-01-01T00:00Z")
    login(client, "gongan", token())
    assert client.get(f"/staff/tickets/{t.id}/").status_code == 403
    assert client.post(f"/staff/tickets/{t.id}/", {"action": "answer", "answer": "x"}).status_code == 403
    t.refresh_from_db()
    assert t.status == "assigned" and t.answer == ""


def test_malformed_call_form_writes_nothing(client, staff):
    from egov_apps.hotline.models import Ticket

    _, token = staff("disp", "12345热线", role="supervisor")
    login(client, "disp", token())
    for form in ({**CALL, "caller_phone": "abc"}, {**CALL, "content": ""}, {**CALL, "citizen_id": "110105194912310021"},
                 {**CALL, "category": "闲聊"}):
        assert client.post("/staff/tickets/new/", form).status_code == 400
    assert Ticket.objects.count() == 0
