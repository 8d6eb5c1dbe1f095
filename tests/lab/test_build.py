"""`egov up` on the lab: playbooks, base databases, apps and verify, and what happens when things break."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
import yaml

from egov.core import secrets
from egov.core.loader import load_estate
from egov.lab import citizens
from tests.conftest import PANYU, ROOT
from tests.lab.conftest import needs_root, ssh

pytestmark = [pytest.mark.lab, needs_root]

PSQL = "runuser -u postgres -- psql -X -At -h /run/postgresql"


@pytest.fixture(scope="module")
def built(egov_lab):
    run, lab = egov_lab
    r = run("up", timeout=900)
    return run, lab, r


def test_up_builds_both_sites_and_verifies(built):
    run, lab, r = built
    assert "egov up done" in r.stdout and "0 failed" in r.stdout
    assert "network: 293 pushed (293 devices" in r.stdout and "network verify: 59 checks passed" in r.stdout
    for front in ("https://10.20.1.10:9101/", "https://10.21.1.10:9104/"):
        assert front in r.stdout
    report = json.loads(run("verify", "--json").stdout)
    assert report["failed"] == 0 and report["passed"] >= 70
    assert {x["host"] for x in report["results"]} == set(lab.hosts)


def test_synchronous_replication_and_seed(built):
    run, lab, _ = built
    out = ssh(lab, "dfs-db1", f"{PSQL} -c \"select application_name||':'||sync_state from pg_stat_replication\"").stdout
    assert out.strip() == "lr_db1:sync"
    n = ssh(lab, "lr-db1", f"{PSQL} -d population -c 'select count(*) from persons where citizen_id_valid(citizen_id)'")
    assert int(n.stdout) >= 100_000  # replicated, every ID with a valid check digit
    n = ssh(lab, "lr-db1", f"{PSQL} -d legal_entities -c 'select count(*) from entities where uscc_valid(uscc)'")
    assert int(n.stdout) >= 10_000


def test_second_run_changes_nothing(built):
    run, lab, _ = built
    assert "0 changed" in run("build").stdout
    assert "nothing to change" in run("apps", "deploy").stdout


def test_a_write_through_the_front_is_on_the_standby(built):
    run, lab, _ = built
    body = json.dumps({"caller_phone": "13900000000", "town_id": "shiqiao", "category": "建议", "content": "增设公交站",
                       "client_ref": "pytest-front-1"}, ensure_ascii=False)
    r = ssh(lab, "lr-lb1", f"curl -sS -m 5 -XPOST -H 'Content-Type: application/json' https://10.20.1.10:9102/tickets "
                           f"-d '{body}'")
    ticket = json.loads(r.stdout)
    assert ticket["ticket_no"].startswith("12345-")
    r = ssh(
        lab,
        "lr-db1",
        f"{PSQL} -d app_hotline_12345 -c \"select content from tickets where client_ref='pytest-front-1'\"",
    )
    assert r.stdout.strip() == "增设公交站"  # synchronous: acknowledged means on the standby too


def test_fronts_speak_https_and_the_apps_believe_forwarded_headers_only_from_them(built, lab_state):
    run, lab, _ = built
    e = load_estate(PANYU)
    ca = secrets.ca_file(lab_state, e)
    town = sorted(lab.network.clients)[0]
    curl = lambda *a: subprocess.run(lab.network.client_argv(town, "curl", "-sS", "-m", "5", *a),  # noqa: E731
                                     capture_output=True, text=True, timeout=30)
    r = curl("--cacert", str(ca), "https://10.20.1.10:9101/healthz")  # a citizen's path: town -> front
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "ok", r.stderr
    r = curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "http://10.20.1.10:8101/items?q=1")
    assert r.stdout == "301 https://10.20.1.10:9101/items?q=1"
    assert curl("https://10.20.1.10:9101/healthz").returncode != 0  # not trusted without the estate's CA

    # a CSRF-less POST is refused and audited with the client's address: the front's X-Forwarded-For is
    # believed from dfs-lb1 (this site's front), a forged one from lr-lb1 (another site's host) is not
    addr = {h.id: str(h.address) for _, h in e.hosts()}
    post = "curl -s -m 5 -o /dev/null -XPOST -H 'X-Forwarded-For: {xff}' http://{app}:8101/staff/login/"
    ssh(lab, "dfs-lb1", post.format(xff="203.0.113.7", app=addr["dfs-app1"]))
    ssh(lab, "lr-lb1", post.format(xff="203.0.113.9", app=addr["dfs-app1"]))
    ips = ssh(lab, "dfs-db1", f"{PSQL} -d app_one_stop_approval -c \"select host(ip) from common_auditentry "
                              "where action='csrf' order by id desc limit 2\"").stdout.split()
    assert ips == [addr["lr-lb1"], "203.0.113.7"]


def test_inventory_export_and_secrets_stay_secret(built, lab_state):
    run, lab, _ = built
    inv = yaml.safe_load(run("inventory", "--format", "ansible").stdout)
    assert set(inv["all"]["children"]["app"]["hosts"]) == {"dfs-app1", "dfs-app2", "lr-app1", "lr-app2"}
    sf = secrets.path(lab_state, load_estate(PANYU))
    assert (sf.stat().st_mode & 0o777) == 0o600
    values = list(yaml.safe_load(sf.read_text()).values())
    logs = [p for p in (lab_state / "ansible").rglob("*") if p.is_file()] + [lab_state / "journal.jsonl"]
    for p in logs:
        text = p.read_text(errors="replace")
        assert not any(v in text for v in values), f"a secret leaked into {p}"


def _status(run):
    return {(r["app"], r["host"]): r for r in json.loads(run("apps", "status", "--json").stdout)}


def test_deploy_a_new_version_then_roll_back(built):
    run, lab, _ = built
    r = run("apps", "deploy", "hotline-12345", "--version", "1.1.0")
    assert "1.0.0 -> 1.1.0" in r.stdout
    st = _status(run)
    assert {v["current"] for (a, _), v in st.items() if a == "hotline-12345"} == {"1.1.0"}
    assert all(v["healthy"] for v in st.values())
    r = run("apps", "rollback", "hotline-12345")
    assert r.stdout.count("1.1.0 -> 1.0.0") == 4
    st = _status(run)
    assert {v["current"] for (a, _), v in st.items() if a == "hotline-12345"} == {"1.0.0"}


def test_a_rolling_deploy_under_load_fails_no_request(built, lab_state):
    """Every host leaves its front (HAProxy drain) before it restarts and returns once the front sees it
    up: citizens' requests through the front keep succeeding while all four apps switch, host by host."""
    run, lab, _ = built
    e = load_estate(PANYU)
    ports = {a.id: a.tls_port for a in e.applications}
    town = sorted(lab.network.clients)[0]
    load = citizens.start(lab.network.client_argv(town), "10.20.1.10", secrets.ca_file(lab_state, e),
                          ports["hotline-12345"], ports["service-hall"])
    try:
        time.sleep(2)
        run("apps", "deploy", "--version", "1.2.0-rolling", timeout=600)
        st = _status(run)
        assert len(st) == 16 and {v["current"] for v in st.values()} == {"1.2.0-rolling"}  # 4 apps x 4 hosts
        run("apps", "deploy", timeout=600)  # and back, under the same load
        assert {v["current"] for v in _status(run).values()} == {"1.0.0"}
    finally:
        seen = citizens.stop(load)
    assert seen["total"] > 100
    assert seen["failed"] == 0, f"{seen['failed']} of {seen['total']} failed: {seen['errors'][:10]}"


