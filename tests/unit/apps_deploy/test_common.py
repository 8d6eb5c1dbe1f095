"""What every application shares: login (password + TOTP), lockout, idle timeout, CSRF, security
headers, the append-only audit log, masking, health."""

import pytest

from tests.unit.apps_deploy.conftest import login, urlconf

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture(autouse=True)
def _urls():
    with urlconf("approval"):
        yield


def test_ten_failed_logins_lock_the_account_and_are_audited(client, staff):
    from egov_apps.common.models import AuditEntry

    _, token = staff("clerk1", "区民政局")
    codes = [client.post("/staff/login/", {"username": "clerk1", "password": f"wrong-{i}", "otp_token": token()})
             .status_code for i in range(10)]
    assert codes[:4] == [200] * 4 and set(codes[5:]) == {429}
    r = login(client, "clerk1", token())  # the right password and code no longer help
    assert r.status_code == 429 and "账号已锁定" in r.content.decode()
    assert client.get("/staff/").status_code == 302
    refused = AuditEntry.objects.filter(actor="clerk1", action="login", outcome="refused")
    assert refused.count() >= 10 and refused.filter(detail__contains="locked").exists()


def test_password_plus_totp_logs_in_and_sets_an_idle_timeout(client, staff):
    from django.conf import settings

    _, token = staff("clerk1", "区民政局")
    r = login(client, "clerk1", token())
    assert r.status_code == 302 and r["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_COOKIE_AGE == 15 * 60
    assert client.session.get_expiry_age() <= 15 * 60


def test_an_idle_session_expires(client, staff):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    _, token = staff("clerk1", "区民政局")
    login(client, "clerk1", token())
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/staff/").status_code == 302


def test_forged_csrf_is_refused_nothing_written_and_audited(db, staff):
    from django.test import Client

    from egov_apps.approval.models import Application
    from egov_apps.common.models import AuditEntry

    c = Client(enforce_csrf_checks=True)
    a = c.post("/applications", '{"applicant_type": "person", "applicant_id": "%s", "item_code": "440113-0009"}'
               % db["persons"][0], content_type="application/json").json()  # the API: JSON only, no cookie
    _, token = staff("clerk1", "区民政局")
    page = c.get("/staff/login/")
    csrf = page.cookies["csrftoken"].value
    r = c.post("/staff/login/", {"username": "clerk1", "password": "Correct-Horse-9", "otp_token": token(),
                                 "csrfmiddlewaretoken": csrf})
    assert r.status_code == 302
    r = c.post(f"/staff/applications/{a['id']}/", {"action": "accept", "csrfmiddlewaretoken": "forged" * 8})
    assert r.status_code == 403 and "CSRF" in r.content.decode()
    assert Application.objects.get(pk=a["id"]).status == "open"
    assert AuditEntry.objects.filter(action="csrf", outcome="refused", actor="clerk1").exists()


def test_security_headers(client):
    r = client.get("/")
    assert r["X-Frame-Options"] == "DENY" and r["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in r["Content-Security-Policy"] and r["Referrer-Policy"] == "same-origin"
    assert "stylesheet" in r.content.decode() and client.get("/static/egov/egov.css").status_code == 200


def test_the_audit_log_cannot_be_edited_or_deleted(db):
    from django.db import DatabaseError, transaction

    from egov_apps.common import audit
    from egov_apps.common.models import AuditEntry

    e = audit.record(None, "test", "application:1", actor="clerk1", detail="证件 440113199001011234 电话 13800138000")
    assert e.detail == "证件 440113********1234 电话 138****8000"
    for attempt in (lambda: AuditEntry.objects.filter(pk=e.pk).update(outcome="ok2"),
                    lambda: AuditEntry.objects.filter(pk=e.pk).delete()):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    from django.contrib.auth.models import Permission

    assert not Permission.objects.filter(codename__in=["change_auditentry", "delete_auditentry", "add_auditentry"])


def test_masking_and_check_digits():
    from egov_apps.common.masking import citizen_id_problem, mask_id, mask_phone, uscc_problem

    assert citizen_id_problem("11010519491231002X") is None
    assert citizen_id_problem("110105194912310021") == "身份证号码校验位错误"
    assert "18位" in citizen_id_problem("1101051949")
    assert uscc_problem("91350100M000100Y43") is None and "校验位" in uscc_problem("91350100M000100Y44")
    assert mask_id("11010519491231002X") == "110105********002X" and mask_phone("13800138000") == "138****8000"


def test_health_names_each_database(client):
    from django.test import override_settings

    with override_settings(APP_LABEL="approval"):
        body = client.get("/healthz").json()
    assert body["status"] == "ok" and set(body["db"]) == {"app", "population", "legal_entities"}
    assert client.get("/version").json()["version"] == "dev"


def test_the_host_that_answered_last_is_tried_first(django_env, monkeypatch):
    from egov_apps.common.pg import base

    params = {"host": "10.0.0.1,10.0.0.2", "port": "5432,5433", "dbname": "x"}
    assert base.ordered(params) == params
    monkeypatch.setitem(base._preferred, "10.0.0.1,10.0.0.2", "10.0.0.2")
    assert base.ordered(params) == {"host": "10.0.0.2,10.0.0.1", "port": "5433,5432", "dbname": "x"}
    from django.db import connections

    assert type(connections["default"]).__module__ == "egov_apps.common.pg.base"


def test_the_audit_log_is_readable_by_supervisors_only(client, staff):
    from django.test import Client

    from egov_apps.common.models import AuditEntry

    _, t_sup = staff("jiancha", "区政务服务数据管理局", role="supervisor")
    _, t_clerk = staff("clerk1", "区民政局")
    clerk = Client()
    login(clerk, "clerk1", t_clerk())
    assert clerk.get("/staff/audit/").status_code == 403
    assert AuditEntry.objects.filter(actor="clerk1", action="audit.view", outcome="refused").exists()
    login(client, "jiancha", t_sup())
    page = client.get("/staff/audit/")
    assert page.status_code == 200 and "audit.view" in page.content.decode() and "<form method=\"post\"" not in \
        page.content.decode().split("<main>")[1]


def _seen_through(monkeypatch, remote: str, **headers):
    """What the view sees after forwarded_from_fronts, for a request from `remote` with `headers`."""
    from django.test import RequestFactory

    from egov_apps.common.middleware import forwarded_from_fronts

    monkeypatch.setenv("EGOV_TRUSTED_PROXIES", "10.20.1.21,10.20.1.10")
    seen = {}

    def view(request):
        seen.update(addr=request.META["REMOTE_ADDR"], secure=request.is_secure(),
                    fwd={k: v for k, v in request.META.items() if "FORWARD" in k})
        return None

    forwarded_from_fronts(view)(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))
    return seen


def test_forwarded_headers_are_believed_from_the_front_only(monkeypatch):
    hdrs = {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 10.40.1.100", "HTTP_X_FORWARDED_PROTO": "https"}
    via_front = _seen_through(monkeypatch, "10.20.1.21", **hdrs)
    assert via_front["addr"] == "10.40.1.100" and via_front["secure"]  # the hop the front appended
    direct = _seen_through(monkeypatch, "10.20.2.99", **hdrs)  # anyone else on the service network
    assert direct == {"addr": "10.20.2.99", "secure": False, "fwd": {}}


def test_the_audit_log_records_the_client_the_front_saw(client, staff, monkeypatch):
    from egov_apps.common import middleware
    from egov_apps.common.models import AuditEntry

    monkeypatch.setattr(middleware, "trusted_proxies", lambda: frozenset({"127.0.0.1"}))
    from django.test import Client

    c = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.40.3.100", HTTP_X_FORWARDED_PROTO="https")
    staff("clerk1", "区民政局")
    c.post("/staff/login/", {"username": "clerk1", "password": "wrong", "otp_token": "000000"})
    e = AuditEntry.objects.filter(actor="clerk1", action="login").latest("id")
    assert e.ip == "10.40.3.100"
