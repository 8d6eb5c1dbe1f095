"""Last in the session (files run in name order): taking the lab down leaves nothing behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from egov.lab.netns import netns_list
from tests.lab.conftest import needs_root

pytestmark = [pytest.mark.lab, needs_root]


def test_zz_down_leaves_nothing(egov_lab, lab_state):
    run, lab = egov_lab
    run("lab", "down")
    assert netns_list("egov-") == []
    mounts = Path("/proc/mounts").read_text()
    assert str(lab_state) not in mounts and "egov-" not in mounts
    for pattern in ("hostinit.sh", "/usr/lib/frr/", "egov.lab.switches", "egov.lab.devices", str(lab_state),
                    "egov.cloud.compute", "uwsgi", "mariadbd", "nova-", "rabbitmq", "epmd -daemon"):
        procs = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.strip()
        assert procs == "", f"left running: {pattern}"
    assert not (lab_state / "lab").exists() and not Path("/run/egov-net").exists()
    assert "lab was not up" in run("lab", "down").stdout


