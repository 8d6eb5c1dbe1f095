"""The emulated devices without SSH: sessions typed line by line, a fake clock for timed reverts."""

from __future__ import annotations

from pathlib import Path

import pytest

from egov.lab.devices.device import Device, Session, dialect_for
from egov.network import platforms

GOLDEN = Path(__file__).resolve().parents[3] / "data" / "net" / "golden"
CASES = [(p, role, d) for p, ds in (("huawei_vrp", ("vrp5", "vrpv8")), ("hp_comware", ("comware7",)))
         for role in ("core", "city_uplink", "town_aggregation", "village_access") for d in ds]


class Clock:
    def __init__(self):
        self.now, self.jobs = 0.0, []

    def schedule(self, delay, fn):
        job = _Job(self.now + delay, fn)
        self.jobs.append(job)
        return job

    def advance(self, secs):
        self.now += secs
        for j in [j for j in self.jobs if j.at <= self.now and not j.cancelled]:
            self.jobs.remove(j)
            j.fn()


class _Job:
    def __init__(self, at, fn):
        self.at, self.fn, self.cancelled = at, fn, False

    def cancel(self):
        self.cancelled = True


def typed(s: Session, *lines: str) -> str:
    out = ""
    for ln in lines:
        out += s.prompt() + ln + "\n" + s.handle(ln).text
    return out


def system(dialect: str, clock: Clock | None = None) -> tuple[Device, Session]:
    d = Device("R1", dialect, schedule=(clock or Clock()).schedule)
    s = Session(d)
    s.handle("system-view")
    return d, s


@pytest.mark.parametrize("platform,role,dialect", CASES)
def test_golden_configs_are_accepted_line_for_line_and_shown_back(platform, role, dialect):
    text = (GOLDEN / platform / f"{role}.cfg").read_text(encoding="utf-8")
    d = Device("x", dialect)
    assert d.load(text) == []
    p = platforms.get(platform)
    assert p.clean_running(d.display()) == p.clean_running(text)
    # and what it shows boots the same device again
    again = Device("x", dialect)
    assert again.load(d.display()) == [] and again.display() == d.display()


@pytest.mark.parametrize("dialect,msg", [("vrp5", "Error: Unrecognized command found at '^' position."),
                                         ("vrpv8", "Error: Unrecognized command found at '^' position."),
                                         ("comware7", "% Unrecognized command found at '^' position.")])
def test_a_line_outside_the_grammar_is_refused_with_the_device_s_words_and_changes_nothing(dialect, msg):
    d, s = system(dialect)
    out = s.handle("router ospf 1").text
    assert msg in out
    # the caret sits under the word the device could not take
    caret = out.splitlines()[0]
    assert caret.index("^") == len(s.prompt())
    out = s.handle("interface LoopBack0").text
    assert out == ""
    before = s.tree.lines()
    out = s.handle(" ip adress 10.0.0.1 255.255.255.255").text
    assert msg in out and out.splitlines()[0].index("^") == len(s.prompt()) + len(" ip ")
    assert s.tree.lines() == before == ["interface LoopBack0"]


@pytest.mark.parametrize("line,kind", [("sysname", "Incomplete command"), ("vlan 5000", "Wrong parameter"),
                                       ("ntp-service unicast-server 10.0.0.256", "Wrong parameter"),
                                       ("stelnet server enable now", "Too many parameters"),
                                       ("s foo", "Ambiguous command")])
def test_vrp_error_kinds(line, kind):
    _, s = system("vrp5")
    assert kind in s.handle(line).text


def test_keywords_abbreviate_and_are_stored_expanded():
    d, s = system("vrp5")
    typed(s, "int LoopBack0", " ip add 10.0.0.1 32", "quit", "ip route-s 0.0.0.0 0 10.0.0.2")
    shown = d.display()
    assert "interface LoopBack0\n ip address 10.0.0.1 255.255.255.255\n" in shown
    assert "ip route-static 0.0.0.0 0.0.0.0 10.0.0.2\n" in shown


def test_prompts_follow_the_views():
    d, s = system("comware7")
    assert s.prompt() == "[R1]"
    typed(s, "interface Vlan-interface10")
    assert s.prompt() == "[R1-Vlan-interface10]"
    typed(s, "ospf 1 router-id 10.0.0.1", "area 0.0.0.0")
    assert s.prompt() == "[R1-ospf-1-area-0.0.0.0]"
    typed(s, "quit")
    assert s.prompt() == "[R1-ospf-1]"
    typed(s, "return")
    assert s.prompt() == "<R1>"
    # a command typed in a sub-view that belongs to an enclosing view runs there
    typed(s, "system-view", "vlan 10", "ntp-service unicast-server 10.0.0.9")
    assert s.prompt() == "[R1]" and "ntp-service unicast-server 10.0.0.9" in d.display()


