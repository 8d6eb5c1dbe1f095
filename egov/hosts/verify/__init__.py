"""`egov verify`: pytest-testinfra suites run against every host of the estate.

What to check lives in `suites/` (one module per concern: baseline, postgresql, apps,
lb), each naming the hosts it applies to from the estate (`expect.py`); how to reach a
host is testinfra's `ssh://` backend with the target's ssh_config (and its known_hosts),
multiplexed. The same suites run against real hosts: only the target differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from egov.core.errors import EgovError
from egov.core.model import Estate
from egov.target import Target

SUITES = Path(__file__).resolve().parent / "suites"


def run(estate: Estate, target: Target, state_dir: Path, *, progress: Callable[[str], None] = lambda m: None,
        suites: list[str] | None = None) -> dict:
    with tempfile.NamedTemporaryFile(prefix="egov-verify-", suffix=".jsonl", delete=False) as f:
        report_path = Path(f.name)
    ssh_config = target.mux_config(state_dir)  # one SSH connection per host for all its checks
    env = {**os.environ, "EGOV_ESTATE": estate.source, "EGOV_STATE_DIR": str(state_dir),
           "EGOV_VERIFY_REPORT": str(report_path),
           "EGOV_VERIFY_TARGET": target.name, "EGOV_VERIFY_ADMIN_CIDRS": ",".join(target.admin_cidrs)}
    paths = [str(SUITES / f"test_{s}.py") for s in suites] if suites else [str(SUITES)]
    workers = max(1, min(8, sum(1 for _ in estate.hosts())))  # checks wait on SSH round trips, not CPU
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *paths,
        "-q",
        "-n",
        str(workers),
        "-p",
        "egov.hosts.verify.plugin",
        "-p",
        "no:cacheprovider",
        "--ssh-config",
        str(ssh_config),
        "--rootdir",
        str(SUITES),
        "-o",
        "addopts=",
        "-o",
        "python_files=test_*.py",
    ]
    target.enter()
    t0 = time.monotonic()
    progress("running suites")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=SUITES)
    results = [json.loads(line) for line in report_path.read_text().splitlines() if line.strip()]
    report_path.unlink(missing_ok=True)
    if proc.returncode not in (0, 1) or not results:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise EgovError(f"verify could not run its suites (pytest exit {proc.returncode}): {' | '.join(tail)}")
    passed = sum(r["outcome"] == "passed" for r in results)
    return {"passed": passed, "failed": len(results) - passed, "seconds": round(time.monotonic() - t0, 1),
            "target": target.name, "estate": estate.meta.name, "results": results}
