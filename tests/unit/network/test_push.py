"""The push engine on in-memory devices: only changed devices, waves and canaries, the stop rule,
automatic restore, no push without a backup, selection, rollback plans."""

from __future__ import annotations

import pytest

from egov.core.loader import load_estate
from egov.network import fleet, platforms, render
from egov.network.backups import BackupError, BackupStore
from egov.network.drivers import Conn
from egov.network.plan import plan
from egov.network.push import Outcome, PushResult, push, read_all, restore, waves
from tests.conftest import PANYU
from tests.unit.network.fakes import FakeDevice, FakeNetwork


@pytest.fixture(scope="module")
def estate():
    return load_estate(PANYU)


def _devs(estate, ids=None):
    """The estate's devices as if it declared FRR routers and Cisco village switches (platforms an
    estate may declare; the fakes in fakes.py behave like those two)."""
    from egov.core import topology
    from egov.core.model import DeviceRole

    its = topology.intents(estate)
    out = {}
    for _, d in estate.devices():
        if ids and d.id not in ids:
            continue
        r = render.render_intent(its[d.id], "cisco_ios" if d.role == DeviceRole.village_access else "frr")
        p = platforms.get(r.platform)
        town = next((t.id for t in estate.network.towns if d.id == t.router.id or d in t.villages), None)
        out[d.id] = fleet.NetDevice(d.id, str(d.role), fleet.TIERS[d.role], town, r.platform,
                                    Conn(d.id, str(d.mgmt_ip), p, "netops", password="x"), r.text)
    return out


def factory(did, platform):
    """What the lab's devices show before egov configures them."""
    return f"hostname {did}\n" + ("no ipv6 forwarding\n" if platform == "frr" else "")


def _network(devs, converged=(), **faults):
    fake = {}
    for did, d in devs.items():
        start = d.intended if did in converged else factory(did, d.platform)
        fake[did] = FakeDevice(d.platform, start, **faults.get(did, {}))
    return FakeNetwork(fake)


def _run(devs, net, tmp_path, **kw):
    reads = read_all(devs, workers=8, connect=net.connect)
    bs = BackupStore(tmp_path, "panyu").new("test")
    args = dict(backup=bs, workers=8, max_failures=0, canary=1, dry_run=False, connect=net.connect) | kw
    return push(devs, reads, **args), bs


SMALL = ["city-uplink", "panyu-core", "shiqiao-agg", "shatou-agg", "donghuan-agg",
         "shiqiao-v001", "shiqiao-v002", "shatou-v001", "shatou-v002"]


def test_full_push_converges_every_device_in_wave_order(estate, tmp_path):
    devs = _devs(estate, SMALL)
    net = _network(devs)
    res, bs = _run(devs, net, tmp_path)
    assert res.ok and res.counts() == {"pushed": len(SMALL)}
    assert [w["name"] for w in res.waves] == ["canary", "core", "towns", "villages"]
    assert res.waves[0]["devices"] == ["city-uplink", "shiqiao-agg", "shiqiao-v001"]
    for did, d in devs.items():
        assert plan(did, d.platform, d.role, net.devices[did].running, d.intended).commands == []
        assert ("save",) in net.devices[did].log
    assert sorted(bs.devices()) == sorted(SMALL)  # the pre-change config of every device is kept
    assert bs.read("panyu-core")[1] == factory("panyu-core", "frr")


def test_second_push_touches_nothing(estate, tmp_path):
    devs = _devs(estate, SMALL)
    net = _network(devs, converged=SMALL)
    res, bs = _run(devs, net, tmp_path)
    assert res.counts() == {"unchanged": len(SMALL)} and res.waves == []
    assert not any(e[0] == "apply" for d in net.devices.values() for e in d.log)


