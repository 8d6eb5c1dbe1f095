"""Drill files (the Chaos Toolkit model): a new drill is a file only, validated against the
library of probes and actions; a malformed one is one line `file:line: what`, exit 2."""

import textwrap

import pytest

from egov.datacenters import drill, scenario
from egov.datacenters.dr import DrRefused
from egov.datacenters.scenario import ScenarioInvalid

GOOD = """\
name: app-blip
description: one application host loses power and comes back
steady-state-hypothesis:
  title: steady
  probes:
    - probe: status
      field: steady
      tolerance: true
method:
  - action: power-cut
    target: app-host
    mark: fault
  - action: load
    seconds: 3
  - action: power-on
    target: app-host
    mark: back
checks:
  - name: writes resume
    probe: first-write
    after: fault
    as: resumed_s
    tolerance: {max: targets.rto}
  - name: gap
    probe: longest-gap
    from: fault
    to: back
    tolerance: [0, 30]
rollbacks:
  - action: power-on
    target: app-host
rto-for-level: resumed_s
"""


def _write(tmp_path, text, name="d.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_a_new_drill_is_a_file_only(tmp_path):
    p = _write(tmp_path, GOOD)
    s = drill.load_scenario(str(p))
    assert s.name == "app-blip" and [x.entry for x in s.method] == ["power-cut", "load", "power-on"]
    assert s.method[1].args.seconds == 3 and s.checks[0].store_as == "resumed_s"
    assert s.checks[1].tolerance == [0, 30] and s.rollbacks[0].args.target == "app-host"


@pytest.mark.parametrize("edit, line, what", [
    (("    seconds: 3", "    seconds: -3"), 14, "method[1].seconds: Input should be greater than 0"),
    (("    seconds: 3", "    second: 3"), 14, "load takes no argument 'second' (it takes: seconds, label)"),
    (("  - action: load", "  - action: sleep"), 13, "method[1].action: no action 'sleep' in the library"),
    (("    tolerance: [0, 30]", "    tolerance: [0]"), 28, "checks[1].tolerance: a range tolerance is [low, high]"),
    (("    tolerance: [0, 30]\n", ""), 24, "checks[1]: a checks probe needs a 'tolerance'"),
    (("rto-for-level: resumed_s", "rto-for-level: nowhere"), 32, "'nowhere' is no measurement of this drill"),
    (("description:", "descripton:"), 2, "descripton: unknown key"),
    (("  - action: load\n", "  - action: load\n    probe: status\n"), 13, "names exactly one of 'action' or 'probe'"),
    (("  - name: gap\n    probe:", "  - name: gap\n    action:"), 25, "checks hold probes only"),
    (("    mark: back", "    mark: back\n    control: async"), 18, "control 'async' is not declared"),
    (("    field: steady", "    field: weather"), 7, "steady-state-hypothesis.probes[0].field: Input should be"),
    (("method:", "method: [\n"), 11, "malformed YAML"),
    (("{max: targets.rto}", "{max: targets.mtbf}"), 23, "no target 'targets.mtbf' (have: targets.first_write_rto"),
])
def test_a_malformed_drill_file_is_one_line_naming_file_and_line(tmp_path, edit, line, what):
    p = _write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ScenarioInvalid) as e:
        drill.load_scenario(str(p))
    msg = str(e.value)
    assert msg.startswith(f"{p}:{line}: ") and what in msg and "\n" not in msg, msg
    assert e.value.exit_code == 2


def test_unknown_names_and_missing_files(tmp_path):
    with pytest.raises(DrRefused, match="no scenario 'meteor-strike'"):
        drill.load_scenario("meteor-strike")
    with pytest.raises(ScenarioInvalid, match="no such drill file"):
        drill.load_scenario(str(tmp_path / "nope.yaml"))
    with pytest.raises(ScenarioInvalid, match=r":1: a drill file is a YAML mapping"):
        drill.load_scenario(str(_write(tmp_path, "- just\n- a list\n")))


def test_tolerances():
    bound = {"targets.rto": 60.0}.get
    assert scenario.within(5.0, {"max": "targets.rto"}, bound) == (True, "<= 60")
    assert scenario.within(61.0, {"max": "targets.rto"}, bound)[0] is False
    assert scenario.within(None, {"max": 3}, float)[0] is False  # never measured never passes
    assert scenario.within(2, [1, 3], float) == (True, "1..3") and not scenario.within(4, [1, 3], float)[0]
    assert scenario.within(False, False, float)[0] and not scenario.within(0, False, float)[0]
    assert scenario.within(1, {"min": 1, "max": 2}, float) == (True, ">= 1, <= 2")
    assert scenario.check_tolerance({"max": {"from": "a", "to": "b"}}) is None
    assert "bound" in scenario.check_tolerance({"upto": 3})


class _Lab:
    def __init__(self):
        self.calls = []

    def crash(self, what):
        self.calls.append(("crash", what))

    def start(self, what):
        self.calls.append(("start", what))


def test_the_runner_plays_a_file_against_the_library_and_evaluates_its_checks(tmp_path, monkeypatch):
    """The method's steps reach the lab in order with the roles resolved, marks time them, checks
    read the load's records against their tolerances (the lab itself is faked: the drills run for
    real in tests/lab/test_drills.py)."""
    import threading
    import time
    from types import SimpleNamespace

    from egov.datacenters.dr import Timeline

    s = drill.load_scenario(str(_write(tmp_path, GOOD.replace("seconds: 3", "seconds: 0.05"))))
    lab = _Lab()
    t0 = time.time()
    # writes: ok before the fault, refused for 0.5 s, ok again 0.5 s after the fault
    recs = [{"ref": f"r{i}", "ok": ok, "t_start": t0 + dt, "t_end": t0 + dt + 0.01, "site": "dafushan"}
            for i, (dt, ok) in enumerate([(-1, True), (0.2, False), (0.5, True), (0.6, True)])]
    estate = SimpleNamespace(primary_site=SimpleNamespace(dr=SimpleNamespace(
        rto=60.0, first_write_rto=5.0, switchover_interruption=3.0)), backup=None)
    dr = SimpleNamespace(site_of={"dfs-db1": "dafushan", "lr-db1": "legacy-room"})
    c = drill.Ctx(estate, lab, dr, SimpleNamespace(records=recs), Timeline(), threading.Lock(), lambda m: None,
                  "d", refs={"app-host": "dfs-app1"})
    monkeypatch.setattr(time, "time", lambda: t0)  # the fault's mark is t0
    drill._do(c, s.method[0])
    monkeypatch.undo()
    for step in s.method[1:]:
        drill._do(c, step)
    assert lab.calls == [("crash", "dfs-app1"), ("start", "dfs-app1")]
    assert c.marks["fault"] == t0 and c.marks["back"] > t0
    checks = [drill._evaluate(c, x) for x in s.checks]
    assert checks[0]["name"] == "writes resume" and checks[0]["pass"] and checks[0]["timed"]
    assert abs(checks[0]["seconds"] - 0.51) < 0.02 and checks[0]["target"] == "<= 60 s"
    assert c.measure["resumed_s"] == checks[0]["seconds"]  # `as:` keeps it as a measurement
    assert checks[1]["pass"] and checks[1]["target"] == "0..30 s"
    # a tolerance the value misses fails, and a probe with nothing to measure fails as "never"
    c.estate.primary_site.dr.rto = 0.1
    assert not drill._evaluate(c, s.checks[0])["pass"]
    c.marks.pop("fault")
    assert drill._evaluate(c, s.checks[0])["measured"] == "never"
