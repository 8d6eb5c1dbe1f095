"""The shared contract: the emulated devices on loopback, driven over SSH by netmiko's `huawei`,
`huawei_vrpv8` and `hp_comware` drivers and by a bare paramiko shell (a second client, nothing
of netmiko's prompt handling). Every dialect takes the production templates rendered for the
Panyu estate line for line, shows them back in `display current-configuration` so that egov's
plan against them is empty, and refuses a bad line with the production error."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
import pytest

from egov.core import topology
from egov.core.loader import load_estate
from egov.lab.devices.process import free_ports, start
from egov.network import platforms, render
from egov.network.plan import plan

ROOT = Path(__file__).resolve().parents[4]
USER, PASSWORD = "admin", "Emu-l4b-pass"
NETMIKO = {"vrp5": "huawei", "vrpv8": "huawei_vrpv8", "comware7": "hp_comware"}
PLATFORM = {"vrp5": "huawei_vrp", "vrpv8": "huawei_vrp", "comware7": "hp_comware"}
ROLES = {"core": "panyu-core", "city_uplink": "city-uplink", "town_aggregation": "shiqiao-agg",
         "village_access": "shiqiao-v001"}
PUSHES = [(d, role) for d in NETMIKO for role in ROLES]
SCRATCH = [f"scratch-{d}" for d in NETMIKO]
# netmiko's hp_comware turns the echo check off; with an error pattern it then waits 2 s after
# every line (read_channel_timing), 4 min for a village switch: check the echo instead
_VERIFY = {"vrp5": {}, "vrpv8": {}, "comware7": {"global_cmd_verify": True}}


class Emulator:
    """One `python -m egov.lab.devices` process on loopback."""

    def __init__(self, tmp: Path, devices: list[dict]):
        creds = tmp / "creds.json"
        creds.write_text(json.dumps({"username": USER, "password": PASSWORD}))
        os.chmod(creds, 0o600)
        for d, port in zip(devices, free_ports(len(devices))):
            d.setdefault("address", "127.0.0.1")
            d["port"] = port
        self.devices = {d.get("key", d["name"]): d for d in devices}
        self.saved = tmp / "saved"
        self.proc, self.start_seconds = start(
            "egov.lab.devices", {"credentials": str(creds), "saved": str(self.saved), "devices": devices},
            spec_path=tmp / "spec.json", cwd=ROOT)

    def netmiko(self, key: str, **kw):
        from netmiko import ConnectHandler

        d = self.devices[key]
        return ConnectHandler(device_type=NETMIKO[d["dialect"]], host="127.0.0.1", port=d["port"], username=USER,
                              password=PASSWORD, fast_cli=True, **_VERIFY[d["dialect"]], **kw)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def estate():
    return load_estate(ROOT / "estate" / "panyu")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory, estate):
    devices = [{"key": f"{d}/{role}", "name": dev, "dialect": d} for d, role in PUSHES for dev in [ROLES[role]]]
    devices += [{"key": name, "name": name, "dialect": name.split("-")[1], "time_scale": 0.01} for name in SCRATCH]
    emu = Emulator(tmp_path_factory.mktemp("emu"), devices)
    yield emu
    emu.stop()


def _rendered(estate, dialect: str, role: str) -> str:
    intent = topology.intents(estate)[ROLES[role]]
    return render.render_intent(intent, PLATFORM[dialect]).text


def _push(emu: Emulator, estate, dialect: str, role: str) -> dict:
    p = platforms.get(PLATFORM[dialect])
    text = _rendered(estate, dialect, role)
    lines = p.clean_running(text).splitlines()
    nm = emu.netmiko(f"{dialect}/{role}")
    try:
        out = nm.send_config_set(lines, error_pattern=p.error_pattern, read_timeout=60)
        if dialect == "vrpv8":
            out += nm.commit()
        running = nm.send_command(p.show_running, read_timeout=30)
        saved = nm.save_config()
    finally:
        nm.disconnect()
    return {"lines": lines, "out": out, "running": running, "saved": saved, "intended": text}


@pytest.fixture(scope="module")
def pushed(emulator, estate):
    """Every (dialect, role) pushed at once: netmiko's Huawei config-mode checks wait ~2 s each."""
    with ThreadPoolExecutor(len(PUSHES)) as ex:
        futs = {case: ex.submit(_push, emulator, estate, *case) for case in PUSHES}
        return {case: f.result() for case, f in futs.items()}


@pytest.mark.parametrize("dialect,role", PUSHES)
def test_production_template_is_taken_line_for_line_and_shown_back(pushed, dialect, role):
    r = pushed[(dialect, role)]
    p = platforms.get(PLATFORM[dialect])
    assert not [ln for ln in r["out"].splitlines() if re.search(p.error_pattern, ln)]
    assert p.clean_running(r["running"]).splitlines() == r["lines"]
    # hier_config's plan for HUAWEI_VRP / HP_COMWARE5 against what the device shows: nothing to do
    assert plan(ROLES[role], p.name, role, r["running"], r["intended"]).commands == []
    assert ("Save the configuration successfully" if dialect != "comware7" else "successfully") in r["saved"]


def test_saved_configuration_is_the_running_one_and_private(pushed, emulator):
    for name in ROLES.values():
        f = emulator.saved / f"{name}.cfg"
        assert f.exists() and f.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("dialect", list(NETMIKO))
