"""The hosts' minimal image (issue 13): `egov lab image build` from nothing, and from the cache.

Target: build from nothing <= 120 s. Named baseline, same run: a bare `mmdebstrap --variant=minbase
bookworm` into a directory (the same tool, registry and network with no packages of our own), so the
ratio shows what the cloud image's packages and egov's checks cost. The cached second call is
reported too. Needs root and the Debian registry; leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from common import egov

TARGET = 120.0


def bare_minbase(where: str) -> float:
    t = time.perf_counter()
    subprocess.run(["mmdebstrap", "--variant=minbase", "--mode=root", "--format=directory", "-q", "bookworm",
                    os.path.join(where, "rootfs"), "http://deb.debian.org/debian"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    if os.geteuid() != 0:
        print("bench/image_build.py needs root")
        return 2
    state, floor_dir = tempfile.mkdtemp(prefix="egov-bench-"), tempfile.mkdtemp(prefix="egov-bench-")
    try:
        built, doc = egov(state, "lab", "image", "build", "--json")
        cached, _ = egov(state, "lab", "image", "build", "--json")
        base = bare_minbase(floor_dir)
        du = subprocess.run(["du", "-sm", json.loads(doc)["rootfs"]], capture_output=True, text=True).stdout.split()[0]
    finally:
        subprocess.run(["rm", "-rf", state, floor_dir])
    n = json.loads(doc)["installed"]
    print(f"egov lab image build from nothing: {built:.1f} s ({n} packages, {du} MB)   target {TARGET:.0f} s   "
          f"ratio to target {built / TARGET:.2f}")
    print(f"  baseline, bare mmdebstrap --variant=minbase bookworm: {base:.1f} s   ratio {built / base:.2f}x")
    print(f"egov lab image build, cached: {cached:.2f} s")
    ok = built <= TARGET
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
