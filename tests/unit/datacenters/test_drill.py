"""Drills as data and what a drill report may claim (GB/T 20988-2025): never a level its
measurements do not cover."""

import json
import time

from egov.datacenters import drill
from egov.datacenters.report import html

NOW = 1_800_000_000.0
BACKUP = {"stanza": "dfs_db1", "label": "20270115-010000F", "type": "full", "stop": "2027-01-15T01:00:00+00:00",
          "stop_epoch": NOW - 3600, "size": 1}
RESTORE_TEST = {"id": "20270115T020000-abcd", "started": "2027-01-15T02:00:00+0800", "epoch": NOW - 1800}


def test_every_built_in_scenario_is_a_valid_drill_file_including_the_restore_drills():
    sc = drill.scenarios()
    assert {"restore-test", "data-loss", "site-loss", "standby-loss", "link-cut", "planned-migration"} <= set(sc)
    for name, doc in sc.items():
        s = drill.load_scenario(name)
        assert s.name == name and doc["description"] and doc["fault"] and doc["proves"]
        assert s.method and s.checks and s.steady_state_title
        assert "runner" not in doc  # no built-in Python sequence: the file is the drill
    site = drill.load_scenario("site-loss")
    assert site.controls == ["async"] and site.rto_for_level == "rto_all_apps_healthy_s"
    # the RPO is counted as soon as the new primary serves, before the failback
    entries = [s.entry for s in site.method]
    assert entries.index("count-writes") < entries.index("failback")
    assert [s.entry for s in site.rollbacks] == ["heal-link", "power-on"]


def test_no_level_is_claimed_without_backups_and_a_restore_test():
    g = drill.gbt20988(4.8, 0, {"last_backup": None, "last_restore_test": None}, now=NOW)
    assert g["implied_by_rto_rpo"] == 6 and g["claimed"] is None
    assert g["not_claimed_because"] == ["no backup in an off-site repository", "no passing restore test recorded"]
    assert "GB/T 20988-2025" in g["standard"] and "replaces GB/T 20988-2007" in g["standard"]
    assert any("staffing" in a for a in g["attested_only"])


def test_the_level_is_claimed_with_recent_backup_and_restore_test_and_not_with_stale_ones():
    ev = {"last_backup": BACKUP, "last_restore_test": RESTORE_TEST}
    assert drill.gbt20988(4.8, 0, ev, now=NOW)["claimed"] == 6
    assert drill.gbt20988(4.8, 3, ev, now=NOW)["claimed"] == 5  # writes lost: not level 6
    stale = {"last_backup": BACKUP | {"stop_epoch": NOW - 9 * 86400}, "last_restore_test": RESTORE_TEST}
    g = drill.gbt20988(4.8, 0, stale, now=NOW)
    assert g["claimed"] is None and "older than 8 days" in g["not_claimed_because"][0]
    g = drill.gbt20988(None, None, ev, now=NOW)  # an aborted drill measured nothing
    assert g["claimed"] is None and "did not finish" in g["not_claimed_because"][-1]
    g = drill.gbt20988(None, 0, ev, now=NOW)  # a restore drill measures no failover RTO
    assert g["claimed"] is None and g["not_claimed_because"] == [
        "no failover RTO measured (no passing site-loss drill recorded)"]


def test_the_html_report_cites_the_2025_edition_and_says_why_nothing_is_claimed():
    g = drill.gbt20988(4.8, 0, {"last_backup": None, "last_restore_test": None}, now=time.time())
    report = {"id": "x", "scenario": "site-loss", "description": "d", "started": "s", "duration_s": 1, "result": "pass",
              "estate": {"name": "panyu", "display_name": "番禺", "digest": "sha256:0"}, "environment": {},
              "measurements": {}, "rpo": {"lost": 0}, "checks": [], "gbt20988_level": g["claimed"], "gbt20988": g,
              "load": {"attempted": 0, "acknowledged": 0, "rate_per_s": 20, "series": []}, "timeline": [],
              "journal": []}
    text = html(report)
    assert "GB/T 20988-2025" in text and "replaces GB/T 20988-2007" in text
    assert "level claimed: <b>none</b>" in text and "no backup in an off-site repository" in text


