"""What each host should be, from the estate (the same inventory the playbooks used)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from egov.core.loader import load_estate
from egov.hosts.inventory import generate


@lru_cache(maxsize=1)
def inventory() -> dict:
    estate = load_estate(os.environ["EGOV_ESTATE"])
    state = Path(os.environ["EGOV_STATE_DIR"])
    cidrs = tuple(c for c in os.environ.get("EGOV_VERIFY_ADMIN_CIDRS", "").split(",") if c)
    return generate(estate, secrets_file=state / "secrets" / f"{estate.meta.name}.yml", admin_cidrs=cidrs,
                 target=os.environ.get("EGOV_VERIFY_TARGET", "lab"), state_dir=state)


def hostvars(host_id: str) -> dict:
    inv = inventory()["all"]
    return {**inv["vars"], **inv["hosts"][host_id]}


def hosts(group: str | None = None) -> list[str]:
    """testinfra host specs for a group (all hosts when None)."""
    inv = inventory()["all"]
    names = sorted(inv["hosts"]) if group is None else sorted(inv["children"].get(group, {}).get("hosts", {}))
    return [f"ssh://{h}" for h in names]


def host_id(host) -> str:
    return host.backend.host.name
