"""Backups on the built lab: pgBackRest with WAL archiving into an encrypted repository at the other
site, verify naming a corrupt file, point-in-time restore into a scratch cluster, and the refusals
(a time before the oldest backup, a wrong key): one line, non-zero, the primary untouched.

Runs after test_drills. It starts from the estate's steady state (repaired like the drills) and
leaves it so: its probe table is dropped, the corrupted byte flipped back, the key put back and the
scratch cluster removed, whatever happened."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from egov.core import paths
from egov.core.journal import Journal
from tests.lab.conftest import needs_root, ssh
from tests.lab.test_drills import _repair, _status

pytestmark = [pytest.mark.lab, needs_root]

REPO, PRIMARY, STANZA = "lr-app2", "dfs-db1", "dfs_db1"
PSQL = "runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -h /run/postgresql"


def sql(lab, host, db, text):
    r = ssh(lab, host, f"{PSQL} -d {db} <<'SQL'\n{text}\nSQL")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture(scope="module")
def backed_up(egov_lab):
    run, lab = egov_lab
    run("up", timeout=900)  # idempotent: already built when run after test_build
    _repair(run)
    r = run("backup", "run", "--type", "full", "--json", timeout=900)
    return run, lab, json.loads(r.stdout)


@pytest.fixture
def primary_untouched(backed_up):
    """The test must leave the primary where it was: primary, synchronous, accepting writes."""
    run, lab, _ = backed_up
    yield
    c = _status(run)
    assert c["primary"] == PRIMARY and c["rpo_zero"] and not c["fenced"], c
    assert sql(lab, PRIMARY, "population", "SELECT NOT pg_is_in_recovery()") == "t"


def test_full_backup_off_site_encrypted_and_journalled(backed_up, lab_state):
    run, lab, made = backed_up
    assert made["repository_host"] == REPO and [b["type"] for b in made["backups"]] == ["full"]
    listed = json.loads(run("backup", "list", "--json").stdout)
    assert made["backups"][0]["label"] in [b["label"] for b in listed["backups"]]
    assert listed["archive"][STANZA]["status"] == "ok" and listed["archive"][STANZA]["max"]
    # WAL archiving from the primary is on, and the repository holds no plaintext
    assert sql(lab, PRIMARY, "postgres", "SHOW archive_mode") == "on"
    head = ssh(lab, REPO, f"head -c 64 /var/lib/pgbackrest/backup/{STANZA}/backup.info | od -c | head -2").stdout
    assert "[backrest]" not in head.replace(" ", "") and "Salted" in head.replace(" ", "")
    assert "repo1-cipher-pass" not in ssh(lab, PRIMARY, "cat /etc/pgbackrest/pgbackrest.conf").stdout
    perms = ssh(lab, REPO, "stat -c '%a %U' /etc/pgbackrest/pgbackrest.conf /var/lib/postgresql/.ssh/id_ed25519")
    assert perms.stdout.split() == ["600", "postgres", "600", "postgres"]
    sf = paths.at(lab_state).secrets("panyu")
    assert (sf.stat().st_mode & 0o777) == 0o600 and yaml.safe_load(sf.read_text())["pgbackrest_cipher_pass"]
    recs = [r for r in Journal(lab_state).records() if r["command"].startswith("backup run")]
    assert recs and recs[-1]["result"] == "ok" and made["backups"][0]["label"] in recs[-1]["changes"][0]
    # the schedule the estate declares, on the repository host
    cron = ssh(lab, REPO, "cat /etc/cron.d/egov-pgbackrest").stdout
    assert f"0 1 * * 0 postgres pgbackrest --stanza={STANZA} --type=full backup" in cron


def test_verify_passes_then_names_a_flipped_byte(backed_up, primary_untouched, lab_state):
    run, lab, made = backed_up
    assert json.loads(run("backup", "verify", "--json").stdout)["verify"][0]["status"] == "ok"
    label = made["backups"][0]["label"]
    f = ssh(lab, REPO, f"cd /var/lib/pgbackrest/backup/{STANZA} && find {label}/pg_data/base -type f -size +8k "
                       "| sort | head -1").stdout.strip()
    assert f
    flip = (f"python3 -c \"import sys;p=sys.argv[1];b=bytearray(open(p,'rb').read());b[len(b)//2]^=0xff;"
            f"open(p,'wb').write(b)\" /var/lib/pgbackrest/backup/{STANZA}/{f}")
    assert ssh(lab, REPO, flip).returncode == 0
    try:
        r = run("backup", "verify", check=False, timeout=600)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 5 and len(lines) == 1 and f in lines[0], r.stderr
        assert "Traceback" not in r.stderr
    finally:
        assert ssh(lab, REPO, flip).returncode == 0  # the same byte back
    assert run("backup", "verify").returncode == 0
    recs = [r for r in Journal(lab_state).records() if r["command"] == "backup verify"]
    assert [r["result"] for r in recs[-3:]] == ["ok", "failed", "ok"]


def test_point_in_time_restore_into_scratch_before_a_delete(backed_up, primary_untouched, lab_state):
    run, lab, _ = backed_up
    sql(lab, PRIMARY, "population", "DROP TABLE IF EXISTS egov_pitr_probe; "
        "CREATE TABLE egov_pitr_probe AS SELECT g AS id FROM generate_series(1, 1000) g;")
    try:
        time.sleep(1.5)
        before = sql(lab, PRIMARY, "population", "SELECT now()")
        time.sleep(1.5)
        sql(lab, PRIMARY, "population", "DELETE FROM egov_pitr_probe WHERE id > 100;")
        seg = sql(lab, PRIMARY, "population", "SELECT pg_walfile_name(pg_switch_wal());")
        deadline = time.time() + 60  # the segment with the delete reaches the repository
        while sql(lab, PRIMARY, "postgres", f"SELECT last_archived_wal >= '{seg}' FROM pg_stat_archiver") != "t":
            assert time.time() < deadline, f"{seg} not archived after 60 s"
            time.sleep(0.5)
        r = run("restore", "--to-time", before.replace(" ", "T"), "--json", timeout=900)
        res = json.loads(r.stdout)
        assert res["ok"] and res["host"] == REPO and res["total_seconds"] > 0
        count = ssh(lab, REPO, f"{PSQL.replace('/run/postgresql', '/var/lib/egov-scratch')} -p 5433 -d population "
                               "-c 'SELECT count(*) FROM egov_pitr_probe'")
        assert count.stdout.strip() == "1000", count.stderr  # every row from before the delete is back
        assert sql(lab, PRIMARY, "population", "SELECT count(*) FROM egov_pitr_probe") == "100"  # primary as it was
        recs = [x for x in Journal(lab_state).records() if x["command"].startswith("restore --to-time")]
        assert recs[-1]["result"] == "ok" and recs[-1]["details"]["total_seconds"] == res["total_seconds"]
    finally:
        sql(lab, PRIMARY, "population", "DROP TABLE IF EXISTS egov_pitr_probe;")
        ssh(lab, REPO, "runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D /var/lib/egov-scratch/"
                       f"{STANZA} -m immediate stop; rm -rf /var/lib/egov-scratch/{STANZA}")


@pytest.mark.parametrize("scenario", ["restore-test", "data-loss"])
def test_restore_drills_count_and_claim_only_what_they_measured(backed_up, primary_untouched, lab_state, scenario):
    run, lab, _ = backed_up
    r = run("drill", "run", scenario, "--json", timeout=900, check=False)
    report = json.loads(r.stdout)
    assert report.get("error") is None, report["error"]
    untimed = [c for c in report["checks"] if not c.get("timed")]
    assert untimed and all(c["pass"] for c in untimed), untimed
    assert all(c["seconds"] is not None for c in report["checks"] if c.get("timed"))
    m, rpo, g = report["measurements"], report["rpo"], report["gbt20988"]
    assert rpo["lost"] == 0 and "GB/T 20988-2025" in g["standard"]
    assert g["evidence"]["last_backup"]["stanza"] == STANZA
    if scenario == "restore-test":
        assert m["tables"] >= 4 and m["rows"] > 100_000 and m["differ"] == [] and m["restore_s"] > 0
        assert report["result"] == "pass" and g["evidence"]["last_restore_test"]["id"] == report["id"]
    else:
        assert rpo["acknowledged"] > 20 and rpo["resurrected"] == 0 and rpo["never_written"] == 0
        assert m["standby_rows_left"] == 0 and m["data_window_s"] == 0 and m["time_to_restore_s"] > 0
        assert "scratch cluster" in rpo["checked_on"]
    html = (lab_state / "drills" / report["id"] / "report.html").read_text(encoding="utf-8")
    assert "GB/T 20988-2025" in html and "replaces GB/T 20988-2007" in html
    assert ssh(lab, REPO, f"test -e /var/lib/egov-scratch/{STANZA}").returncode != 0  # scratch removed


def test_restore_refusals_are_one_line_and_leave_the_primary(backed_up, primary_untouched, lab_state):
    run, lab, made = backed_up
    r = run("restore", "--to-time", "2020-01-01T00:00:00+08:00", check=False)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 5 and len(lines) == 1 and "before the oldest backup" in lines[0], r.stderr
    r = run("restore", "--to-backup", "20200101-000000F", check=False)
    assert r.returncode == 5 and "no backup '20200101-000000F'" in r.stderr
    sf = paths.at(lab_state).secrets("panyu")
    good = sf.read_text()
    data = yaml.safe_load(good)
    data["pgbackrest_cipher_pass"] = "not-the-key-" + data["pgbackrest_cipher_pass"][:8]
    sf.write_text(yaml.safe_dump(data))
    try:
        r = run("restore", "--to-backup", made["backups"][0]["label"], "--json", check=False, timeout=600)
        assert r.returncode == 5 and "cannot be read with the key" in json.loads(r.stdout)["error"], r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    finally:
        sf.write_text(good)
    # nothing half-made on the repository host
    assert ssh(lab, REPO, f"test -e /var/lib/egov-scratch/{STANZA}").returncode != 0
