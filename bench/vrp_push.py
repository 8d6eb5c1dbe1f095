"""A whole-device push into the emulated devices (egov/lab/devices) on loopback, before/after the
prompt-read apply and safe commit in egov/network/drivers.py.

Baseline, same run: the apply egov used before (netmiko `send_config_set` with egov's error
pattern, `huawei` / `hp_comware` driver, netmiko's config-mode checks and logout), on a fresh
device of the same dialect. Each case is connect + apply of the Panyu production template +
close; "after" includes the safe-commit steps (VRPv8 commit trial -> post-check login and read ->
commit; Comware commit delay -> post-check -> configuration commit). Target: a village switch
(Comware, ~115 lines) well under netmiko's per-line cost, i.e. <= 10 s.

    .venv/bin/python bench/vrp_push.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from egov.core import topology  # noqa: E402
from egov.core.loader import load_estate  # noqa: E402
from egov.lab.devices.process import free_ports, start  # noqa: E402
from egov.network import drivers, platforms, push, render  # noqa: E402
from egov.network.backups import BackupStore  # noqa: E402
from egov.network.fleet import NetDevice  # noqa: E402

USER, PASSWORD = "admin", "bench-pass"
TARGET_VILLAGE_S = 10.0
CASES = [("comware7", "shiqiao-v001", "hp_comware", "S5130S-28S"),
         ("vrp5", "shiqiao-agg", "huawei_vrp", "AR6280"),
         ("vrpv8", "panyu-core", "huawei_vrp", "CE12808")]


def _known_hosts(ports, path: Path) -> None:
    import paramiko

    keys = paramiko.HostKeys()
    for port in ports:
        t = paramiko.Transport(("127.0.0.1", port))
        t.start_client(timeout=10)
        k = t.get_remote_server_key()
        t.close()
        keys.add(f"[127.0.0.1]:{port}", k.get_name(), k)
    keys.save(str(path))


def _before(port: int, plat: platforms.Platform, lines: list[str]) -> tuple[float, str]:
    from netmiko import ConnectHandler

    t = time.perf_counter()
    try:
        nm = ConnectHandler(device_type=plat.netmiko, host="127.0.0.1", port=port, username=USER, password=PASSWORD,
                            fast_cli=True, allow_agent=False)
        nm.send_config_set(lines, error_pattern=plat.error_pattern, read_timeout=30)
        nm.disconnect()
        return time.perf_counter() - t, "ok"
    except Exception as e:  # noqa: BLE001
        return time.perf_counter() - t, f"failed: {type(e).__name__}"


def main() -> int:
    estate = load_estate(ROOT / "estate" / "panyu")
    intents = topology.intents(estate)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        creds = tmp / "creds.json"
        creds.write_text(json.dumps({"username": USER, "password": PASSWORD}))
        os.chmod(creds, 0o600)
        ports = free_ports(2 * len(CASES))
        devs = []
        for i, (dialect, name, _, _) in enumerate(CASES):
            devs += [{"name": name, "dialect": dialect, "address": "127.0.0.1", "port": ports[2 * i]},
                     {"name": name, "dialect": dialect, "address": "127.0.0.1", "port": ports[2 * i + 1]}]
        emu, _ = start("egov.lab.devices", {"credentials": str(creds), "devices": devs}, spec_path=tmp / "spec.json",
                       cwd=ROOT)
        try:
            known = tmp / "known_hosts"
            _known_hosts(ports, known)
            rows = []
            for i, (dialect, name, pname, model) in enumerate(CASES):
                plat = platforms.get(pname)
                it = intents[name]
                text = render.render_intent(it, pname).text
                lines = plat.clean_running(text).splitlines()
                before_s, before_ok = _before(ports[2 * i], plat, lines)
                conn = drivers.Conn(name, "127.0.0.1", plat, USER, password=PASSWORD, known_hosts=known,
                                    port=ports[2 * i + 1], commit=platforms.commit_mode(pname, model))
                nd = NetDevice(name, str(it.device.role), "core", None, pname, conn, text)
                t = time.perf_counter()
                o = push.push_device(nd, backup=BackupStore(tmp, "panyu").new("bench"), connect=drivers.connect,
                                     run_dir=None)
                after_s = time.perf_counter() - t
                rows.append((dialect, name, len(lines), before_s, before_ok, after_s, o.status, o.commands))
        finally:
            emu.terminate()
            emu.wait()
    print("dialect   device         lines  before (netmiko send_config_set)   after (egov push_device, safe commit)")
    for dialect, name, n, bs, bok, a, st, cmds in rows:
        print(f"{dialect:<9} {name:<14} {n:>5}  {bs:7.1f} s {bok:<22}  {a:6.1f} s {st} ({cmds} lines), "
              f"{bs / a:.0f}x")
    village = next(r for r in rows if r[0] == "comware7")
    print(f"village switch (Comware): {village[5]:.1f} s, target {TARGET_VILLAGE_S} s, "
          f"ratio {village[5] / TARGET_VILLAGE_S:.2f}")
    return 0 if village[5] <= TARGET_VILLAGE_S and all(r[6] == "pushed" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