def test_every_attempt_is_ok_failed_or_indeterminate():
    assert drill.outcome(201, None) == "ok"
    assert drill.outcome(0, "ConnectionRefusedError") == "failed"  # never reached the server
    assert drill.outcome(0, "TimeoutError") == "indeterminate"  # sent; the answer was lost
    assert drill.outcome(422, None) == "failed"  # the app refused it
    assert drill.outcome(503, None) == drill.outcome(502, None) == "indeterminate"  # maybe committed


def test_accounting_counts_lost_recovered_and_unexpected():
    recs = [{"ref": "a", "ok": True, "outcome": "ok"}, {"ref": "b", "ok": True, "outcome": "ok"},
            {"ref": "c", "ok": False, "outcome": "indeterminate"},
            {"ref": "d", "ok": False, "outcome": "indeterminate"},
            {"ref": "e", "ok": False, "outcome": "failed"}, {"ref": "f", "ok": False, "outcome": "failed"}]
    a = drill.account(recs, found={"a", "c", "f"})
    assert {k: a[k] for k in ("attempted", "acknowledged", "failed", "indeterminate", "found", "lost",
                              "recovered_indeterminate", "unexpected")} == {
        "attempted": 6, "acknowledged": 2, "failed": 2, "indeterminate": 2, "found": 1, "lost": 1,
        "recovered_indeterminate": 1, "unexpected": 1}
    assert a["lost_refs"] == ["b"] and a["unexpected_refs"] == ["f"]
    # records from before this field existed count by their ok flag
    assert drill.account([{"ref": "x", "ok": True}], {"x"})["lost"] == 0


def test_repeated_runs_report_n_median_p95_and_max_and_count_unmeasured_runs():
    def rep(lost, rto, result="pass"):
        return {"result": result, "rpo": {"lost": lost},
                "checks": [{"name": "RPO: acknowledged writes lost", "pass": lost == 0},
                           {"name": "RTO", "timed": True, "seconds": rto}]}
    runs = [rep(0, float(i)) for i in range(1, 21)] + [rep(2, 7.5, "fail"), rep(0, None, "fail")]
    s = drill.summarize(runs)
    assert s["runs"] == 22 and s["passed"] == 20
    rto = s["figures"]["RTO (s)"]
    assert rto["n"] == 22 and rto["measured"] == 21  # the run that never measured it is counted, not dropped
    assert rto["median"] == 10.0 and rto["max"] == 20.0 and rto["p95"] == 19.0  # nearest rank: 20th of 21
    lost = s["figures"]["RPO: acknowledged writes lost"]
    assert lost["n"] == 22 and lost["max"] == 2 and lost["median"] == 0


def test_the_no_sync_window_runs_from_the_promotion_until_a_standby_confirms_again():
    tl = [{"offset_s": 0.0, "step": "drill start", "detail": ""},
          {"offset_s": 5.0, "step": "failover declared", "detail": ""},
          {"offset_s": 5.5, "step": "promoted", "detail": "lr-db1 accepts writes"},
          {"offset_s": 9.0, "step": "synchronous again", "detail": "guard"},
          {"offset_s": 20.0, "step": "load stopped", "detail": ""}]
    w = drill.no_sync_window(tl)
    assert w == {"from_s": 5.5, "until_s": 9.0, "seconds": 3.5, "closed": True, "until": "guard"}
    open_ = drill.no_sync_window(tl[:3] + tl[4:])
    assert open_["closed"] is False and open_["seconds"] == 14.5 and "still open" in open_["until"]
    # a switchover's promotion is no failover: no window
    assert drill.no_sync_window([{"offset_s": 1.0, "step": "promoted", "detail": ""}]) is None


def test_every_failed_check_is_a_finding_with_owner_and_due_date_to_fill_in():
    checks = [{"name": "RPO", "target": "0", "measured": "0", "pass": True},
              {"name": "RTO", "target": "<= 5 s", "measured": "7.10 s", "pass": False}]
    f = drill.findings(checks, "failback: pg_rewind failed")
    assert [x["finding"] for x in f] == ["the drill stopped: failback: pg_rewind failed", "RTO"]
    assert all(x["owner"] is None and x["due"] is None and x["status"] == "open" for x in f)
    assert f[1]["measured"] == "7.10 s" and drill.findings(checks[:1], None) == []