def test_a_bad_line_is_refused_with_the_production_error_and_nothing_is_taken(emulator, dialect):
    from netmiko.exceptions import ConfigInvalidException

    p = platforms.get(PLATFORM[dialect])
    want = {"comware7": "% Unrecognized command found at '^' position."}.get(
        dialect, "Error: Unrecognized command found at '^' position.")
    nm = emulator.netmiko(f"scratch-{dialect}")
    try:
        with pytest.raises(ConfigInvalidException) as e:
            nm.send_config_set(["interface LoopBack7", " ip adress 10.9.9.9 255.255.255.255"],
                               error_pattern=re.escape(want), exit_config_mode=False)
        assert want in str(e.value) and re.search(p.error_pattern, want)
        if dialect == "vrpv8":
            nm.send_command("abort", expect_string=r"\]")
        nm.exit_config_mode()
        running = nm.send_command(p.show_running)
    finally:
        nm.disconnect()
    assert "10.9.9.9" not in running


def _shell(emu: Emulator, key: str) -> tuple[paramiko.SSHClient, paramiko.Channel]:
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=emu.devices[key]["port"], username=USER, password=PASSWORD,
              allow_agent=False, look_for_keys=False)
    ch = c.invoke_shell()
    ch.settimeout(5)
    return c, ch


def _until(ch: paramiko.Channel, end: str) -> str:
    buf = b""
    deadline = time.monotonic() + 5
    while not buf.decode(errors="replace").endswith(end) and time.monotonic() < deadline:
        try:
            buf += ch.recv(65536)
        except TimeoutError:
            break
    return buf.decode(errors="replace")


@pytest.mark.parametrize("dialect", list(NETMIKO))
def test_a_second_client_sees_the_device_s_prompts_echo_and_errors(emulator, dialect):
    name = f"scratch-{dialect}"
    c, ch = _shell(emulator, name)
    try:
        banner = _until(ch, f"<{name}>")
        assert ("VTY users" if dialect != "comware7" else "H3C") in banner
        ch.send("sys")
        assert _until(ch, "sys") .endswith("sys")  # echoed as typed, before the line ends
        ch.send("tem-view\r")
        sysv = "[~" + name + "]" if dialect == "vrpv8" else f"[{name}]"
        assert _until(ch, sysv).endswith(sysv)
        ch.send("interface GigabitEthernet1/0/3\r")
        sub = f"{name}-GigabitEthernet1/0/3]"
        assert _until(ch, sub).endswith(sub)
        ch.send("frobnicate\r")
        out = _until(ch, sub)
        msg = "% Unrecognized command" if dialect == "comware7" else "Error: Unrecognized command"
        assert msg in out and "^" in out
        ch.send("description 政务外网\r")
        shown = _until(ch, sub)
        assert "Error" not in shown and "%" not in shown
        if dialect == "vrpv8":
            assert f"[*{name}-GigabitEthernet1/0/3]" in shown
            ch.send("return\r")
            assert "[Y(yes)/N(no)/C(cancel)]:" in _until(ch, "[Y(yes)/N(no)/C(cancel)]:")
            ch.send("N\r")
            assert _until(ch, f"<{name}>").endswith(f"<{name}>")
    finally:
        c.close()


def test_vrpv8_trial_commit_over_ssh_reverts_when_the_session_is_gone(emulator):
    """egov dies after `commit trial`: the device goes back by itself (time_scale 0.01: 60 s -> 0.6 s)."""
    name = "scratch-vrpv8"
    c, ch = _shell(emulator, name)
    try:
        _until(ch, f"<{name}>")
        ch.send("system-view\rntp-service unicast-server 10.7.7.7\r")
        _until(ch, f"[*{name}]")
        ch.send("commit trial 60\r")
        got = _until(ch, f"[~{name}]")
        assert "rolled back in 60 seconds" in got, got
        ch.send("display current-configuration\r")
        assert "10.7.7.7" in _until(ch, f"[~{name}]")
    finally:
        c.close()  # the session is gone without confirming
    time.sleep(1.5)
    c, ch = _shell(emulator, name)
    try:
        _until(ch, f"<{name}>")
        ch.send("display current-configuration\r")
        shown = _until(ch, f"return\r\n<{name}>")
        assert "10.7.7.7" not in shown and shown.rstrip().endswith(f"<{name}>")
    finally:
        c.close()


def test_three_hundred_devices_in_one_process(tmp_path):
    devs = [{"name": f"dev{i:03d}", "dialect": ("vrp5", "vrpv8", "comware7")[i % 3]} for i in range(300)]
    emu = Emulator(tmp_path, devs)
    try:
        for key in ("dev000", "dev299"):
            c, ch = _shell(emu, key)
            try:
                assert _until(ch, f"<{key}>").endswith(f"<{key}>")
            finally:
                c.close()
    finally:
        emu.stop()


@pytest.mark.parametrize("case,expect", [
    ("missing", "cannot start from {spec}: FileNotFoundError"),
    ("dialect", "cannot start from {spec}: ValueError: unknown dialect 'ios' (known: vrp5, vrpv8, comware7)"),
    ("port", "cannot start from {spec}: CannotListenError"),
])
def test_a_bad_spec_is_one_line_and_a_non_zero_exit(tmp_path, case, expect):
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"username": USER, "password": PASSWORD}))
    spec = tmp_path / "spec.json"
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    dev = {"name": "x", "address": "127.0.0.1", "port": free_ports(1)[0], "dialect": "vrp5"}
    if case == "dialect":
        dev["dialect"] = "ios"
    if case == "port":
        dev["port"] = busy.getsockname()[1]
    if case != "missing":
        spec.write_text(json.dumps({"credentials": str(creds), "devices": [dev]}))
    try:
        r = subprocess.run([sys.executable, "-m", "egov.lab.devices", str(spec)], cwd=ROOT, capture_output=True,
                           text=True, timeout=30)
    finally:
        busy.close()
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("egov.lab.devices: " + expect.format(spec=spec)), r.stderr
