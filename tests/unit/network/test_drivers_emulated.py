"""egov's own driver and push engine against the emulated VRP5 / VRPv8 / Comware 7 devices on
loopback (egov/lab/devices): a whole-device push commits on VRPv8, safe commit (VRPv8 `commit
trial` -> post-check -> `commit`; Comware `configuration commit delay` -> post-check ->
`configuration commit`) with its steps in the outcome, a refused line aborts the VRPv8 candidate,
and a trial egov never confirms is reverted by the device itself."""

from __future__ import annotations

import time
from pathlib import Path

import paramiko
import pytest

from egov.core import topology
from egov.core.loader import load_estate
from egov.network import drivers, platforms, push, render
from egov.network.backups import BackupStore
from egov.network.drivers import Conn
from egov.network.fleet import NetDevice
from tests.unit.lab.devices.test_server import PASSWORD, USER, Emulator

ROOT = Path(__file__).resolve().parents[3]
# (emulated device name, dialect, estate device whose production template it gets, model)
CASES = {"vrpv8": ("panyu-core", "CE12808"), "comware7": ("shiqiao-v001", "S5130S-28S"),
         "vrp5": ("shiqiao-agg", "AR6280")}
PLATFORM = {"vrp5": "huawei_vrp", "vrpv8": "huawei_vrp", "comware7": "hp_comware"}
SCRATCH = {f"s-{d}": d for d in CASES}


@pytest.fixture(scope="module")
def estate():
    return load_estate(ROOT / "estate" / "panyu")


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    devices = [{"key": f"push-{d}", "name": name, "dialect": d} for d, (name, _) in CASES.items()]
    devices += [{"key": k, "name": k, "dialect": d, "time_scale": 0.01} for k, d in SCRATCH.items()]
    tmp = tmp_path_factory.mktemp("emu")
    e = Emulator(tmp, devices)
    known = tmp / "known_hosts"
    keys = paramiko.HostKeys()
    for d in e.devices.values():
        t = paramiko.Transport(("127.0.0.1", d["port"]))
        t.start_client(timeout=10)
        k = t.get_remote_server_key()
        t.close()
        keys.add(f"[127.0.0.1]:{d['port']}", k.get_name(), k)
    keys.save(str(known))
    e.known_hosts = known
    yield e
    e.stop()


def _conn(emu, key: str) -> Conn:
    d = emu.devices[key]
    model = CASES[d["dialect"]][1]
    plat = PLATFORM[d["dialect"]]
    return Conn(d["name"], "127.0.0.1", platforms.get(plat), USER, password=PASSWORD, known_hosts=emu.known_hosts,
                port=d["port"], commit=platforms.commit_mode(plat, model))


def test_commit_mode_follows_the_model():
    assert platforms.commit_mode("huawei_vrp", "CE12808") == "trial"
    assert platforms.commit_mode("huawei_vrp", "NE40E-X8") == "trial"
    assert platforms.commit_mode("huawei_vrp", "AR6280") == ""
    assert platforms.commit_mode("hp_comware", "S5130S-28S") == "delay"
    assert platforms.commit_mode("cisco_ios", None) == ""


@pytest.mark.parametrize("dialect", list(CASES))
def test_a_whole_device_push_commits_safely_and_converges(emu, estate, tmp_path, dialect):
    name, _ = CASES[dialect]
    conn = _conn(emu, f"push-{dialect}")
    intent = topology.intents(estate)[name]
    text = render.render_intent(intent, PLATFORM[dialect]).text
    nd = NetDevice(name, str(intent.device.role), "core", None, PLATFORM[dialect], conn, text)
    bs = BackupStore(tmp_path, "panyu").new("test")
    t0 = time.monotonic()
    o = push.push_device(nd, backup=bs, connect=drivers.connect, run_dir=tmp_path)
    secs = time.monotonic() - t0
    assert o.status == "pushed", (o.error, o.steps)
    assert o.commands > 20
    if dialect == "vrpv8":
        assert o.steps == [f"commit trial {push.TRIAL_SECONDS} s", "post-check: reachable, running config as intended",
                           "commit"]
    elif dialect == "comware7":
        assert o.steps == [f"configuration commit delay {push.TRIAL_SECONDS // 60} min",
                           "post-check: reachable, running config as intended", "configuration commit"]
    else:
        assert o.steps == []  # VRP5: backup and restore only
    drv = drivers.connect(conn)
    try:
        assert not push.plan(name, PLATFORM[dialect], nd.role, drv.running(), text).changed
        if dialect == "vrpv8":  # committed for good: no trial left to revert it
            assert "trial" not in drv.cli("display configuration commit list").split("\n")[-2]
    finally:
        drv.close()
    # no per-line waits, no config-mode checks: well under netmiko's ~2 s per line / per check
    assert secs < 0.25 * o.commands + 15, secs


@pytest.mark.parametrize("dialect", ["vrpv8", "comware7"])
def test_a_trial_never_confirmed_is_reverted_by_the_device(emu, dialect):
    """egov dies after the trial (its session is gone): time_scale 0.01, so 60 s -> 0.6 s."""
    key = f"s-{dialect}"
    drv = drivers.connect(_conn(emu, key))
    try:
        drv.apply(["ntp-service unicast-server 10.7.7.7"], trial=60)
        assert drv.pending
        assert "10.7.7.7" in drv.running()
    finally:
        drv.nm.remote_conn.close()  # killed: no confirm, no logout
        drv.nm = None
    time.sleep(1.5)
    drv = drivers.connect(_conn(emu, key))
    try:
        assert "10.7.7.7" not in drv.running()
    finally:
        drv.close()