def test_rejected_command_restores_that_device_and_the_wave_stops(estate, tmp_path):
    devs = _devs(estate, SMALL)
    net = _network(devs, **{"shiqiao-agg": {"reject": r"ip ospf passive"}})
    res, _ = _run(devs, net, tmp_path)
    o = res.outcomes["shiqiao-agg"]
    assert o.status == "restored" and o.error_kind == "rejected" and "ip ospf passive" in o.error
    assert net.devices["shiqiao-agg"].running == factory("shiqiao-agg", "frr")  # back to its backup
    assert res.stopped and "wave canary" in res.stopped
    # the canary stopped the push: later waves never started
    assert {res.outcomes[d].status for d in ("panyu-core", "shatou-agg", "shatou-v001")} == {"not-started"}
    assert res.outcomes["city-uplink"].status == "pushed"


def test_max_failures_lets_a_wave_continue(estate, tmp_path):
    devs = _devs(estate, SMALL)
    net = _network(devs, **{"shatou-v001": {"reject": r"^vlan 100"}})
    res, _ = _run(devs, net, tmp_path, max_failures=1)
    assert res.stopped is None
    assert res.outcomes["shatou-v001"].status == "restored"
    assert res.outcomes["shatou-v002"].status == "pushed"


def test_failed_post_check_restores(estate, tmp_path):
    devs = _devs(estate, SMALL)
    net = _network(devs, **{"shiqiao-v001": {"swallow": r"ip route 0.0.0.0"}})
    res, _ = _run(devs, net, tmp_path, canary=0, max_failures=5)
    o = res.outcomes["shiqiao-v001"]
    assert o.status == "restored" and "post-check failed" in o.error and "ip route 0.0.0.0" in o.error
    assert net.devices["shiqiao-v001"].running.strip() == "hostname shiqiao-v001"


def test_unreachable_and_wrong_credentials_are_named_and_untouched(estate, tmp_path):
    devs = _devs(estate, SMALL)
    net = _network(devs, **{"shatou-v002": {"unreachable": True}, "shiqiao-v002": {"wrong_password": True}})
    res, _ = _run(devs, net, tmp_path, max_failures=5)
    assert res.outcomes["shatou-v002"].error_kind == "unreachable" and "no answer" in res.outcomes["shatou-v002"].error
    assert res.outcomes["shiqiao-v002"].error_kind == "auth"
    assert res.outcomes["shiqiao-v001"].status == "pushed"


def test_unreadable_devices_count_against_their_wave(estate, tmp_path):
    devs = _devs(estate, SMALL)
    net = _network(devs, **{"shatou-v002": {"unreachable": True}})
    res, _ = _run(devs, net, tmp_path, canary=0)
    assert res.stopped and "villages" in res.stopped
    assert res.outcomes["shiqiao-v001"].status == "not-started"  # the villages wave never starts
    assert res.outcomes["shiqiao-agg"].status == "pushed"


def test_no_push_to_a_device_whose_backup_failed(estate, tmp_path):
    devs = _devs(estate, ["shiqiao-v001"])
    net = _network(devs)
    reads = read_all(devs, workers=1, connect=net.connect)
    net.devices["shiqiao-v001"].empty_show = True  # the backup read returns nothing usable
    res = push(devs, reads, backup=BackupStore(tmp_path, "panyu").new("t"), workers=1, max_failures=0, canary=0,
               dry_run=False, connect=net.connect)
    o = res.outcomes["shiqiao-v001"]
    assert o.status == "failed" and "not pushed" in o.error and "empty running config" in o.error
    assert not any(e[0] == "apply" for e in net.devices["shiqiao-v001"].log)


def test_dry_run_plans_waves_and_changes_nothing(estate, tmp_path):
    devs = _devs(estate, SMALL)
    net = _network(devs)
    reads = read_all(devs, workers=4, connect=net.connect)
    res = push(devs, reads, backup=None, workers=4, max_failures=0, canary=1, dry_run=True, connect=net.connect)
    assert res.counts() == {"planned": len(SMALL)}
    assert not any(e[0] == "apply" for d in net.devices.values() for e in d.log)


