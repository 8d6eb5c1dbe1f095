"""The egov command line as an operator meets it: exit codes, one-line errors, --json."""

import json
import os
import subprocess
import sys

from egov.core.journal import Journal
from tests.conftest import CONGHUA, ROOT


def egov(*args, env=None):
    e = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "egov.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=e, timeout=60)


def test_validate_ok_and_json():
    r = egov("validate")
    assert r.returncode == 0 and "valid" in r.stdout and "293 network devices" in r.stdout
    r = egov("--estate", CONGHUA, "validate", "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["valid"] and data["estate"] == "conghua" and data["sites"] == 3


def test_validate_broken_estate_lists_problems_and_exits_2(panyu):
    panyu.edit("network.yaml", lambda d: d["towns"][3]["villages"][2].update(vlans=[999]))
    panyu.edit("apps.yaml", lambda d: d["applications"][0]["databases"].append("census"))
    r = egov("--estate", panyu.path, "validate")
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert any(
        ln.startswith("network.yaml:") and "towns[3].villages[2].vlans[0]" in ln and "not in the VLAN catalog" in ln
        for ln in err
    )
    assert any(ln.startswith("apps.yaml:") and "unknown database 'census'" in ln for ln in err)
    assert err[-1].endswith("is invalid: 2 problems")
    r = egov("--estate", panyu.path, "validate", "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 2 and not data["valid"] and len(data["problems"]) == 2


def test_every_command_validates_first(panyu):
    panyu.edit("sites.yaml", lambda d: d["sites"][0]["hosts"][0].update(address="10.99.0.1"))
    for cmd in (["show"], ["show", "--json"], ["up"]):
        r = egov("--estate", panyu.path, *cmd)
        assert r.returncode == 2, cmd
        assert "sites.yaml:" in r.stderr and "sites[0].hosts[0].address" in r.stderr
        assert "Traceback" not in r.stderr


def test_show_json_counts_tiers():
    data = json.loads(egov("show", "--json").stdout)
    tiers = {t["role"]: t["count"] for t in data["network"]["tiers"]}
    assert tiers["city_uplink"] == 1 and tiers["core"] == 1 and tiers["town_aggregation"] == 19
    assert tiers["village_access"] == sum(t["villages"] for t in data["network"]["towns"])
    assert data["estate"]["digest"].startswith("sha256:")
    assert {s["id"] for s in data["sites"]} == {"dafushan", "legacy-room"}


def test_show_renders_chinese_names():
    r = egov("show")
    assert r.returncode == 0
    for name in ("大夫山云计算中心", "市桥街", "东涌镇", "人口基础信息库", "一站式审批系统"):
        assert name in r.stdout


def test_journal_verify_cli_names_the_bad_record(state):
    j = Journal(state)
    for i in range(3):
        j.append({"command": f"c{i}", "result": "ok"})
    r = egov("journal", "verify")
    assert r.returncode == 0 and "3 records" in r.stdout
    ls = j.path.read_text().splitlines(keepends=True)
    ls[1] = ls[1].replace('"c1"', '"cX"')
    j.path.write_text("".join(ls))
    r = egov("journal", "verify")
    assert r.returncode == 3
    assert len(r.stderr.strip().splitlines()) == 1 and "record 2 was edited" in r.stderr
    r = egov("journal", "show", "--json")
    assert [x["command"] for x in json.loads(r.stdout)] == ["c0", "cX", "c2"]


def test_unknown_command_is_a_usage_error():
    r = egov("frobnicate")
    assert r.returncode == 2 and "No such command" in r.stderr


def test_net_rollback_bad_requests_are_one_clear_line(state):
    real = {"EGOV_NET_TARGET": "real"}  # no lab needed: these are refused before any device is reached
    r = egov("net", "rollback", "--to", "latest", env=real)
    assert r.returncode == 1 and r.stderr.strip() == "egov: error: name the devices to roll back, or --all"
    r = egov("net", "rollback", "shiqiao-v001", "--to", "latest", env=real)
    assert r.returncode == 1 and r.stderr.strip().startswith("egov: error: no backups yet in ")
    from egov.network.backups import BackupStore

    bs = BackupStore(state, "panyu").new("test")
    bs.write("shiqiao-v001", "cisco_ios", "hostname shiqiao-v001\n")
    r = egov("net", "rollback", "nowhere", "--to", bs.id, env=real)
    assert r.returncode == 1 and r.stderr.strip() == "egov: error: no device 'nowhere' in the estate's network"
    r = egov("net", "rollback", "shiqiao-v001", "--to", bs.id, env=real)
    assert r.returncode == 1 and r.stderr.strip() == (
        f"egov: error: backup {bs.id}/shiqiao-v001 is a cisco_ios config; the device is huawei_vrp on this target")


def test_net_render_unknown_device_is_one_clear_line():
    r = egov("net", "render", "nope")
    assert r.returncode == 1 and r.stderr.strip() == "egov: error: no device 'nope' in the estate's network.yaml"


def test_json_is_one_document_also_on_failure(panyu, tmp_path):
    """`--json` always prints exactly one document on stdout, with the error in it, and exits non-zero."""
    panyu.edit("sites.yaml", lambda d: d["sites"][0]["hosts"][0].update(address="10.99.0.1"))
    r = egov("--estate", panyu.path, "show", "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 2 and data["ok"] is False and data["valid"] is False
    assert any(p["path"] == "sites[0].hosts[0].address" for p in data["problems"])
    # a drill refused before it starts (here: no lab in this state dir) still gives its document
    r = egov("drill", "run", "site-loss", "--json", env={"EGOV_STATE_DIR": str(tmp_path / "state")})
    data = json.loads(r.stdout)
    assert r.returncode != 0 and data["result"] == "refused" and data["scenario"] == "site-loss"
    assert "lab is not up" in data["error"] and "Traceback" not in r.stderr
    r = egov("drill", "run", "meteor-strike", "--json", env={"EGOV_STATE_DIR": str(tmp_path / "state")})
    data = json.loads(r.stdout)
    assert r.returncode == 4 and "no scenario 'meteor-strike'" in data["error"]


def test_backup_and_restore_bad_input_is_one_line_before_any_host_is_touched(tmp_path):
    env = {"EGOV_STATE_DIR": str(tmp_path)}
    cases = [
        (("backup", "run", "--type", "weekly"), "backup type 'weekly': use one of full, diff, incr"),
        (("restore",), "give exactly one of --to-time T or --to-backup ID"),
        (("restore", "--to-time", "2026-12-01T10:00", "--to-backup", "x"), "give exactly one of"),
        (("restore", "--to-backup", "x", "--target", "in-place"), "only scratch is supported"),
        (("restore", "--to-time", "last tuesday"), "--to-time 'last tuesday': not a time"),
    ]
    for args, msg in cases:
        r = egov(*args, env=env)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 5 and len(lines) == 1 and msg in lines[0], (args, r.stderr)
        assert "Traceback" not in r.stderr
        r = egov(*args, "--json", env=env)
        assert r.returncode == 5 and msg in json.loads(r.stdout)["error"]
    assert not (tmp_path / "journal.jsonl").exists()  # nothing was done, so nothing journalled


def test_the_only_negative_control_is_site_loss_async():
    for args in (("link-cut", "--control", "async"), ("site-loss", "--control", "none")):
        r = egov("drill", "run", *args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 4 and len(lines) == 1 and "site-loss --control async" in lines[0], r.stderr
