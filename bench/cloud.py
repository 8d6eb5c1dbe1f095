"""Cloud speed targets (issue 7), on the embedded OpenStack; run as root with no lab up:

    python bench/cloud.py [--state /var/lib/egov-bench-cloud]

Measures, in one run: `egov cloud up` from nothing (target 300 s) and again (a no-op), then
`egov up --cloud embedded` (servers through nova, playbooks, apps, verify). Then `egov cloud plan` of the whole estate
(target 10 s) against the baseline of the bare openstacksdk reads it needs (connect + list the
tagged projects, networks, ports, security groups and servers), and a no-op `egov cloud apply`
(must change nothing). Prints each figure and its ratio to target or baseline.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def egov(state, *args, check=True):
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "egov.cli", *args], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "EGOV_STATE_DIR": str(state)})
    if check and r.returncode:
        raise SystemExit(f"egov {' '.join(args)} failed: {r.stderr.strip()}")
    return time.monotonic() - t, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", default="/var/lib/egov-bench-cloud")
    state = Path(ap.parse_args().state)
    rows = []
    try:
        egov(state, "lab", "down", check=False)
        t_up, _ = egov(state, "cloud", "up")
        rows.append(("cloud up, from nothing (packages installed)", t_up, 300, f"{t_up / 300:.2f} of target"))
        t_noop, r = egov(state, "cloud", "up")
        assert "nothing to change" in r.stdout, r.stdout
        rows.append(("cloud up again (no-op)", t_noop, "", ""))
        t_all, _ = egov(state, "up", "--cloud", "embedded")
        rows.append(("egov up --cloud embedded (cloud already up)", t_all, "", ""))
        t_plan, r = egov(state, "cloud", "plan", "--without-volumes", "--json")
        summary = json.loads(r.stdout)["clouds"]["egov-embedded"]["summary"]
        t0 = time.monotonic()
        from egov.cloud.embedded import Embedded

        conn = Embedded(state).connection()
        for lister in (conn.identity.projects, conn.network.networks, conn.network.ports,
                       conn.network.security_groups):
            list(lister(tags="egov:panyu"))
        list(conn.compute.servers(all_projects=True, details=True))
        base = time.monotonic() - t0
        rows.append(("cloud plan, whole estate " + str(summary), t_plan, 10, f"{t_plan / 10:.2f} of target; "
                     f"{t_plan / base:.1f}x the bare sdk reads ({base:.2f}s)"))
        t_apply, r = egov(state, "cloud", "apply", "--without-volumes")
        assert "nothing to change" in r.stdout, r.stdout
        rows.append(("cloud apply, no-op (changed nothing)", t_apply, "", ""))
    finally:
        egov(state, "lab", "down", check=False)
    for name, secs, target, ratio in rows:
        print(f"{name:<58} {secs:7.1f}s  {('target ' + str(target) + 's') if target else '':<12} {ratio}")


if __name__ == "__main__":
    main()
