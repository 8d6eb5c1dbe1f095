"""Drill timings against the estate's DR targets (issue 6), each scenario run N times on one lab.

Targets (estate/panyu/sites.yaml, dr): unplanned failover RTO to first accepted write <= 5 s and to
all apps healthy <= 30 s; planned switchover write interruption <= 3 s. Baseline for the same
measurement: the target itself (ratio printed) and, for the unplanned failover,
bench/failover_vs_patroni.py (Patroni + etcd witness in the same lab). Needs root.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile

from common import egov

SCENARIOS = ["planned-migration", "site-loss", "link-cut", "standby-loss", "db-host-loss", "app-host-loss"]


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    state = tempfile.mkdtemp(prefix="egov-bench-drills-")
    timed: dict[str, list[float]] = {}
    limits: dict[str, float] = {}
    lost = 0
    try:
        egov(state, "up")
        for scenario in SCENARIOS:
            for _ in range(runs):
                _, out = egov(state, "drill", "run", scenario, "--json", check=False)
                report = json.loads(out)
                lost += report["rpo"]["lost"] or 0
                for c in report["checks"]:
                    if c.get("timed") and c["seconds"] is not None:
                        key = f"{scenario}: {c['name']}"
                        timed.setdefault(key, []).append(c["seconds"])
                        limits[key] = c["limit_s"]
    finally:
        egov(state, "lab", "down", check=False)
        subprocess.run(["rm", "-rf", state])
    ok = lost == 0
    for key, values in timed.items():
        med, worst = statistics.median(values), max(values)
        if limits[key] is None:
            continue
        ok &= worst <= limits[key]
        print(f"{key:75s} median {med:6.2f} s  worst {worst:6.2f} s  target {limits[key]:g} s  "
              f"ratio (median/target) {med / limits[key]:.2f}")
    print(f"acknowledged writes lost over all runs: {lost}")
    print("PASS" if ok else "FAIL (a worst case over its target)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
