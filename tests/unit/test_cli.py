"""The egov command line as an operator meets it: exit codes, one-line errors, --json."""

import json
import os
import subprocess
import sys

from egov.clikit import USAGE_EXIT
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
    assert r.returncode == USAGE_EXIT and r.returncode != 2
    assert r.stderr.strip() == "egov: usage: No such command 'frobnicate'. (see 'egov --help')"


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


# --------------------------------------------------------------------------- usage errors, no tracebacks
def run(argv, capsys, monkeypatch):
    """egov in-process (fast enough to run every command): (exit code, stdout, stderr)."""
    from egov import clikit
    from egov.cli import main

    monkeypatch.setattr(clikit, "_emitted", False)
    try:
        main(list(map(str, argv)))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    o, e = capsys.readouterr()
    return code, o, e


def leaf_commands():
    """Every command egov has, as its argv path (walked from the CLI itself, so new ones are covered)."""
    import typer

    from egov.cli import app

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if not subs:
            yield path, cmd
            return
        for name, sub in subs.items():
            yield from walk(sub, path + [name])

    return list(walk(typer.main.get_command(app), []))


def test_every_command_refuses_bad_flags_and_paths_without_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EGOV_STATE_DIR", str(tmp_path / "state"))
    afile = tmp_path / "a-file"
    afile.write_text("x")
    cmds = leaf_commands()
    assert len(cmds) > 40 and {("net", "render"), ("validate",)} <= {tuple(p) for p, _ in cmds}
    for path, cmd in cmds:
        # `lab exec`/`lab ssh` pass unknown words on to the command they run, by design
        passes_on = cmd.context_settings.get("ignore_unknown_options")
        for argv in ([] if passes_on else [[*path, "--no-such-flag"]]) + [
                ["--state-dir", afile, *path], [*path, "--estate", afile], [*path, "--estate", ""],
                [*path, "--state-dir", afile / "below"]]:
            code, o, e = run(argv, capsys, monkeypatch)
            assert code == USAGE_EXIT, (argv, code, o, e)
            assert "Traceback" not in o + e, argv
            assert e.startswith("egov: usage: ") and len(e.strip().splitlines()) == 1, (argv, e)
    # numbers that are not numbers, or out of range, for every numeric option of every command
    numeric = [(path, o) for path, cmd in cmds for prm in cmd.params if prm.param_type_name == "option"
               and not prm.is_flag and prm.type_descriptor.annotation in (int, float)
               for o in prm.opts[:1]]
    assert len(numeric) >= 8
    for path, opt in numeric:
        for value in ("x", "-1"):
            code, o, e = run([*path, opt, value], capsys, monkeypatch)
            assert code == USAGE_EXIT and "Traceback" not in o + e and e.startswith("egov: usage: "), (path, opt, e)
    # nothing was made on the way (no state dir, no secrets file)
    assert not (tmp_path / "state").exists()