def test_settings_replace_lists_merge_and_undo_removes():
    d, s = system("vrp5")
    typed(s, "interface GigabitEthernet0/0/1", " description one", " description two",
          " port link-type trunk", " port trunk allow-pass vlan 10", " port trunk allow-pass vlan 11 12",
          "vlan batch 10 20", "vlan batch 30")
    shown = d.display()
    assert " description two\n" in shown and "description one" not in shown
    assert " port trunk allow-pass vlan 10 to 12\n" in shown and "vlan batch 10 20 30\n" in shown
    out = typed(s, "interface GigabitEthernet0/0/1", " undo description",
                " undo port trunk allow-pass vlan 11", "undo vlan batch 20")
    assert "Error" not in out
    shown = d.display()
    assert "description" not in shown and "vlan batch 10 30\n" in shown and "allow-pass vlan 10 12\n" in shown
    # VRP's `undo description` takes no text; an interface command is not a system-view one
    typed(s, "interface GigabitEthernet0/0/1")
    assert "Too many parameters" in s.handle("undo description two").text
    typed(s, "quit")
    assert "Unrecognized command" in s.handle("undo port trunk allow-pass vlan 10").text


def test_comware_indents_globals_and_egov_reads_it_back():
    d, s = system("comware7")
    typed(s, "sysname R1", "vlan 10", " name mgmt", "ip route-static 0.0.0.0 0.0.0.0 10.0.0.1")
    shown = d.display()
    assert "\n sysname R1\n" in shown and "\nvlan 10\n name mgmt\n" in shown
    assert "\n ip route-static 0.0.0.0 0 10.0.0.1\n" in shown  # Comware shows the mask as a length
    clean = platforms.get("hp_comware").clean_running(shown)
    assert "sysname R1\n" in clean and "ip route-static 0.0.0.0 0 10.0.0.1\n" in clean


def test_vrp_save_asks_and_saves_on_yes():
    saved = []
    d = Device("R1", "vrp5", on_save=saved.append)
    s = Session(d)
    r = s.handle("save")
    assert r.text.endswith("Continue? [Y/N]:") and r.ask is not None
    assert "Save the configuration successfully" in r.ask("y").text and saved == [d.display()]
    r = s.handle("save")
    assert r.ask("n").text == "" and len(saved) == 1


def test_comware_save_force_saves_without_a_question():
    saved = []
    d = Device("R1", "comware7", on_save=saved.append)
    r = Session(d).handle("save force")
    assert r.ask is None and "successfully" in r.text and saved


# ---------------------------------------------------------------------------- VRPv8


def test_vrpv8_edits_a_candidate_until_commit():
    d, s = system("vrpv8")
    assert s.prompt() == "[~R1]"
    typed(s, "interface LoopBack0", " ip address 10.0.0.1 255.255.255.255")
    assert s.prompt() == "[*R1-LoopBack0]"
    assert "LoopBack0" not in d.display()
    assert "LoopBack0" in s.handle("display configuration candidate").text
    typed(s, "commit")
    assert s.prompt() == "[~R1-LoopBack0]" and "ip address 10.0.0.1" in d.display()
    typed(s, " undo ip address", "abort")
    assert s.prompt() == "[~R1]" and "ip address 10.0.0.1" in d.display()


def test_vrpv8_sysname_takes_effect_at_commit():
    d, s = system("vrpv8")
    typed(s, "sysname core")
    assert s.prompt() == "[*R1]"
    typed(s, "commit")
    assert s.prompt() == "[~core]"


@pytest.mark.parametrize("answer,committed,still_in", [("Y", True, False), ("N", False, False), ("C", False, True)])
def test_vrpv8_leaving_with_uncommitted_changes_asks(answer, committed, still_in):
    d, s = system("vrpv8")
    typed(s, "ntp-service unicast-server 10.0.0.9")
    r = s.handle("return")
    assert r.text == ("Warning: Uncommitted configurations found. Are you sure to commit them before exiting? "
                      "[Y(yes)/N(no)/C(cancel)]:")
    r.ask(answer)
    assert ("ntp-service" in d.display()) == committed
    assert s.system == still_in


def test_vrpv8_trial_commit_reverts_by_itself_unless_confirmed():
    clock = Clock()
    d, s = system("vrpv8", clock)
    typed(s, "ntp-service unicast-server 10.0.0.1", "commit")
    typed(s, "ntp-service unicast-server 10.0.0.2")
    assert "rolled back in 120 seconds" in s.handle("commit trial 120").text
    assert "10.0.0.2" in d.display()
    clock.advance(119)
    assert "10.0.0.2" in d.display()
    clock.advance(2)
    assert "10.0.0.2" not in d.display() and "10.0.0.1" in d.display()
    assert d.events == ["trial commit expired: configuration reverted"]
    # confirmed: it stays
    typed(s, "abort", "ntp-service unicast-server 10.0.0.3", "commit trial 60", "commit")
    clock.advance(600)
    assert "10.0.0.3" in d.display()
    assert "Wrong parameter" in s.handle("commit trial 10").text


