"""Validate and summarise a generated 10,000-device estate through the real CLI.

Target: under 5 s wall clock for `egov show --json`, which loads, validates
every rule and summarises (issue 2); `egov validate` is timed too. Baseline, same run: PyYAML's safe_load
of the same files with libyaml (parse only; no model, no rules, no summary).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from egov.core.scaffold import synthetic, write

TARGET_S = 5.0
DEVICES = 10_000


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "synthetic"
        write(synthetic(DEVICES), root)

        def cli(*args):
            r = subprocess.run([sys.executable, "-m", "egov.cli", "--estate", str(root), *args],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"egov {' '.join(args)} failed: {r.stderr.strip()}")
            return r.stdout

        out = cli("validate", "--json")
        assert f'"devices": {DEVICES}' in out, out

        def baseline():
            for f in sorted(root.glob("*.yaml")):
                yaml.load(f.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)

        base = min(timed(baseline) for _ in range(3))
        validate = min(timed(lambda: cli("validate")) for _ in range(3))
        show = min(timed(lambda: cli("show", "--json")) for _ in range(3))
    total = show  # `egov show` validates the estate, then summarises it: both, in one process
    print(f"estate: {DEVICES} network devices (generated)")
    print(f"baseline yaml.safe_load (libyaml) of the same files: {base:.2f} s")
    print(f"egov validate: {validate:.2f} s   egov show --json: {show:.2f} s   (each best of 3, whole process)")
    print(
        f"validate and summarise (egov show --json): {total:.2f} s   target {TARGET_S:.1f} s   "
        f"ratio to target {total / TARGET_S:.2f}   "
        f"ratio to baseline {total / base:.2f}x"
    )
    ok = total < TARGET_S
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
