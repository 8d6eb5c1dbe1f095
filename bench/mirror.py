"""The lab's package mirror (issue 13): `egov lab mirror build` from nothing with a cold apt cache, again
with a warm cache (lists and .debs kept, index and signature rebuilt), and with nothing changed (cached);
size and package count.

Named baseline, same run: a bare `apt-get install --download-only` of the same top-level package set
into a private apt root (no closure listing, no machine-version pins, no index, no signature): the
floor of fetching the closure from the registry. Needs root and the Debian registry; no lab.
Usage: .venv/bin/python bench/mirror.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import egov

from egov.lab import mirror


def bare_download(state: str) -> float:
    m = mirror.Mirror(Path(state))
    env = m._apt_root()
    t0 = time.monotonic()
    subprocess.run(["apt-get", "-q", "update"], env=env, check=True, capture_output=True)
    names = sorted(set(mirror.wanted()) | m._essential())
    subprocess.run(["apt-get", "-q", "-y", "--download-only", "install", *names], env=env, check=True,
                   capture_output=True)
    return time.monotonic() - t0


def timed_build(state: str, *extra: str) -> tuple[float, dict]:
    seconds, stdout = egov(state, "lab", "mirror", "build", "--json", *extra)
    return seconds, json.loads(stdout)


def main() -> None:
    base_state = tempfile.mkdtemp(prefix="egov-bench-mirror-base-", dir="/var/lib")
    state = tempfile.mkdtemp(prefix="egov-bench-mirror-", dir="/var/lib")
    try:
        floor = bare_download(base_state)
        cold, b = timed_build(state)
        shutil.rmtree(Path(state) / "mirror" / "www")  # the repository gone, apt's lists and .debs kept
        warm, w = timed_build(state, "--force")
        noop, n = timed_build(state)
        print(f"baseline bare apt-get --download-only (cold): {floor:.1f} s")
        print(f"mirror build, cold apt cache: {cold:.1f} s (ratio to baseline {cold / floor:.2f}); "
              f"{b['downloaded']} .debs downloaded")
        print(f"mirror build, warm apt cache: {warm:.1f} s (ratio to cold {warm / cold:.2f}); "
              f"{w['downloaded']} downloaded")
        print(f"mirror build, nothing changed: {noop:.1f} s (cached={n['cached']})")
        print(f"mirror: {b['packages']} packages, {b['debs']} .debs, {b['bytes'] / 1e6:.1f} MB, {b['wheels']} wheels; "
              f"installed here at a version the registry lost: {len(b['not_in_registry'])}")
    finally:
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(base_state, ignore_errors=True)


if __name__ == "__main__":
    main()
