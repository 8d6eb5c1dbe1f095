"""The devices egov manages, how to reach each one, and which of them a command selects.

Two targets, like the hosts' (`egov/target.py`):
* the lab (default): devices answer on their estate management addresses inside the lab's
  controller namespace; routers are FRR (key login), villages emulated 2960s (password);
* real devices (`EGOV_NET_TARGET=real`): the estate's platforms (huawei_vrp, hp_comware) at
  their management addresses, user/password from the estate's secrets file, host keys from
  `EGOV_NET_KNOWN_HOSTS` (default: the operator's ~/.ssh/known_hosts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import secrets
from ..errors import EgovError
from ..model import DeviceRole, Estate
from . import platforms, render, topology
from .drivers import Conn

TIERS = {DeviceRole.city_uplink: "core", DeviceRole.core: "core",
         DeviceRole.town_aggregation: "towns", DeviceRole.village_access: "villages"}
TIER_ORDER = ("core", "towns", "villages")


class SelectionError(EgovError):
    pass


@dataclass(frozen=True)
class NetDevice:
    id: str
    role: str
    tier: str
    town: str | None
    platform: str
    conn: Conn
    intended: str


@dataclass
class NetTarget:
    name: str  # lab | real
    enter: object = None

    @property
    def is_lab(self) -> bool:
        return self.name == "lab"


def resolve_target(estate: Estate, state_dir: Path) -> NetTarget:
    if os.environ.get("EGOV_NET_TARGET", "lab") == "real":
        return NetTarget("real")
    from ..lab import Lab, enter_controller
    from ..target import TargetError

    lab = Lab(estate, state_dir)
    if not lab.is_up():
        raise TargetError("the lab is not up: run `egov lab up` first (or set EGOV_NET_TARGET=real for real devices)")
    return NetTarget("lab", enter_controller)


def devices(estate: Estate, state_dir: Path, target: NetTarget) -> dict[str, NetDevice]:
    """Every device (estate order) with its rendered intent and its login."""
    intents = topology.intents(estate)
    s = secrets.load(state_dir, estate)
    user, password = s["net_username"], s["net_password"]
    if target.is_lab:
        from ..lab import Lab

        lab = Lab(estate, state_dir)
        key = lab.network.key
        known_for = lambda ip: lab.network.known_hosts_for(ip)  # noqa: E731
    else:
        key = Path(os.environ["EGOV_NET_KEY"]) if os.environ.get("EGOV_NET_KEY") else None
        known = Path(os.environ["EGOV_NET_KNOWN_HOSTS"]) if os.environ.get("EGOV_NET_KNOWN_HOSTS") else None
        known_for = lambda ip: known  # noqa: E731
    out = {}
    for did, it in intents.items():
        r = render.render_intent(it, render.effective_platform(it, lab=target.is_lab), estate.source or None)
        d, town = it.device, it.town
        p = platforms.get(r.platform)
        known = known_for(str(d.mgmt_ip))
        if target.is_lab and r.platform == "frr":
            conn = Conn(did, str(d.mgmt_ip), p, "root", key_file=key, known_hosts=known)
        else:
            conn = Conn(did, str(d.mgmt_ip), p, user, password=password, key_file=key if not target.is_lab else None,
                        known_hosts=known)
        out[did] = NetDevice(did, str(d.role), TIERS[d.role], town.id if town else None, r.platform, conn, r.text)
    return out


def select(devs: dict[str, NetDevice], limits: list[str] | None) -> dict[str, NetDevice]:
    """`--limit` terms, unioned: a device id, a town id (its router and villages), a role
    (city_uplink, core, town_aggregation, village_access) or a tier (core, towns, villages);
    `key=value` forms (device=, town=, role=, tier=) say which one is meant."""
    if not limits:
        return devs
    keep: set[str] = set()
    for term in limits:
        for part in (x.strip() for x in term.split(",") if x.strip()):
            key, _, val = part.rpartition("=")
            hit = {d.id for d in devs.values() if (
                (key in ("", "device") and d.id == val) or (key in ("", "town", "site") and d.town == val)
                or (key in ("", "role") and d.role == val) or (key in ("", "tier") and d.tier == val))}
            if not hit:
                raise SelectionError(f"--limit {part}: matches no device, town, role or tier of the estate's network")
            keep |= hit
    return {k: v for k, v in devs.items() if k in keep}
