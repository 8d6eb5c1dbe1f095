"""Shared by the benchmarks: run the real `egov` CLI against a given state dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def egov(state: str, *args: str, check: bool = True) -> tuple[float, str]:
    """Run `egov ARGS` with EGOV_STATE_DIR=state; returns (seconds, stdout); exits on failure."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "egov.cli", *args], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "EGOV_STATE_DIR": state})
    if check and r.returncode:
        raise SystemExit(f"egov {' '.join(args)} failed: {r.stderr.strip()}")
    return time.perf_counter() - t, r.stdout
