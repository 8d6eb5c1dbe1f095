"""Integration fixtures: one real lab per test session (needs root)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from egov.core.loader import load_estate
from egov.lab import Lab
from egov.lab.lab import OWNER
from egov.lab.netns import netns_list
from tests.conftest import PANYU, ROOT

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (CI runs as root)")


class EgovRunner:
    def __init__(self, state: Path, estate: Path = PANYU):
        self.state = state
        self.estate = estate

    def __call__(self, *args, check=True, timeout=300, env=None, user_cmd=None):
        argv = [sys.executable, "-m", "egov.cli", "--estate", str(self.estate), *map(str, args)]
        e = {**os.environ, "EGOV_STATE_DIR": str(self.state), **(env or {})}
        r = subprocess.run((user_cmd or []) + argv, capture_output=True, text=True, cwd=ROOT, env=e, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"egov {' '.join(map(str, args))} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r


@pytest.fixture(scope="session")
def lab_state():
    # under /var/lib on purpose: hosts overlay /var, so the lab must hide its own disks from them
    d = Path(f"/var/lib/egov-pytest-{uuid.uuid4().hex[:8]}")
    d.mkdir(parents=True)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def reap_leftover_lab() -> None:
    """Take down the lab that owns this machine's namespaces (through its own state dir, so its
    hosts' mounts go too), then kill and delete whatever egov namespace is still left."""
    try:
        state = Path(json.loads(OWNER.read_text())["lab_dir"]).parent
    except (OSError, ValueError, KeyError):
        state = None
    if state is not None and state.is_dir():
        r = EgovRunner(state)("lab", "down", check=False, timeout=600)
        print(f"took down the leftover lab of {state}: exit {r.returncode}", file=sys.stderr)
    for name in netns_list("egov-"):
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
        if pids:
            subprocess.run(["kill", "-9", *pids], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    OWNER.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def egov_lab(lab_state):
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (CI runs as root)")
    leftovers = netns_list("egov-")
    if leftovers and os.environ.get("CI"):
        # a CI machine is disposable: a lab an earlier job left up is taken down, not a reason to fail
        reap_leftover_lab()
        leftovers = netns_list("egov-")
    if leftovers:
        pytest.fail(f"another lab is up on this machine ({', '.join(leftovers[:3])}…); take it down first")
    run = EgovRunner(lab_state)
    run("lab", "up")
    lab = Lab(load_estate(PANYU), lab_state)
    yield run, lab
    run("lab", "down", check=False)


def ssh(lab: Lab, host: str, cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(lab.ssh_argv(host, cmd), capture_output=True, text=True, timeout=60)


def reaches(lab: Lab, src: str, dst_addr: str) -> bool:
    return ssh(lab, src, f"ping -c1 -W1 {dst_addr} >/dev/null").returncode == 0


# One lab serves the whole session, so the modules run in the order the estate is built and then
# broken: build it, push the network, run the drills, abuse the lab itself, take it down.
MODULE_ORDER = ["test_build", "test_network", "test_drills", "test_backup", "test_lab", "test_cloud", "test_zz_down"]


def pytest_collection_modifyitems(session, config, items):
    here = Path(__file__).parent

    def rank(item):
        if here not in Path(str(item.fspath)).parents:
            return -1  # everything that needs no lab goes first
        name = Path(str(item.fspath)).stem
        return MODULE_ORDER.index(name) if name in MODULE_ORDER else len(MODULE_ORDER) - 2

    items.sort(key=rank)  # stable: tests keep their order within a module