def test_the_evidence_bundle_is_hashed_and_the_same_files_give_the_same_hash(tmp_path):
    import hashlib
    import tarfile

    report = {"id": "20270101T000000-abcd", "journal": [{"seq": 1, "command": "drill run x"}],
              "timeline": [{"offset_s": 0.0, "step": "drill start", "detail": "x"}],
              "_records": [{"ref": "d-1", "ok": True}]}
    g = drill.gbt20988(None, None, {"last_backup": None, "last_restore_test": None})
    report |= {"scenario": "x", "description": "d", "started": "s", "duration_s": 1, "result": "fail",
               "estate": {"name": "p", "display_name": "p", "digest": "sha256:0"}, "environment": {},
               "measurements": {}, "rpo": {"lost": None}, "checks": [], "gbt20988_level": None, "gbt20988": g,
               "load": {"attempted": 1, "acknowledged": 1, "rate_per_s": 20, "series": []},
               "findings": drill.findings([], "boom"), "pre_fault": {"primary": "dfs-db1"},
               "no_sync_window": None}
    d = drill.save(dict(report), tmp_path)
    ev = json.loads((d / "report.json").read_text())  # written before the bundle: the hash is beside it
    first = drill.bundle(d, ["report.json", "report.html", "journal.jsonl", "session.log", "writes.jsonl"])
    assert first["sha256"] == hashlib.sha256((d / "evidence.tar.gz").read_bytes()).hexdigest()
    assert drill.bundle(d, first["files"])["sha256"] == first["sha256"]  # reproducible
    with tarfile.open(d / "evidence.tar.gz") as tar:
        names = tar.getnames()
        assert tar.extractfile(f"{d.name}/writes.jsonl").read() == b'{"ref": "d-1", "ok": true}\n'
    assert names == [f"{d.name}/{n}" for n in first["files"]]
    assert (d / "evidence.tar.gz").stat().st_mode & 0o777 == 0o600
    assert "_records" not in ev and ev["findings"][0]["status"] == "open"
    html = (d / "report.html").read_text(encoding="utf-8")
    assert "owner 责任人" in html and "(to assign)" in html and "No failover in this drill" in html
    (d / "session.log").write_text("tampered")
    assert drill.bundle(d, first["files"])["sha256"] != first["sha256"]


def test_the_pre_fault_snapshot_holds_replication_sync_settings_clock_offsets_and_the_last_backup():
    from types import SimpleNamespace

    members = [{"host": "dfs-db1", "role": "primary", "standbys": [
        {"name": "lr_db1", "state": "streaming", "sync_state": "sync", "lag_bytes": 0, "extra": 1}]},
        {"host": "lr-db1", "role": "standby", "standbys": []}]
    ran = []

    def run(host, cmd, **kw):
        ran.append((host, cmd))
        if cmd.startswith("date"):
            return SimpleNamespace(stdout=f"{time.time() + (2.5 if host == 'lr-db1' else 0)}\n", returncode=0)
        return SimpleNamespace(stdout="ab12  /srv/pgbackrest/backup/dfs_db1/L1/backup.manifest\n", returncode=0)

    dr = SimpleNamespace(
        status=lambda: {"clusters": [{"primary": "dfs-db1", "steady": True, "rpo_zero": True, "degraded": False,
                                      "members": members}]},
        remote=SimpleNamespace(psql=lambda host, sql, *a, **k: 'FIRST 1 ("lr_db1")|on', run=run))
    backups = SimpleNamespace(repo="lr-app2", conf=SimpleNamespace(repository_path="/srv/pgbackrest"), list=lambda: {
        "backups": [BACKUP | {"label": "L1", "error": False, "stop_epoch": time.time() - 7200}]})
    s = drill.snapshot(None, dr, backups)
    assert s["synchronous"] == {"synchronous_standby_names": 'FIRST 1 ("lr_db1")', "synchronous_commit": "on"}
    assert s["members"][0]["standbys"] == [{"name": "lr_db1", "state": "streaming", "sync_state": "sync",
                                            "lag_bytes": 0}]
    assert abs(s["clock_offsets_s"]["dfs-db1"]) < 0.5 and 2.0 < s["clock_offsets_s"]["lr-db1"] < 3.0
    assert s["last_backup"]["manifest_sha256"] == "ab12" and 7100 < s["last_backup"]["age_s"] < 7300
    assert ("lr-app2", "sha256sum /srv/pgbackrest/backup/dfs_db1/L1/backup.manifest") in ran
    assert drill.snapshot(None, dr, None)["last_backup"] is None  # no backups declared: said, not invented
