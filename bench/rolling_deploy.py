"""Citizens' failed requests during a rolling deploy of all four applications (issue 19).

Target: 0 failed requests through the front while every app switches on every host, host by host,
drained from HAProxy first (`egov apps deploy`, the default). Baseline in the same run: the same
deploy with `--no-drain` (each host restarted while the front still sends it requests: what a
deploy did before draining). Load: a town client, HTTPS through the primary site's front, a 12345
ticket and a service-hall page in turn. Prints failed/total for both, the deploys' times and the
load's p50/p95 latency. Needs root (the lab).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, egov

sys.path.insert(0, str(ROOT))

from egov.core import secrets  # noqa: E402
from egov.core.loader import load_estate  # noqa: E402
from egov.lab import Lab, citizens  # noqa: E402


def _under_load(state: str, lab: Lab, ca, ports, *args: str) -> tuple[dict, float]:
    town = sorted(lab.network.clients)[0]
    load = citizens.start(lab.network.client_argv(town), str(lab.estate.primary_site.service_address), ca,
                          ports["hotline-12345"], ports["service-hall"])
    try:
        time.sleep(2)
        t, _ = egov(state, "apps", "deploy", *args)
        time.sleep(1)
    finally:
        seen = citizens.stop(load)
    return seen, t


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else float("nan")


def main() -> int:
    state = tempfile.mkdtemp(prefix="egov-bench-rolling-")
    e = load_estate(ROOT / "estate" / "panyu")
    ports = {a.id: a.tls_port for a in e.applications}
    try:
        egov(state, "up")
        lab = Lab.of(e, Path(state))
        ca = secrets.ca_file(lab.state_dir, e)
        base, tb = _under_load(state, lab, ca, ports, "--version", "9.0.0-nodrain", "--no-drain")
        drained, td = _under_load(state, lab, ca, ports, "--version", "9.0.1-drain")
    finally:
        egov(state, "lab", "down", check=False)
        subprocess.run(["rm", "-rf", state])
    for name, seen, t in (("--no-drain (baseline)", base, tb), ("drained (egov default)", drained, td)):
        lat = seen["latencies_ms"]
        print(f"{name:24s} failed {seen['failed']:4d} / {seen['total']:5d} requests "
              f"(ratio {seen['failed'] / max(seen['total'], 1):.4f}); deploy {t:5.1f} s; "
              f"latency p50 {_p(lat, 50):.1f} ms p95 {_p(lat, 95):.1f} ms")
        for x in seen["errors"][:5]:
            print(f"    {x}")
    print(f"deploy time drained / --no-drain: {td / tb:.2f}")
    ok = drained["failed"] == 0
    print("PASS" if ok else "FAIL (requests failed during a drained rolling deploy)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
