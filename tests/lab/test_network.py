"""`egov net` on the lab's real network: every device on the platform the estate declares (Huawei
VRP5/VRPv8, H3C Comware 7, emulated by egov.lab.devices), pushed the production templates over SSH;
each router's layer 3 carried out by FRR in its namespace, so OSPF and the towns' reach follow
from the Huawei/H3C text (a wrong wildcard breaks `net verify`).

Full push from factory state, a push that changes nothing, OSPF and the towns' clients
reaching the apps, and the faults (unreachable, wrong credentials, a command rejected halfway,
a failed post-check, a device that cannot be backed up, a failing canary): the device in
trouble is restored and checked, the others are untouched, the report names what went wrong.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest
import yaml

from egov.core import secrets
from egov.core.journal import Journal
from egov.core.loader import load_estate
from egov.lab import CTL
from egov.lab.netns import ip
from tests.conftest import PANYU, ROOT
from tests.lab.conftest import EgovRunner, needs_root

pytestmark = [pytest.mark.lab, needs_root]

N_DEVICES = 293


@pytest.fixture(scope="module")
def net(egov_lab):
    run, lab = egov_lab
    run("up", timeout=900)  # the apps must answer for the towns' clients (no-op if already built)
    return run, lab


def _json(r):
    return json.loads(r.stdout)


def _plan(run, *args):
    return _json(run("net", "plan", "--json", *args))


TEMPLATES = ROOT / "network" / "templates"


def _override(tmp_path, template: str, anchor: str, replacement: str):
    """A copy of the estate carrying its own version of one of egov's templates, with `anchor`
    replaced: how a district customises its configs, and how these tests put a fault into
    one device's change."""
    dst = tmp_path / "panyu"
    if not dst.exists():
        shutil.copytree(PANYU, dst)
    stock = (TEMPLATES / template).read_text()
    assert anchor in stock, f"{template} no longer contains {anchor!r}"
    out = dst / "templates" / template
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(stock.replace(anchor, replacement))
    return dst


def test_up_pushed_the_network_and_rollback_returns_it_to_factory(net, lab_state):
    run, _ = net
    assert _plan(run)["changed"] == 0  # `egov up` pushed the whole network
    first = _json(run("net", "backups", "--json"))[0]  # taken by that first push: factory configs
    assert first["devices"] == N_DEVICES
    r = _json(run("net", "rollback", "--all", "--to", first["id"], "--json", timeout=600))
    assert set(r["results"].values()) == {"restored"} and len(r["results"]) == N_DEVICES


def test_full_push_from_factory_state(net, lab_state):
    run, lab = net
    before = _plan(run)
    assert before["devices"] == N_DEVICES and before["changed"] == N_DEVICES and before["unreachable"] == 0
    rep = _json(run("net", "push", "--json", timeout=600))
    assert rep["ok"] and rep["counts"] == {"pushed": N_DEVICES}
    assert [w["name"] for w in rep["waves"]] == ["canary", "core", "towns", "villages"]
    assert rep["waves"][0]["devices"] == ["city-uplink", "shiqiao-agg", "shiqiao-v001"]
    # converged: the next plan is empty
    assert _plan(run)["changed"] == 0
    # every session logged, without the password; the run journalled with its backup
    logs = list((lab_state / "net" / "runs").glob("*-push-*/sessions/*.log"))
    assert len(logs) >= N_DEVICES
    pw = secrets.load(lab_state, load_estate(PANYU))["net_password"]
    assert not any(pw in p.read_text(errors="replace") for p in logs)
    rec = [r for r in Journal(lab_state).records() if r["command"] == "net push"][-1]
    assert rec["argv"][-3:] == ["net", "push", "--json"]
    assert rec["result"] == "ok" and rec["details"]["backup"] == rep["backup"]
    assert len(rec["changes"]) == N_DEVICES


def test_the_network_routes_and_the_towns_reach_the_apps(net):
    run, _ = net
    deadline = time.monotonic() + 30  # OSPF converges in seconds; allow for a busy machine
    while True:
        r = run("net", "verify", "--json", check=False)
        rep = _json(r)
        if rep["ok"] or time.monotonic() > deadline:
            break
        time.sleep(2)
    bad = [c for c in rep["checks"] if not c["ok"]]
    assert r.returncode == 0 and not bad, bad[:3]
    ospf = [c for c in rep["checks"] if c["check"] == "ospf adjacencies"]
    assert len(ospf) == 21 and any(c["where"] == "panyu-core" and c["detail"] == "20/20 Full" for c in ospf)
    http = [c for c in rep["checks"] if c["check"].startswith("http")]
    assert len(http) == 19 and all(c["detail"] == "all 200" for c in http)


def test_noop_push_touches_nothing(net, lab_state):
    run, _ = net
    backups = _json(run("net", "backups", "--json"))
    rep = _json(run("net", "push", "--json"))
    assert rep["ok"] and rep["counts"] == {"unchanged": N_DEVICES} and rep["backup"] is None
    assert _json(run("net", "backups", "--json")) == backups  # no empty backup set either