@pytest.mark.parametrize("dialect", ["vrpv8", "comware7"])
def test_a_confirmed_trial_stays(emu, dialect):
    key = f"s-{dialect}"
    drv = drivers.connect(_conn(emu, key))
    try:
        drv.apply(["ntp-service unicast-server 10.8.8.8"], trial=60)
        assert drv.confirm() == ("commit" if dialect == "vrpv8" else "configuration commit")
        assert not drv.pending
    finally:
        drv.close()
    time.sleep(1.5)
    drv = drivers.connect(_conn(emu, key))
    try:
        assert "10.8.8.8" in drv.running()
        drv.apply(["undo ntp-service unicast-server 10.8.8.8"])
        assert "10.8.8.8" not in drv.running()
    finally:
        drv.close()


def test_vrpv8_a_line_refused_halfway_aborts_the_candidate(emu):
    drv = drivers.connect(_conn(emu, "s-vrpv8"))
    try:
        before = drv.cli("display configuration commit list")
        with pytest.raises(drivers.CommandRejected) as ei:
            drv.apply(["ntp-service unicast-server 10.9.9.9", "frobnicate the network", "sysname other"], trial=60)
        msg = str(ei.value)
        assert msg.startswith("s-vrpv8: rejected `frobnicate the network`: Error:") and "\n" not in msg, msg
        assert not drv.pending
        assert "10.9.9.9" not in drv.running()
        assert drv.cli("display configuration commit list") == before  # nothing committed
        assert "sysname other" not in drv.running()  # the line after the refused one was never sent
    finally:
        drv.close()


def test_a_failed_post_check_takes_the_trial_back(emu, tmp_path, monkeypatch):
    """The change is taken but the post-check sees a difference: `abort trial`, then the restore."""
    conn = _conn(emu, "s-vrpv8")
    drv = drivers.connect(conn)
    running = drv.running()
    drv.close()
    intended = running.rstrip().removesuffix("return").rstrip() + "\n#\nntp-service unicast-server 10.6.6.6\n"
    real = push._converged
    calls = []

    def lying(d, nd, target):  # the first post-check still sees one line missing
        r, p = real(d, nd, target)
        calls.append(1)
        if len(calls) == 1:
            p = push.DevicePlan(p.device, p.platform, p.role, ["ntp-service unicast-server 10.5.5.5"], [])
        return r, p

    monkeypatch.setattr(push, "_converged", lying)
    nd = NetDevice("s-vrpv8", "core", "core", None, "huawei_vrp", conn, intended)
    o = push.push_device(nd, backup=BackupStore(tmp_path, "panyu").new("t"), connect=drivers.connect, run_dir=None)
    assert o.status == "restored", (o.error, o.restore)
    assert o.steps[0].startswith("commit trial") and o.steps[-1] == "abort trial", o.steps
    assert o.error.startswith("post-check failed")
    drv = drivers.connect(conn)
    try:
        assert "10.6.6.6" not in drv.running()
    finally:
        drv.close()


def test_a_line_that_asks_a_question_is_answered_no_and_refused(emu):
    """A Y/N question in the middle of a change (here VRP's `save` typed in system view) is not
    taken as a prompt to type the next line into: egov says no and the line counts as refused."""
    drv = drivers.connect(_conn(emu, "s-vrp5"))
    try:
        with pytest.raises(drivers.CommandRejected) as ei:
            drv.apply(["save", "ntp-service unicast-server 10.4.4.4"])
        assert "asked" in str(ei.value) and "[Y/N]" in str(ei.value), str(ei.value)
        assert "10.4.4.4" not in drv.running()  # the session is back in user view and usable
    finally:
        drv.close()


@pytest.mark.parametrize("dialect", list(CASES))
def test_wrong_credentials_are_one_line_naming_the_device(emu, dialect):
    import dataclasses

    conn = dataclasses.replace(_conn(emu, f"s-{dialect}"), password="not-the-password")
    with pytest.raises(drivers.AuthFailed) as e:
        drivers.connect(conn)
    assert str(e.value) == (f"s-{dialect}: login refused at 127.0.0.1:{conn.port} "
                            f"(wrong credentials for user {USER!r})")


@pytest.mark.parametrize("dialect", list(CASES))
def test_a_device_whose_prompt_changed_is_pushed_back_to_its_name(emu, estate, tmp_path, dialect):
    """Someone mistyped the sysname on the device: its prompt is no longer the name egov knows.
    egov logs in all the same (the prompt is read, not assumed), plans the sysname back, pushes
    it and converges; only that device is touched."""
    key = f"s-{dialect}"
    conn = _conn(emu, key)
    drv = drivers.connect(conn)
    try:
        drv.apply([f"sysname {key}-tpyo"])
        if dialect == "vrpv8":
            drv.confirm()
        assert f"sysname {key}-tpyo" in drv.running()
    finally:
        drv.close()
    text = f"sysname {key}\n"
    nd = NetDevice(key, "village_access", "villages", None, PLATFORM[dialect], conn, text)
    o = push.push_device(nd, backup=BackupStore(tmp_path, "panyu").new("typo"), connect=drivers.connect,
                         run_dir=tmp_path)
    assert o.status == "pushed", (o.error, o.steps)
    drv = drivers.connect(conn)
    try:
        running = drv.running()
        assert f"sysname {key}\n" in running.replace("\r", "") and "tpyo" not in running
    finally:
        drv.close()
