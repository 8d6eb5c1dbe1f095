"""Network push speed (issue 5), on the lab's real network (21 FRR routers, 272 emulated switches).

Measured in one run, each from the same factory state (the lab's network restarted empty):
  1. `egov net push` of the whole network (plan, canary, waves, backup, apply, post-check, save);
  2. nornir + nornir_netmiko, 20 threaded workers, the usual script: per device show run
     (backup), send the rendered config, show run (check), save;
  3. a sequential netmiko loop doing the same (on a sample of devices, extrapolated);
  4. a no-op `egov net plan` + `egov net push` of the whole network (nothing to change).
Every run must leave the network converged (`egov net plan` reports 0 changes) or it does not count.
Targets: egov's full push at least 2x faster than nornir-netmiko; no-op plan + push under 15 s.
Needs root; leaves no lab behind.  Usage: bench/net_push.py [sequential sample, default 40]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, egov

sys.path.insert(0, str(ROOT))

from egov.core.loader import load_estate  # noqa: E402
from egov.lab import Lab, enter_controller  # noqa: E402
from egov.network import fleet  # noqa: E402

FACTOR_TARGET, NOOP_TARGET = 2.0, 15.0


def reset(state: str) -> None:
    """The lab's network back to factory state: daemons stopped, saved configs wiped, lab up."""
    Lab(load_estate(ROOT / "estate" / "panyu"), Path(state)).network.factory_reset()
    egov(state, "lab", "up")
    time.sleep(1)


def changed(state: str) -> int:
    return json.loads(egov(state, "net", "plan", "--json", check=False)[1])["changed"]


def lines(d: fleet.NetDevice) -> list[str]:
    return [ln for ln in d.intended.splitlines() if ln.strip() not in ("!", "#", "")]


def netmiko_kwargs(d: fleet.NetDevice) -> dict:
    c = d.conn
    kw = dict(device_type=c.platform.netmiko, host=c.host, username=c.username, ssh_strict=True,
              system_host_keys=False, alt_host_keys=True, alt_key_file=str(c.known_hosts), allow_agent=False)
    if c.key_file:
        kw |= dict(use_keys=True, key_file=str(c.key_file), password="")
    else:
        kw |= dict(password=c.password, secret=c.password)
    return kw


def sequential(devs: dict[str, fleet.NetDevice], sample: int) -> float:
    from netmiko import ConnectHandler

    pick = list(devs.values())
    step = max(1, len(pick) // sample)
    pick = pick[::step][:sample]
    t = time.perf_counter()
    for d in pick:
        c = ConnectHandler(**netmiko_kwargs(d))
        if d.conn.platform.enable:
            c.enable()
        c.send_command(d.conn.platform.show_running)
        c.send_config_set(lines(d))
        c.send_command(d.conn.platform.show_running)
        c.save_config()
        c.disconnect()
    per = (time.perf_counter() - t) / len(pick)
    return per * len(devs)


def nornir_push(devs: dict[str, fleet.NetDevice]) -> float:
    from nornir.core import Nornir
    from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
    from nornir_netmiko.tasks import netmiko_save_config, netmiko_send_command, netmiko_send_config

    hosts = Hosts()
    for d in devs.values():
        kw = netmiko_kwargs(d)
        extras = {k: v for k, v in kw.items() if k not in ("device_type", "host", "username", "password")}
        hosts[d.id] = Host(
            d.id,
            hostname=d.conn.host,
            username=d.conn.username,
            password=kw.get("password"),
            platform=d.conn.platform.netmiko,
            data={"lines": lines(d), "show": d.conn.platform.show_running},
            connection_options={"netmiko": ConnectionOptions(extras=extras)},
        )
    from nornir.core.plugins.connections import ConnectionPluginRegister
    from nornir.plugins.runners import ThreadedRunner

    ConnectionPluginRegister.auto_register()  # nornir_netmiko's "netmiko" connection, by entry point
    nr = Nornir(inventory=Inventory(hosts=hosts, groups=Groups(), defaults=Defaults()),
                runner=ThreadedRunner(num_workers=20))

    def task(t):
        t.run(task=netmiko_send_command, command_string=t.host["show"], enable=True)
        t.run(task=netmiko_send_config, config_commands=t.host["lines"], enable=True)
        t.run(task=netmiko_send_command, command_string=t.host["show"], enable=True)
        t.run(task=netmiko_save_config)

    t0 = time.perf_counter()
    res = nr.run(task=task)
    took = time.perf_counter() - t0
    if res.failed:
        first = next(iter(res.failed_hosts.items()))
        raise SystemExit(f"nornir push failed on {len(res.failed_hosts)} hosts; first {first[0]}: {first[1].exception}")
    nr.close_connections()
    return took


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit("bench/net_push.py needs root")
    sample = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    state = tempfile.mkdtemp(prefix="egov-bench-net-")
    try:
        egov(state, "lab", "up")
        estate = load_estate(ROOT / "estate" / "panyu")
        target = fleet.resolve_target(estate, Path(state))
        devs = fleet.devices(estate, Path(state), target)
        n = len(devs)

        reset(state)
        t_egov = egov(state, "net", "push")[0]
        assert changed(state) == 0, "egov's push did not converge the network"
        t_plan = egov(state, "net", "plan")[0]
        t_noop = egov(state, "net", "push")[0]
        print(f"egov: full push {t_egov:.1f} s; no-op plan {t_plan:.1f} s + push {t_noop:.1f} s", flush=True)

        reset(state)
        enter_controller()  # the baselines run in this process, from the lab's controller
        t_nornir = nornir_push(devs)
        print(f"nornir + nornir_netmiko: {t_nornir:.1f} s", flush=True)
        assert changed(state) == 0, "the nornir push did not converge the network"

        reset(state)
        t_seq = sequential(devs, sample)
    finally:
        egov(state, "lab", "down", check=False)
        os.system(f"rm -rf {state}")

    print(f"full push, {n} devices from factory state:")
    print(f"  egov net push:                     {t_egov:6.1f} s")
    print(f"  nornir + nornir_netmiko, 20 workers: {t_nornir:6.1f} s   egov is {t_nornir / t_egov:.2f}x faster "
          f"(target >= {FACTOR_TARGET:.0f}x)")
    print(f"  sequential netmiko loop:           {t_seq:6.1f} s   (extrapolated from {sample} devices)  "
          f"egov is {t_seq / t_egov:.2f}x faster")
    total = t_plan + t_noop
    print(f"no-op: egov net plan {t_plan:.1f} s + egov net push {t_noop:.1f} s = {total:.1f} s   "
          f"target {NOOP_TARGET:.0f} s, ratio {total / NOOP_TARGET:.2f}")


if __name__ == "__main__":
    main()
