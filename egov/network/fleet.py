"""The devices egov manages, how to reach each one, and which of them a command selects.

The target (`egov.target`, the same one the hosts use) says how each device is reached:
* the lab (default): devices answer on their estate management addresses inside the lab's
  controller namespace; routers are FRR (key login), villages emulated 2960s (password);
* the real estate: the estate's platforms (huawei_vrp, hp_comware) at their management
  addresses, user/password from the estate's secrets file, host keys from
  `EGOV_NET_KNOWN_HOSTS` (default: the operator's ~/.ssh/known_hosts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from egov.core import secrets, topology
from egov.core.errors import EgovError
from egov.core.model import DeviceRole, Estate
from egov.network import platforms, render
from egov.network.drivers import Conn
from egov.target import Target

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


def devices(estate: Estate, state_dir: Path, target: Target) -> dict[str, NetDevice]:
    """Every device (estate order) with its rendered intent and its login."""
    intents = topology.intents(estate)
    s = secrets.load(state_dir, estate)
    user, password = s["net_username"], s["net_password"]
    out = {}
    for did, it in intents.items():
        r = render.render_intent(it, render.effective_platform(it, lab=target.is_lab), estate.source or None)
        d, town = it.device, it.town
        p = platforms.get(r.platform)
        key, known, key_only = target.device_login(str(d.mgmt_ip), r.platform)
        commit = platforms.commit_mode(r.platform, d.model)
        if key_only:
            conn = Conn(did, str(d.mgmt_ip), p, "root", key_file=key, known_hosts=known, commit=commit)
        else:
            conn = Conn(did, str(d.mgmt_ip), p, user, password=password, key_file=key, known_hosts=known,
                        commit=commit)
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
