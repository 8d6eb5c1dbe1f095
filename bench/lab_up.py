"""Lab speed (issue 3): `egov lab up` of both sites and `crash` + `start` of one host.

Targets: lab up (8 hosts, packages installed) under 10 s; crash + start under 2 s.
Named baselines, same run:
  - lab up vs the kernel floor: the same number of bare network namespaces with a
    veth pair each, made by one `ip -batch` (no filesystems, no sshd, no SSH check);
  - crash + start vs a bare PID+mount namespace started and SIGKILLed (`unshare ... sleep`).
Needs root; leaves no lab behind.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, egov

from egov.core.loader import load_estate
from egov.lab import Lab

UP_TARGET, CRASH_TARGET = 10.0, 2.0


def floor(n: int) -> float:
    cmds = [f"netns add egovbench{i}" for i in range(n)]
    cmds += [f"link add b{i} netns egovbench0 type veth peer name eth0 netns egovbench{i}" for i in range(1, n)]
    t = time.perf_counter()
    subprocess.run(["ip", "-batch", "-"], input="\n".join(cmds) + "\n", text=True, check=True)
    took = time.perf_counter() - t
    subprocess.run(["ip", "-batch", "-"], input="".join(f"netns del egovbench{i}\n" for i in range(n)), text=True,
                   check=True)
    return took


def bare_pidns() -> float:
    t = time.perf_counter()
    p = subprocess.Popen(["unshare", "--pid", "--mount", "--fork", "--kill-child", "sleep", "60"])
    time.sleep(0.001)
    p.kill()
    p.wait()
    return time.perf_counter() - t


def main() -> int:
    if os.geteuid() != 0:
        print("bench/lab_up.py needs root")
        return 2
    state = tempfile.mkdtemp(prefix="egov-bench-")
    lab = Lab(load_estate(ROOT / "estate/panyu"), Path(state))
    n = len(lab.hosts)
    ups, reups, crashes_cli, crashes_api = [], [], [], []
    try:
        for _ in range(3):
            ups.append(egov(state, "lab", "up")[0])
            reups.append(egov(state, "lab", "up")[0])
            egov(state, "lab", "down")
        egov(state, "lab", "up")
        host = "dfs-db1"
        for _ in range(5):
            crashes_cli.append(egov(state, "lab", "crash", host)[0] + egov(state, "lab", "start", host)[0])
            t = time.perf_counter()
            lab.crash(host)
            lab.start(host)
            crashes_api.append(time.perf_counter() - t)
        lab.check_ssh([host])
    finally:
        egov(state, "lab", "down")
        subprocess.run(["rm", "-rf", state])
    base_up = min(floor(len(lab.namespaces())) for _ in range(3))
    base_crash = min(bare_pidns() for _ in range(5))
    up, crash = statistics.median(ups), statistics.median(crashes_cli)
    print(f"hosts: {n} (+ {len(lab.sites)} site routers, 1 controller)")
    print(
        f"egov lab up from nothing: median {up:.2f} s of {len(ups)} (min {min(ups):.2f})   target {UP_TARGET:.0f} s   "
        f"ratio to target {up / UP_TARGET:.2f}"
    )
    print(f"  baseline, kernel floor (bare netns + veth via ip -batch): {base_up:.3f} s   ratio {up / base_up:.0f}x")
    print(f"egov lab up, second run (no change): median {statistics.median(reups):.2f} s")
    print(f"crash + start {host} via two CLI calls: median {crash:.2f} s   target {CRASH_TARGET:.0f} s   "
          f"ratio to target {crash / CRASH_TARGET:.2f}")
    print(f"crash + start via the Lab API (no interpreter start-up): median {statistics.median(crashes_api):.3f} s")
    print(f"  baseline, bare PID+mount namespace start + SIGKILL: {base_crash:.3f} s   "
          f"ratio {statistics.median(crashes_api) / base_crash:.0f}x")
    ok = up < UP_TARGET and crash < CRASH_TARGET
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
