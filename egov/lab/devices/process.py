"""Starting an emulator process (`python -m egov.lab.devices` or `egov.lab.switches`) and
waiting for its `ready <n>` line; free loopback ports for emulators in tests and benches. No
twisted import here: the callers are the lab, the tests and the benches, not the reactor."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from egov.lab.netns import LabError


def free_ports(n: int, address: str = "127.0.0.1") -> list[int]:
    """`n` distinct TCP ports free on `address` now (bound together, then released)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind((address, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def start(module: str, spec: dict | Path, *, spec_path: Path | None = None, prefix: tuple[str, ...] = (),
          stderr=subprocess.PIPE, cwd: Path | None = None) -> tuple[subprocess.Popen, float]:
    """Start `python -m <module> <spec.json>` (behind `prefix`, e.g. `ip netns exec NS`) and wait
    for its `ready` line: (process, seconds it took). A dict spec is written to `spec_path` first.
    An emulator that says anything else is killed and named with what it printed."""
    if isinstance(spec, dict):
        if spec_path is None:
            raise ValueError("a dict spec needs spec_path")
        spec_path.write_text(json.dumps(spec, indent=1))
        spec = spec_path
    t = time.perf_counter()
    proc = subprocess.Popen([*prefix, sys.executable, "-m", module, str(spec)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=stderr, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    line = proc.stdout.readline() if proc.stdout else ""
    took = time.perf_counter() - t
    if not line.startswith("ready"):
        proc.kill()
        proc.wait()
        err = proc.stderr.read().strip() if stderr == subprocess.PIPE and proc.stderr else ""
        raise LabError(f"{module} did not start from {spec}: {(line.strip() or err or 'no output')[:300]}")
    return proc, took