def test_vrpv8_abort_trial_and_rollback_configuration():
    clock = Clock()
    d, s = system("vrpv8", clock)
    typed(s, "ntp-service unicast-server 10.0.0.1", "commit trial 600")
    assert "rolled back" in s.handle("abort trial").text and "10.0.0.1" not in d.display()
    assert clock.jobs[0].cancelled
    typed(s, "ntp-service unicast-server 10.0.0.5", "commit", "return")
    assert "10.0.0.5" in d.display()
    assert "Succeeded" in s.handle("rollback configuration last 1").text
    assert "10.0.0.5" not in d.display()
    assert "does not exist" in s.handle("rollback configuration to commit-id 42").text


# ---------------------------------------------------------------------------- Comware 7


def test_comware_commit_delay_reverts_unless_confirmed():
    clock = Clock()
    d, s = system("comware7", clock)
    typed(s, "ntp-service unicast-server 10.0.0.1")
    assert "roll back" in s.handle("configuration commit delay 2").text
    typed(s, "ntp-service unicast-server 10.0.0.2")
    assert "10.0.0.2" in d.display()
    clock.advance(121)
    assert "10.0.0.2" not in d.display() and "10.0.0.1" in d.display()
    typed(s, "configuration commit delay 1", "ntp-service unicast-server 10.0.0.3", "configuration commit")
    clock.advance(3600)
    assert "10.0.0.3" in d.display()
    assert "No configuration commit delay" in s.handle("configuration commit").text


def test_comware_configuration_replace_file():
    d, s = system("comware7")
    typed(s, "ntp-service unicast-server 10.0.0.1", "save force", "ntp-service unicast-server 10.0.0.2")
    r = s.handle("configuration replace file flash:/startup.cfg")
    assert "save current configuration? [Y/N]:" in r.text
    assert "Succeeded in replacing" in r.ask("n").text
    assert "10.0.0.1" in d.display() and "10.0.0.2" not in d.display()
    assert "does not exist" in s.handle("configuration replace file flash:/nope.cfg").text


def test_dialects_follow_the_estate_s_models():
    assert dialect_for("huawei_vrp", "CE12808") == "vrpv8" and dialect_for("huawei_vrp", "NE40E-X8") == "vrpv8"
    assert dialect_for("huawei_vrp", "S5735-L24T4S") == "vrp5" and dialect_for("huawei_vrp", None) == "vrp5"
    assert dialect_for("hp_comware", "S5130S-28S") == "comware7"
    with pytest.raises(ValueError, match="no emulated dialect for platform 'frr'"):
        dialect_for("frr", None)
    with pytest.raises(ValueError, match="unknown dialect 'ios'"):
        Device("x", "ios")


# ---------------------------------------------------------------------------- egov's plans on them

_PLAN_CASES = [("vrp5", "huawei_vrp", "shiqiao-agg"), ("vrp5", "huawei_vrp", "shiqiao-v001"),
               ("vrpv8", "huawei_vrp", "panyu-core"), ("comware7", "hp_comware", "shiqiao-agg"),
               ("comware7", "hp_comware", "shiqiao-v001")]


def _changed(text: str) -> str:
    """An intent that changes single-valued settings, swaps a list entry and drops lines."""
    text = (text.replace("description mgmt", "description mgmt-new").replace(" name mgmt", " name mgmt2")
            .replace("ospf timer dead 3", "ospf timer dead 4")
            .replace("ntp-service unicast-server 10.30.0.2\n", "ntp-service unicast-server 10.30.0.9\n")
            .replace("port default vlan 110", "port default vlan 100")
            .replace("port access vlan 110", "port access vlan 100"))
    drop = ("silent-interface", "import-route", "header login", "spf-schedule-interval", "stp edged-port")
    return "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith(drop)) + "\n"


@pytest.mark.parametrize("dialect,platform,dev", _PLAN_CASES)
def test_egov_s_plan_and_its_rollback_are_taken_by_the_device_and_converge(dialect, platform, dev):
    from egov.core import topology
    from egov.core.loader import load_estate
    from egov.network import render
    from egov.network.plan import plan

    estate = load_estate(Path(__file__).resolve().parents[4] / "estate" / "panyu")
    text = render.render_intent(topology.intents(estate)[dev], platform).text
    d = Device(dev, dialect)
    assert d.load(text) == []
    want = _changed(text)
    p = plan(dev, platform, "x", d.display(), want)
    assert p.commands

    def apply(cmds):
        s = Session(d)
        s.handle("system-view")
        refused = [(c, s.handle(c).text.strip()) for c in cmds]
        if dialect == "vrpv8":
            s.handle("commit")
        return [(c, out) for c, out in refused if "Error" in out or "%" in out]

    assert apply(p.commands) == []
    assert plan(dev, platform, "x", d.display(), want).commands == []
    # and the plan's rollback takes it back to where it was
    assert apply(p.rollback) == []
    assert plan(dev, platform, "x", d.display(), text).commands == []