def test_command_rejected_halfway_restores_that_device_only(net, tmp_path):
    run, lab = net
    up = " description uplink {{ i.device.uplink }}\n"  # shatou's villages are Comware (S5130S)
    est = _override(tmp_path, "hp_comware/village_access.j2", up,
                    ' description uplink {{ i.device.uplink }}'
                    '{{ " " ~ i.device.id ~ "-test" if i.device.id in ("shatou-v002", "shatou-v003") else "" }}\n'
                    '{% if i.device.id == "shatou-v002" %}\n stp bogus-knob\n{% endif %}\n')
    r2 = EgovRunner(run.state, est)
    before = _plan(r2, "--limit", "shatou")
    assert {p["device"] for p in before["plans"] if p["changed"]} == {"shatou-v002", "shatou-v003"}
    r = r2("net", "push", "--limit", "shatou", "--max-failures", "1", "--json", check=False)
    assert r.returncode == 1
    assert "shatou-v002" in r.stderr and "stp bogus-knob" in r.stderr and "restored" in r.stderr
    rep = _json(r)
    by = {d["device"]: d for d in rep["devices"]}
    assert by["shatou-v002"]["status"] == "restored" and by["shatou-v002"]["error_kind"] == "rejected"
    assert by["shatou-v003"]["status"] == "pushed"
    assert all(d["status"] == "unchanged" for k, d in by.items() if k not in ("shatou-v002", "shatou-v003"))
    # shatou-v002 is exactly as before the push; the stock estate sees only the accepted change
    after = {p["device"]: p for p in _plan(run, "--limit", "shatou")["plans"]}
    assert [k for k, p in after.items() if p["changed"]] == ["shatou-v003"]
    cmds = after["shatou-v003"]["commands"]
    assert cmds[0] == "interface Ten-GigabitEthernet1/0/25" and any(
        c.strip() == "description uplink shatou-agg" for c in cmds), cmds
    run("net", "push", "--limit", "shatou-v003")  # back to the estate
    assert _plan(run, "--limit", "shatou")["changed"] == 0


def test_failed_post_check_restores_the_device(net, tmp_path):
    run, _ = net
    # the emulated VRP, like the device, stores `desc` as `description`: the change cannot converge
    up = " description uplink {{ i.device.uplink }}\n"
    est = _override(tmp_path, "huawei_vrp/village_access.j2", up,
                    up + '{% if i.device.id == "dashi-v001" %}\n desc uplink\n{% endif %}\n')
    r = EgovRunner(run.state, est)("net", "push", "--limit", "dashi-v001", "--json", check=False)
    assert r.returncode == 1 and "post-check failed" in r.stderr and "dashi-v001" in r.stderr
    (d,) = [x for x in _json(r)["devices"] if x["device"] == "dashi-v001"]
    assert d["status"] == "restored" and d["restore"] == "restored"
    assert _plan(run, "--limit", "dashi")["changed"] == 0


def test_failing_canary_stops_the_push_before_later_waves(net, tmp_path):
    run, _ = net
    lan = " description {{ lan.kind }} {{ lan.name }}\n"
    bogus = (" description {{ lan.kind }} {{ lan.name }}"
             "{{ ' v2\\n ospf bogus-knob' if lan.kind == 'service' else '' }}\n")
    _override(tmp_path, "huawei_vrp/router.j2", lan, bogus)  # the towns' AR6280s
    est = _override(tmp_path, "hp_comware/router.j2", lan, bogus)  # and MSR3660s
    r2 = EgovRunner(run.state, est)
    assert _plan(r2, "--limit", "towns")["changed"] == 19
    r = r2("net", "push", "--json", check=False)
    assert r.returncode == 1 and "push stopped: wave canary" in r.stderr
    rep = _json(r)
    by = {d["device"]: d for d in rep["devices"]}
    assert by["shiqiao-agg"]["status"] == "restored" and "ospf bogus-knob" in by["shiqiao-agg"]["error"]
    assert [w["state"] for w in rep["waves"]] == ["stopped", "not-started"]
    assert sum(d["status"] == "not-started" for d in rep["devices"]) == 18
    assert _plan(run)["changed"] == 0  # nothing changed anywhere


def _verify(run, want_ok: bool, timeout: float = 40) -> dict:
    """`net verify` until it says `want_ok` (OSPF takes seconds to converge or to lose a neighbour)."""
    deadline = time.monotonic() + timeout
    while True:
        rep = _json(run("net", "verify", "--json", check=False))
        if rep["ok"] == want_ok or time.monotonic() > deadline:
            return rep
        time.sleep(2)


