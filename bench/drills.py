"""Drill timings against the estate's DR targets (issue 6): each scenario run N times (default 5) on
one lab with `egov drill run --repeat N` (the fault at a random phase each run): N, median, p95, max.

Targets (estate/panyu/sites.yaml, dr): unplanned failover RTO to first accepted write <= 5 s and to
all apps healthy <= 30 s; planned switchover write interruption <= 3 s. Baseline for the same
measurement: the target itself (ratio printed) and, for the unplanned failover,
bench/failover_vs_patroni.py (Patroni + etcd witness in the same lab). Needs root.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from common import egov

SCENARIOS = ["planned-migration", "site-loss", "link-cut", "standby-loss", "db-host-loss", "app-host-loss"]


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    state = tempfile.mkdtemp(prefix="egov-bench-drills-")
    rows: list[tuple[str, dict, float | None]] = []
    lost = 0
    ok = True
    try:
        egov(state, "up")
        for scenario in SCENARIOS:
            # N runs, the fault at a random phase each time; the summary is egov's own (N, median, p95, max)
            _, out = egov(state, "drill", "run", scenario, "--repeat", str(runs), "--json", check=False)
            doc = json.loads(out)
            if doc.get("result") == "refused":
                print(f"{scenario}: refused: {doc['error']}")
                ok = False
                continue
            lost += doc["figures"]["RPO: acknowledged writes lost"]["max"] or 0
            limits = {}
            for r in doc["runs"]:
                rep = json.loads(open(r["report"].replace(".html", ".json")).read())
                limits |= {c["name"] + " (s)": c.get("limit_s") for c in rep["checks"] if c.get("timed")}
            for name, f in doc["figures"].items():
                rows.append((f"{scenario}: {name}", f, limits.get(name)))
    finally:
        egov(state, "lab", "down", check=False)
        subprocess.run(["rm", "-rf", state])
    ok &= lost == 0
    for key, f, limit in rows:
        if f["median"] is None:
            print(f"{key:75s} never measured in {f['n']} runs")
            ok = False
            continue
        line = (f"{key:75s} N {f['measured']}/{f['n']}  median {f['median']:6.2f}  p95 {f['p95']:6.2f}  "
                f"max {f['max']:6.2f}")
        if limit:
            ok &= f["max"] <= limit
            line += f"  target {limit:g} s  ratio (median/target) {f['median'] / limit:.2f}"
        print(line)
    print(f"acknowledged writes lost over all runs: {lost}")
    print("PASS" if ok else "FAIL (a worst case over its target, or a figure never measured)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
