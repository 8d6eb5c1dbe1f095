"""Build both data centres: configure every host (playbooks), then ship the applications.

`configure(...)` runs playbooks/site.yml through ansible-runner against the target with
an inventory generated from the estate; `egov up` chains lab -> configure -> apps -> verify.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from egov.core import secrets
from egov.core.model import Estate
from egov.hosts import inventory
from egov.hosts.ansible import PlaybookResult, run_playbook
from egov.target import Target


def make_inventory(estate: Estate, target: Target, state_dir: Path) -> dict:
    return inventory.generate(estate, secrets_file=secrets.ensure(state_dir, estate), admin_cidrs=target.admin_cidrs,
                           target=target.name, state_dir=state_dir)


def configure(estate: Estate, target: Target, state_dir: Path, *, limit: str | None = None,
              progress: Callable[[str], None] | None = None) -> PlaybookResult:
    inv = make_inventory(estate, target, state_dir)
    return run_playbook("site.yml", inventory=inv, target=target, state_dir=state_dir, limit=limit, progress=progress)