def _broken_source(tmp_path, fn):
    src = tmp_path / "apps_deploy"
    shutil.copytree(ROOT / "apps_deploy", src)
    fn(src / "src" / "egov_apps")
    return src


def test_release_failing_its_health_check_is_rolled_back(built, tmp_path):
    run, lab, _ = built
    src = _broken_source(tmp_path, lambda p: (p / "common" / "views.py").write_text(
        (p / "common" / "views.py").read_text() + "\nHEALTH_DBS['hotline'].append('no_such_db')\n"))
    r = run("apps", "deploy", "hotline-12345", "--version", "2.0.0-bad", "--source", src, check=False)
    assert r.returncode == 1
    err = r.stderr.strip()
    assert err.count("\n") == 0 and "hotline-12345 2.0.0-bad failed its health check on dfs-app1" in err
    assert "rolled back to 1.0.0" in err and "later hosts were not touched" in err
    st = _status(run)
    assert {v["current"] for (a, _), v in st.items() if a == "hotline-12345"} == {"1.0.0"}
    assert all(v["healthy"] for v in st.values())


def test_failed_migration_leaves_the_schema_and_the_release_as_they_were(built, tmp_path):
    run, lab, _ = built

    def add_bad_migration(pkg):
        (pkg / "hotline" / "migrations" / "0002_bad.py").write_text(
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
            "    dependencies = [('hotline', '0001_initial')]\n"
            "    operations = [migrations.RunSQL('CREATE TABLE callbacks (id int)'),\n"
            "                  migrations.RunSQL('ALTER TABLE tickets ADD COLUMN oops no_such_type')]\n")

    src = _broken_source(tmp_path, add_bad_migration)
    r = run("apps", "deploy", "hotline-12345", "--version", "3.0.0", "--source", src, check=False)
    assert r.returncode == 1
    assert (
        "schema migration failed" in r.stderr
        and "hotline/0002_bad" in r.stderr
        and "previous release keeps serving" in r.stderr
    )
    q = ssh(lab, "dfs-db1", f"{PSQL} -d app_hotline_12345 -c \"select to_regclass('callbacks') is null, "
                            "(select count(*) from django_migrations where app = 'hotline')\"")
    assert q.stdout.strip() == "t|1"
    st = _status(run)
    assert {v["current"] for (a, _), v in st.items() if a == "hotline-12345"} == {"1.0.0"}