def test_a_wrong_wildcard_in_a_template_breaks_verify(net, tmp_path):
    run, _ = net
    # the host wildcard 0.0.0.0 where a network's wildcard belongs: only the loopback still matches
    net_line = "  network {{ n.network_address }} {{ wildcard(n) }}\n"
    est = _override(tmp_path, "huawei_vrp/router.j2", net_line,
                    "  network {{ n.network_address }} "
                    "{{ '0.0.0.0' if i.device.id == 'shiqiao-agg' else wildcard(n) }}\n")
    r2 = EgovRunner(run.state, est)
    try:
        r2("net", "push", "--limit", "shiqiao-agg")
        rep = _verify(run, False)
        bad = {(c["check"], c["where"]) for c in rep["checks"] if not c["ok"]}
        assert ("ospf adjacencies", "shiqiao-agg") in bad and ("ospf adjacencies", "panyu-core") in bad
        assert any(w == "shiqiao" for c, w in bad if c.startswith("http") or c.startswith("ping"))
        assert {w for _, w in bad} <= {"shiqiao-agg", "panyu-core", "shiqiao"}  # nothing else broke
    finally:
        run("net", "push", "--limit", "shiqiao-agg")  # the stock template
    assert _verify(run, True)["ok"]


def test_lab_status_lists_what_the_routers_accept_but_the_lab_does_not_carry_out(net):
    run, _ = net
    st = _json(run("lab", "status", "--json"))["network"]
    routers = {r["id"]: r for r in st["routers"]}
    assert routers["shiqiao-agg"]["platform"] == "huawei_vrp" and routers["nancun-agg"]["platform"] == "hp_comware"
    l3 = routers["shiqiao-agg"]["l3"]
    assert l3["in_sync"] and l3["error"] == ""
    assert any("port link-type trunk" in x for x in l3["unrealised"])  # the LAN trunk is a bridge port here
    assert not any("ip address" in x or "network " in x for x in l3["unrealised"])


def test_unreachable_device_is_named_and_nothing_else_happens(net):
    run, lab = net
    ip("addr", "del", "10.30.3.10/32", "dev", "lo", ns=CTL)  # donghuan-v001's management address is gone
    try:
        r = run("net", "push", "--limit", "donghuan", "--json", check=False)
        assert r.returncode == 1
        assert "donghuan-v001" in r.stderr and "cannot open SSH to 10.30.3.10:22" in r.stderr
        by = {d["device"]: d for d in _json(r)["devices"]}
        assert by["donghuan-v001"]["error_kind"] == "unreachable"
        assert all(d["status"] == "unchanged" for k, d in by.items() if k != "donghuan-v001")
    finally:
        run("lab", "up")  # repairs the missing address
    assert _plan(run, "--limit", "donghuan")["changed"] == 0


def test_wrong_credentials_are_one_clear_line(net, lab_state):
    run, _ = net
    path = secrets.path(lab_state, load_estate(PANYU))
    good = path.read_text()
    data = yaml.safe_load(good)
    data["net_password"] = "not-the-password"
    path.write_text(yaml.safe_dump(data))
    try:
        r = run("net", "push", "--limit", "luopu-v001", check=False)
    finally:
        path.write_text(good)
    assert r.returncode == 1
    assert "luopu-v001: not pushed: login refused at 10.30.7.10:22 (wrong credentials for user 'netops')" in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_a_router_whose_frr_restarted_gets_its_configuration_back(net):
    run, lab = net
    lab.network.crash_router("shibi-agg")  # its routing daemons die; the emulated AR6280 keeps its config
    try:
        rep = _verify(run, False)
        assert any(c["where"] == "shibi-agg" and not c["ok"] for c in rep["checks"])
    finally:
        run("lab", "up")  # restarts the daemons empty; the device's configuration is carried out again
    assert _verify(run, True)["ok"]
    assert _plan(run, "--limit", "shibi")["changed"] == 0


def test_backup_rollback_and_diff(net, lab_state):
    run, _ = net
    first = _json(run("net", "backups", "--json"))[0]  # factory configs
    b = _json(run("net", "backup", "--limit", "nancun", "--json"))
    nancun = next(t for t in load_estate(PANYU).network.towns if t.id == "nancun")
    assert all(d["ok"] for d in b["devices"]) and len(b["devices"]) == 1 + len(nancun.villages)
    run("net", "rollback", "nancun-v001", "nancun-agg", "--to", first["id"])
    assert {p["device"] for p in _plan(run, "--limit", "nancun")["plans"] if p["changed"]} == {
        "nancun-v001",
        "nancun-agg",
    }
    d = _json(run("net", "diff", "nancun-v001", "--json"))["differs"]["nancun-v001"]
    assert "+interface Vlanif10" in d and "+ ip address 10.30.11.10 255.255.255.0" in d
    run("net", "rollback", "--all", "--to", b["backup"])  # back to the estate, from the fresh backup
    assert _plan(run, "--limit", "nancun")["changed"] == 0
    recs = [r for r in Journal(lab_state).records() if r["command"].startswith("net rollback")]
    assert len(recs) == 3 and any("nancun-agg: restored" in c for c in recs[1]["changes"])


def test_bad_requests_are_one_clear_line(net):
    run, _ = net
    r = run("net", "push", "--limit", "nowhere", check=False)
    assert r.returncode == 1 and r.stderr.strip() == (
        "egov: error: --limit nowhere: matches no device, town, role or tier of the estate's network")
    r = run("net", "rollback", "shiqiao-v001", "--to", "19990101T000000Z", check=False)
    assert r.returncode == 1 and "no backup '19990101T000000Z'" in r.stderr
