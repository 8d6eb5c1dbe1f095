"""`egov up` on the lab (issue 4): from an empty lab, and again with nothing to change.

Targets: from empty (packages installed) under 180 s; a second run under 60 s.
Named baseline, same run: one Ansible module round (`ping`) over the same hosts through
ansible-runner: the floor any Ansible-based build pays per task.
Needs root; leaves no lab behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, egov

FRESH_TARGET, AGAIN_TARGET = 180.0, 60.0


def ping_round(state: str) -> float:
    import ansible_runner

    from egov.core.loader import load_estate
    from egov.hosts.build import make_inventory
    from egov.target import resolve

    e = load_estate(ROOT / "estate/panyu")
    target = resolve(e, Path(state))
    inv = make_inventory(e, target, Path(state))
    target.enter()
    pdd = Path(state) / "bench-ansible"
    pdd.mkdir(exist_ok=True)
    env = {"ANSIBLE_SSH_ARGS": " ".join(target.ssh_args() + ["-o", "ControlMaster=auto", "-o", "ControlPersist=60s"]),
           "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_PIPELINING": "True"}
    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    ansible_runner.run(
        private_data_dir=str(pdd), host_pattern="all", module="ping", inventory=inv, envvars=env, quiet=True
    )
    t = time.perf_counter()
    r = ansible_runner.run(private_data_dir=str(pdd), host_pattern="all", module="ping", inventory=inv, envvars=env,
                           quiet=True)
    took = time.perf_counter() - t
    if r.rc != 0:
        raise SystemExit("baseline ping round failed")
    return took


def main() -> int:
    if os.geteuid() != 0:
        print("bench/egov_up.py needs root")
        return 2
    state = tempfile.mkdtemp(prefix="egov-bench-up-")
    try:
        fresh = egov(state, "up")[0]
        again = egov(state, "up")[0]
        ping = ping_round(state)
    finally:
        egov(state, "lab", "down")
        subprocess.run(["rm", "-rf", state])
    print(f"egov up from an empty lab (8 hosts, 4 databases seeded, 4 apps on 4 hosts, verify): {fresh:.1f} s   "
          f"target {FRESH_TARGET:.0f} s   ratio to target {fresh / FRESH_TARGET:.2f}")
    print(
        f"egov up again, nothing to change: {again:.1f} s   target {AGAIN_TARGET:.0f} s   ratio to "
        f"target {again / AGAIN_TARGET:.2f}"
    )
    print(f"  baseline, one Ansible module round (ping) over the same hosts: {ping:.2f} s   "
          f"second run = {again / ping:.1f} rounds, fresh run = {fresh / ping:.1f} rounds")
    ok = fresh < FRESH_TARGET and again < AGAIN_TARGET
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