def test_unreachable_host_is_named(built):
    run, lab, _ = built
    run("lab", "crash", "lr-app2")
    try:
        r = run("build", "--limit", "lr-app2", check=False)
        assert r.returncode == 1 and "lr-app2" in r.stderr and "could not reach the host" in r.stderr
        r = run("apps", "deploy", "e-supervision", "--version", "1.0.1", check=False)
        assert r.returncode == 1 and "lr-app2" in r.stderr
        r = run("verify", check=False)
        assert r.returncode == 1 and "lr-app2" in r.stderr
    finally:
        run("lab", "start", "lr-app2")
    run("apps", "deploy", "e-supervision", "--version", "1.0.0")  # back where the other tests expect it


def test_database_that_will_not_start_fails_its_task_by_name(built):
    run, lab, _ = built
    ssh(
        lab,
        "lr-db1",
        "runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D /var/lib/postgresql/15/egov stop -m fast",
    )
    ssh(lab, "lr-db1", "echo \"shared_buffers = 'plenty'\" >> /var/lib/postgresql/15/egov/postgresql.auto.conf")
    try:
        r = run("build", "--limit", "db", check=False)
        assert r.returncode == 1
        assert "lr-db1: task 'Start PostgreSQL if stopped; reload if its configuration changed' failed" in r.stderr
    finally:
        ssh(lab, "lr-db1", "sed -i '/plenty/d' /var/lib/postgresql/15/egov/postgresql.auto.conf")
    assert "changed" in run("build", "--limit", "db").stdout
    assert ssh(lab, "dfs-db1", f"{PSQL} -c \"select sync_state from pg_stat_replication\"").stdout.strip() == "sync"


def test_verify_names_a_failed_check(built):
    run, lab, _ = built
    ssh(lab, "dfs-app2", "/opt/egov-apps/service-hall/stop.sh")
    try:
        r = run("verify", check=False)
        assert r.returncode == 1
        assert "dfs-app2" in r.stdout and "apps: running_as_the_app_user_and_healthy" in r.stdout
        assert r.stderr.strip().startswith("egov: error: verify: ")
    finally:
        ssh(lab, "dfs-app2", "/opt/egov-apps/service-hall/start.sh")
