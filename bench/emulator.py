"""The emulated VRP/Comware devices (egov/lab/devices): 300 in one process on loopback.

Targets (issue 12): start <= 2 s with RSS reported. Baseline, same run: fake-switches' own
Cisco 2960 core for the same number of devices in one process (egov/lab/switches.py, what the
lab runs today). Also printed: the floor of a whole-network read, bare concurrent SSH sessions
(paramiko, 20 threads) doing only `display current-configuration` on every device.

    .venv/bin/python bench/emulator.py [N]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from egov.lab.devices.process import free_ports, start  # noqa: E402

TARGET_START_S = 2.0
USER, PASSWORD = "admin", "bench-pass"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _read(port: int, name: str) -> int:
    import paramiko

    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=port, username=USER, password=PASSWORD, allow_agent=False, look_for_keys=False)
    ch = c.invoke_shell()
    buf = b""
    while not buf.endswith(f"<{name}>".encode()):
        buf += ch.recv(65536)
    ch.send("display current-configuration\r")
    buf = b""
    while not buf.endswith(f"return\r\n<{name}>".encode()):
        buf += ch.recv(65536)
    c.close()
    return len(buf)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        creds = tmp / "creds.json"
        creds.write_text(json.dumps({"username": USER, "password": PASSWORD}))
        os.chmod(creds, 0o600)
        ports = free_ports(n)
        dialects = ("vrp5", "vrpv8", "comware7")
        devs = [{"name": f"dev{i:03d}", "address": "127.0.0.1", "port": p, "dialect": dialects[i % 3]}
                for i, p in enumerate(ports)]
        emu, emu_s = start("egov.lab.devices", {"credentials": str(creds), "devices": devs},
                           spec_path=tmp / "emu.json", cwd=ROOT)
        emu_rss = _rss_mb(emu.pid)
        t = time.perf_counter()
        with ThreadPoolExecutor(20) as ex:
            list(ex.map(lambda d: _read(d["port"], d["name"]), devs))
        floor_s = time.perf_counter() - t
        emu.terminate()
        emu.wait()
        cisco = [{"name": f"sw{i:03d}", "address": "127.0.0.1", "port": p, "model": "cisco_2960_24TT_L"}
                 for i, p in enumerate(free_ports(n))]
        base, base_s = start("egov.lab.switches", {"credentials": str(creds), "switches": cisco},
                             spec_path=tmp / "cisco.json", cwd=ROOT)
        base_rss = _rss_mb(base.pid)
        base.terminate()
        base.wait()
    print(f"{n} emulated VRP/Comware devices in one process: start {emu_s:.2f} s (target {TARGET_START_S} s, "
          f"ratio {emu_s / TARGET_START_S:.2f}), RSS {emu_rss:.0f} MB")
    print(f"baseline, fake-switches' Cisco 2960 core x {n}: start {base_s:.2f} s, RSS {base_rss:.0f} MB "
          f"(emulator/baseline: start {emu_s / base_s:.2f}x, RSS {emu_rss / base_rss:.2f}x)")
    print(f"floor of a whole-network read: {n} bare SSH sessions (20 threads) doing only display "
          f"current-configuration: {floor_s:.2f} s")
    return 0 if emu_s <= TARGET_START_S else 1


if __name__ == "__main__":
    sys.exit(main())
