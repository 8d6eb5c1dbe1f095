"""The applications' unit tests run against a throwaway PostgreSQL 15 cluster: initdb in a temp
dir, listening on a unix socket only (no TCP port, nothing shared with a lab), removed at the
end. All four Django apps are migrated into one database (EGOV_APP_ID unset) through the same
one-transaction migrate the deploys use; the base databases' tables are made in it too. Every
test runs inside a transaction that is rolled back: each starts from the same state."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SRC = ROOT / "apps_deploy" / "src"

# citizens with valid check digits (GB 11643), and legal entities (GB 32100)
PERSONS = ["11010519491231002X", "440113199001011234", "440113198506067777"]
ENTITIES = ["91440113MA59XXXX0U"]
BASE_SQL = """
CREATE TABLE persons (citizen_id char(18) PRIMARY KEY, name text);
CREATE TABLE entities (uscc char(18) PRIMARY KEY, name text);
CREATE TABLE indicators (town_id text, year int, indicator text, name text, unit text, value numeric);
INSERT INTO indicators VALUES ('shiqiao', 2024, 'gdp', '地区生产总值', '亿元', 512.3);
"""


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _uscc(first17: str) -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    return first17 + chars[(31 - sum(chars.index(c) * x for c, x in zip(first17, w)) % 31) % 31]


@pytest.fixture(scope="session")
def pg_cluster():
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 binaries not installed")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user")
    d = Path(tempfile.mkdtemp(prefix="egov-pg-"))
    data, sock = d / "data", d / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(d, "postgres")
        shutil.chown(sock, "postgres")
    run = lambda *a: subprocess.run([*_as_postgres(), *a], check=True, capture_output=True, text=True)  # noqa: E731
    run(str(PG_BIN / "initdb"), "-D", str(data), "-E", "UTF8", "--locale=C.UTF-8", "-A", "trust", "-U", "postgres")
    run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(d / "log"), "-o",
        f"-c listen_addresses='' -k {sock} -c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start")
    try:
        run(str(PG_BIN / "createdb"), "-h", str(sock), "-U", "postgres", "egov")
        yield f"postgresql://postgres@/egov?host={sock}"
    finally:
        subprocess.run([*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def django_env(pg_cluster):
    import psycopg

    for name in ("APP", "POPULATION", "LEGAL_ENTITIES", "MACRO_ECONOMY"):
        os.environ[f"EGOV_DB_{name}"] = pg_cluster
    os.environ.pop("EGOV_APP_ID", None)
    os.environ["EGOV_UPSTREAM_ONE_STOP_APPROVAL"] = "http://approval.invalid"
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    from egov_apps.common.masking import check_digit

    persons = [p[:17] + check_digit(p[:17]) for p in PERSONS]
    entities = [_uscc(e[:17]) for e in ENTITIES]
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(BASE_SQL)
        for p in persons:
            conn.execute("INSERT INTO persons VALUES (%s, '测试')", (p,))
        for e in entities:
            conn.execute("INSERT INTO entities VALUES (%s, '测试公司')", (e,))
    from egov_apps import migrate

    applied = migrate.run("")
    from django.test.utils import override_settings, setup_test_environment

    setup_test_environment()
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    fast.enable()
    yield {"dsn": pg_cluster, "persons": persons, "entities": entities, "applied": applied}
    fast.disable()
    from django.db import connections

    connections.close_all()


@pytest.fixture
def db(django_env):
    """A transaction rolled back after the test (the audit log's triggers never see a DELETE)."""
    from django.db import transaction

    with transaction.atomic():
        yield django_env
        transaction.set_rollback(True)


def urlconf(app: str):
    from django.test import override_settings

    return override_settings(ROOT_URLCONF=f"egov_apps.{app}.urls")


@pytest.fixture
def staff(db):
    """make(username, department, role) -> (user, totp_token()): a staff user with a TOTP device."""
    from django.contrib.auth import get_user_model
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from egov_apps.common.models import StaffProfile

    def make(username="clerk1", department="区民政局", role="clerk", password="Correct-Horse-9"):
        user = get_user_model().objects.create_user(username, password=password)
        StaffProfile.objects.create(user=user, department=department, role=role)
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
        return user, lambda: f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"

    return make


def login(client, username, token, password="Correct-Horse-9"):
    return client.post("/staff/login/", {"username": username, "password": password, "otp_token": token,
                                         "otp_device": ""})


@pytest.fixture
def client(db):
    from django.test import Client

    return Client()


@pytest.fixture
def approval_upstream(monkeypatch):
    """upstream.call to one-stop-approval answered by its own views in this process (same DB)."""
    from django.test import Client, override_settings

    from egov_apps.common import upstream

    def call(app_id, method, path, body=None, timeout=5):
        assert app_id == "one-stop-approval"
        with override_settings(ROOT_URLCONF="egov_apps.approval.urls"):
            c = Client()
            r = c.get(path) if method == "GET" else \
                c.post(path, json.dumps(body or {}), content_type="application/json")
        return r.status_code, r.json()

    monkeypatch.setattr(upstream, "call", call)