def test_global_options_are_accepted_after_the_verb(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("EGOV_STATE_DIR", str(tmp_path / "state"))
    code, o, _ = run(["validate", "--estate", CONGHUA, "--json"], capsys, monkeypatch)
    assert code == 0 and json.loads(o)["estate"] == "conghua"
    code, o, _ = run(["show", f"--estate={CONGHUA}", "--json", "--state-dir", tmp_path / "s2"], capsys, monkeypatch)
    assert code == 0 and json.loads(o)["estate"]["name"] == "conghua"
    # after `--` the words belong to the remote command, not to egov
    from egov.cli import hoist_globals

    assert hoist_globals(["lab", "ssh", "h", "--", "x", "--estate", "y"]) == ["lab", "ssh", "h", "--", "x", "--estate",
                                                                             "y"]
    assert hoist_globals(["net", "plan", "--estate", "e", "-n"]) == ["--estate", "e", "net", "plan", "-n"]
    code, _, e = run(["validate", "--estate"], capsys, monkeypatch)
    assert code == USAGE_EXIT and "Option '--estate' requires an argument" in e


def test_bad_option_values_are_refused_before_anything_is_made(tmp_path, capsys, monkeypatch):
    state = tmp_path / "state"
    monkeypatch.setenv("EGOV_STATE_DIR", str(state))
    afile = tmp_path / "out.cfg"
    afile.write_text("keep me")
    cases = {
        ("net", "render", "--platform", "junos"): "Invalid value for --platform: unknown platform 'junos'",
        ("net", "render", "--out", afile): f"Invalid value for --out: {afile} is a file, not a directory",
        ("inventory", "--format", "BAD"): "Invalid value for --format: 'BAD': use ansible or json",
        ("--estate", afile, "validate"): f"Invalid value for --estate: {afile} is a file, not an estate directory",
        ("--estate", "", "validate"): "Invalid value for --estate: is empty",
        ("--estate", tmp_path / "nope", "show"): "no such directory",
        ("--state-dir", afile, "journal", "show"): f"{afile} is a file, not a directory",
    }
    for argv, want in cases.items():
        code, o, e = run(argv, capsys, monkeypatch)
        assert code == USAGE_EXIT and want in e and "Traceback" not in o + e, (argv, e)
    assert afile.read_text() == "keep me" and not state.exists()  # inventory made no secrets file
    code, o, e = run(["show", "--json", "--estate", tmp_path / "nope"], capsys, monkeypatch)
    assert code == USAGE_EXIT and json.loads(o)["exit_code"] == USAGE_EXIT


def test_unexpected_errors_are_one_line_and_a_log(tmp_path, capsys, monkeypatch):
    import egov.cli

    state = tmp_path / "state"
    monkeypatch.setenv("EGOV_STATE_DIR", str(state))

    def boom(_estate):
        raise RuntimeError("something nobody foresaw\nsecond line")

    monkeypatch.setattr(egov.cli, "summarize", boom)
    code, o, e = run(["show"], capsys, monkeypatch)
    assert code == 1 and "Traceback" not in o + e
    line = e.strip()
    assert len(line.splitlines()) == 1
    assert line.startswith("egov: unexpected error: RuntimeError: something nobody foresaw (traceback in ")
    log = line.rsplit("traceback in ", 1)[1].rstrip(")")
    assert log.startswith(str(state / "logs")) and "Traceback" in open(log).read()
    assert os.stat(log).st_mode & 0o077 == 0
    code, o, e = run(["show", "--json"], capsys, monkeypatch)
    assert code == 1 and json.loads(o)["error"].startswith("unexpected error: RuntimeError")


def test_lab_open_bad_requests_are_one_clear_line(state):
    env = {"EGOV_STATE_DIR": str(state)}
    r = egov("lab", "open", "census", env=env)
    assert r.returncode == USAGE_EXIT and "no application 'census' in the estate" in r.stderr
    assert "Traceback" not in r.stderr
    r = egov("lab", "open", "hotline-12345", "--site", "mars", env=env)
    assert r.returncode == USAGE_EXIT and "hotline-12345 has no front at site 'mars'" in r.stderr


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


def test_a_malformed_drill_file_is_one_line_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndescription: y\nmethod:\n  - action: power-cut\n    target: primary\n"
                   "  - action: teleport\n", encoding="utf-8")
    r = egov("drill", "run", bad, env={"EGOV_STATE_DIR": str(tmp_path / "state")})
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"{bad}:6: method[1].action: no action 'teleport' in the library" in lines[0]
    r = egov("drill", "run", bad, "--json", env={"EGOV_STATE_DIR": str(tmp_path / "state")})
    data = json.loads(r.stdout)
    assert r.returncode == 2 and data["result"] == "refused" and f"{bad}:6:" in data["error"]
    assert not (tmp_path / "state" / "journal.jsonl").exists()  # refused before anything ran


def test_repeat_is_a_count_from_1_to_50():
    for n in ("0", "51", "x"):
        r = egov("drill", "run", "site-loss", "--repeat", n)
        assert r.returncode == 64 and "--repeat" in r.stderr and "Traceback" not in r.stderr, r.stderr
