"""一站式审批: the JSON API the drills use (same paths and answers), and the staff workbench."""

import json

import pytest

from tests.unit.apps_deploy.conftest import login, urlconf

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture(autouse=True)
def _urls():
    with urlconf("approval"):
        yield


def post(client, path, body):
    return client.post(path, json.dumps(body, ensure_ascii=False), content_type="application/json")


def new_app(client, person, **kw):
    return post(client, "/applications", {"applicant_type": "person", "applicant_id": person,
                                          "item_code": "440113-0009", **kw})


def test_create_is_idempotent_by_client_ref_and_reads_are_masked(client, db):
    p = db["persons"][0]
    r1, r2 = new_app(client, p, client_ref="d-1"), new_app(client, p, client_ref="d-1")
    assert r1.status_code == r2.status_code == 201 and r1.json()["id"] == r2.json()["id"]
    assert r1.json()["department"] == "区民政局" and "tracking_secret" not in r1.json()
    got = client.get(f"/applications/{r1.json()['id']}").json()
    assert got["applicant_id"] == p[:6] + "********" + p[-4:] and "tracking_hash" not in got


def test_bad_input_is_one_error_and_nothing_written(client, db):
    from egov_apps.approval.models import Application

    p = db["persons"][0]
    wrong = p[:17] + ("0" if p[17] != "0" else "1")
    cases = [
        (new_app(client, wrong), 400, "校验位"),
        (new_app(client, "440113199901019999"[:17] + "X"), None, None),
        (post(client, "/applications", {"applicant_type": "person", "applicant_id": p, "item_code": "440113-9999"}),
         404, "no service item 440113-9999"),
        (client.post("/applications", "{not json", content_type="application/json"), 400, "body must be JSON"),
        (client.post("/applications", "a=1", content_type="application/x-www-form-urlencoded"), 415, "Content-Type"),
        (post(client, "/applications", {"applicant_type": "alien", "applicant_id": p, "item_code": "440113-0001"}),
         400, "person or entity"),
    ]
    for r, status, text in cases:
        if status is None:
            assert r.status_code in (400, 404)
            continue
        assert r.status_code == status and text in r.json()["error"], r.content
    assert Application.objects.count() == 0


def test_joint_application_fans_out_to_departments(client, db):
    r = post(client, "/joint-applications", {"uscc": db["entities"][0], "item_codes": ["440113-0002", "440113-0025"]})
    assert r.status_code == 201
    assert {a["department"] for a in r.json()["applications"]} == {"区市场监督管理局", "区税务局"}
    one = post(client, "/joint-applications", {"uscc": db["entities"][0], "item_codes": ["440113-0002"]})
    assert one.status_code == 400


def test_tracking_needs_the_number_and_the_secret(client, db):
    r = new_app(client, db["persons"][1], tracking=True).json()
    ok = post(client, f"/applications/{r['id']}/track", {"secret": r["tracking_secret"]})
    assert ok.status_code == 200 and ok.json()["status"] == "open"
    assert post(client, f"/applications/{r['id']}/track", {"secret": "WRONG"}).status_code == 404


def test_overdue_listing_and_complete(client, db):
    from datetime import timedelta

    from django.utils import timezone

    from egov_apps.approval.models import Application

    a = new_app(client, db["persons"][0]).json()
    Application.objects.filter(pk=a["id"]).update(due_at=timezone.now() - timedelta(hours=1))
    rows = client.get("/applications?overdue=1").json()["applications"]
    assert [r["id"] for r in rows] == [a["id"]] and "*" in rows[0]["applicant_id"]
    assert client.post(f"/applications/{a['id']}/complete", "{}", content_type="application/json").status_code == 200
    assert client.post(f"/applications/{a['id']}/complete", "{}", content_type="application/json").status_code == 409


def test_workbench_shows_only_the_department_and_refuses_another(client, db, staff):
    from egov_apps.common.models import AuditEntry

    mine = new_app(client, db["persons"][0]).json()  # 区民政局
    other = post(client, "/applications", {"applicant_type": "person", "applicant_id": db["persons"][0],
                                           "item_code": "440113-0013"}).json()  # 区公安分局
    _, token = staff("clerk1", "区民政局")
    assert login(client, "clerk1", token()).status_code == 302
    page = client.get("/staff/").content.decode()
    assert f'/staff/applications/{mine["id"]}/' in page and f'/staff/applications/{other["id"]}/' not in page
    assert db["persons"][0] not in page  # masked in lists
    r = client.get(f"/staff/applications/{other['id']}/")
    assert r.status_code == 403
    assert AuditEntry.objects.filter(actor="clerk1", action="application.view", outcome="refused",
                                     target=f"application:{other['id']}").exists()
    r = client.post(f"/staff/applications/{other['id']}/", {"action": "accept"})
    assert r.status_code == 403


def test_accept_then_approve_is_audited(client, db, staff):
    from egov_apps.approval.models import Application
    from egov_apps.common.models import AuditEntry

    a = new_app(client, db["persons"][0]).json()
    _, token = staff("clerk1", "区民政局")
    login(client, "clerk1", token())
    assert client.post(f"/staff/applications/{a['id']}/", {"action": "approve"}).status_code == 400  # not accepted yet
    assert client.post(f"/staff/applications/{a['id']}/", {"action": "accept"}).status_code == 302
    assert client.post(f"/staff/applications/{a['id']}/", {"action": "reject"}).status_code == 400  # needs a reason
    assert client.post(f"/staff/applications/{a['id']}/", {"action": "approve", "note": "符合条件"}).status_code == 302
    got = Application.objects.get(pk=a["id"])
    assert got.status == "completed" and got.decided_by == "clerk1" and got.completed_at
    actions = list(AuditEntry.objects.filter(actor="clerk1").values_list("action", "outcome"))
    assert ("application.accept", "ok") in actions and ("application.approve", "ok") in actions
    assert ("application.decide", "refused") in actions


def test_staff_pages_need_login_with_totp(client, db, staff):
    assert client.get("/staff/").status_code == 302
    _, token = staff("clerk1", "区民政局")
    r = client.post("/staff/login/", {"username": "clerk1", "password": "Correct-Horse-9", "otp_token": "000000"})
    assert r.status_code == 200 and client.get("/staff/").status_code == 302  # password alone is not enough