def test_restore_brings_back_the_backup(estate):
    devs = _devs(estate, ["shiqiao-agg"])
    d = devs["shiqiao-agg"]
    net = _network(devs, converged=["shiqiao-agg"])
    drv, result = restore(lambda: net.connect(d.conn), d, factory("shiqiao-agg", "frr"))
    assert result == "restored" and net.devices["shiqiao-agg"].running == factory("shiqiao-agg", "frr")


def test_waves_and_canaries():
    mk = lambda i, t: fleet.NetDevice(i, "r", t, None, "frr", None, "")  # noqa: E731
    ds = [mk("c1", "core"), mk("t1", "towns"), mk("t2", "towns"), mk("v1", "villages"), mk("v2", "villages")]
    assert [(n, [d.id for d in m]) for n, m in waves(ds, 1)] == [
        ("canary", ["c1", "t1", "v1"]), ("towns", ["t2"]), ("villages", ["v2"])]
    assert [n for n, _ in waves(ds, 0)] == ["core", "towns", "villages"]


def test_limit_selects_by_device_town_role_and_tier(estate):
    devs = _devs(estate)
    assert set(fleet.select(devs, ["shiqiao"])) == {"shiqiao-agg"} | {v.id for v in estate.network.towns[0].villages}
    assert set(fleet.select(devs, ["role=core"])) == {"panyu-core"}
    assert set(fleet.select(devs, ["tier=core"])) == {"panyu-core", "city-uplink"}
    assert len(fleet.select(devs, ["towns"])) == 19
    assert set(fleet.select(devs, ["shiqiao-v001,panyu-core"])) == {"shiqiao-v001", "panyu-core"}
    with pytest.raises(fleet.SelectionError, match="--limit nowhere: matches no device"):
        fleet.select(devs, ["nowhere"])


def test_frr_port_negation_removes_lines_not_the_port():
    p = plan("r", "frr", "core", "hostname r\ninterface down1\n description downlink x\n ip address 10.0.0.1/30\n",
             "hostname r\n")
    assert p.commands == ["interface down1", "  no description", "  no ip address 10.0.0.1/30", "  exit"]


def test_backups_detect_tampering(tmp_path):
    bs = BackupStore(tmp_path, "panyu").new("t")
    bs.write("a", "frr", "hostname a\n")
    (bs.dir / "a.cfg").write_text("hostname evil\n")
    with pytest.raises(BackupError, match="does not match its recorded sha256"):
        bs.read("a")
    with pytest.raises(BackupError, match="no backup 'nope'"):
        BackupStore(tmp_path, "panyu").get("nope")


def test_a_config_hier_config_cannot_read_is_one_clear_line():
    from egov.network.plan import PlanError

    with pytest.raises(PlanError, match=r"^r: cannot plan: the intended config has found a duplicate section: "
                                        r"\('interface a',\)"):
        plan("r", "frr", "core", "hostname r\n", "interface a\n description x\ninterface a\n shutdown\n")


def test_the_journal_records_the_safe_commit_steps():
    res = PushResult(outcomes={
        "panyu-core": Outcome("panyu-core", "core", "pushed", commands=3,
                                   steps=["commit trial 300 s", "post-check: reachable, running config as intended",
                                          "commit"]),
        "v1": Outcome("v1", "villages", "restored", commands=2, error="post-check failed: 1 line(s)",
                           steps=["configuration commit delay 5 min", "post-check failed"]),
        "v2": Outcome("v2", "villages", "unchanged")})
    assert res.journal_lines() == [
        "panyu-core: pushed (3 lines) [commit trial 300 s -> post-check: reachable, running config as intended "
        "-> commit]",
        "v1: restored (2 lines) [configuration commit delay 5 min -> post-check failed]: post-check failed: 1 line(s)"]
