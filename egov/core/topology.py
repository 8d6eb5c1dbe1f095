"""The estate's network intent per device, platform-neutral: links, addresses, LANs, routes.

Everything is derived deterministically from the estate (no state, no allocation log):

* the transit pool (purpose `transit`, e.g. 10.31.0.0/16) is carved into /30s:
    10.31.0.0/30                 city uplink <-> district core
    10.31.{1+(i-1)//64}.{4*((i-1)%64)}/30   district core <-> town i (i from 1, estate order)
    10.31.255.{4*(k-1)}/30       district core <-> data-centre site k (estate order)
  the upper end of each link holds the lower address (.1 on the parent side, .2 below);
* every router's loopback is its management address (also its OSPF router id);
* a town router is the gateway of its town's subnets (management VLAN for the village
  switches, service-centre LAN), and a village switch's management SVI sits in its town's
  management subnet, default route to that gateway;
* the district core carries static routes to each data-centre site's address pools, next hop
  the site's router on the core<->site link, redistributed into OSPF area 0.

Interfaces are *logical* here (kind + index); `platforms.Platform.port()` names them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from egov.core.errors import EgovError
from egov.core.model import Device, DeviceRole, Estate, SubnetPurpose, Town

ROUTERS = (DeviceRole.city_uplink, DeviceRole.core, DeviceRole.town_aggregation)
# the pools the data-centre sites route back to the district network (by pool purpose): a network
# subnet must come from one of them, mgmt subnets from `management`, service subnets from `service`
NETWORK_POOL_PURPOSES = {"mgmt": "management", "service": "service", "transit": "transit"}
ACCESS_PORTS = 24


class TopologyError(EgovError):
    pass


@dataclass(frozen=True)
class Link:
    kind: str  # uplink | downlink | site
    index: int  # 1-based among links of its kind on this device
    peer: str  # device or site id
    address: IPv4Interface
    peer_address: IPv4Address


@dataclass(frozen=True)
class Lan:
    kind: str  # mgmt | service
    vlan: int
    gateway: IPv4Interface
    name: str


@dataclass(frozen=True)
class Route:
    prefix: IPv4Network
    next_hop: IPv4Address
    comment: str


@dataclass(frozen=True)
class VlanDef:
    id: int
    name: str
    display_name: str | None


@dataclass
class Intent:
    """What one device must be; the input of its template."""

    device: Device
    town: Town | None
    is_router: bool
    loopback: IPv4Interface | None = None
    links: list[Link] = field(default_factory=list)
    lans: list[Lan] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    redistribute_static: bool = False
    vlans: list[VlanDef] = field(default_factory=list)
    mgmt_vlan: int | None = None
    mgmt_address: IPv4Interface | None = None
    mgmt_gateway: IPv4Address | None = None
    access_ports: list[tuple[int, int]] = field(default_factory=list)  # (port number, vlan)
    ntp_servers: list[IPv4Address] = field(default_factory=list)
    banner: str | None = None

    @property
    def ospf_networks(self) -> list[IPv4Network]:
        nets = [lk.address.network for lk in self.links] + [lan.gateway.network for lan in self.lans]
        if self.loopback:
            nets.insert(0, self.loopback.network)
        return nets


def _transit_pool(estate: Estate) -> IPv4Network:
    for p in estate.meta.pools:
        if p.purpose == "transit":
            return p.cidr
    raise TopologyError("estate.yaml: pools: no pool with purpose `transit` for the network's point-to-point links")


def _p2p(pool: IPv4Network, third: int, slot: int, check: bool = True) -> tuple[IPv4Interface, IPv4Interface]:
    base = int(pool.network_address) + third * 256 + 4 * slot
    net = IPv4Network((base % 2**32, 30))
    if check and not net.subnet_of(pool):
        raise TopologyError(f"estate.yaml: transit pool {pool} is too small for link {net}")
    return IPv4Interface((base % 2**32 + 1, 30)), IPv4Interface((base % 2**32 + 2, 30))


def town_link(pool: IPv4Network, i: int, check: bool = True):
    return _p2p(pool, 1 + (i - 1) // 64, (i - 1) % 64, check)


def site_link(pool: IPv4Network, k: int, check: bool = True):
    return _p2p(pool, 255, k - 1, check)


def service_client(sn) -> IPv4Interface | None:
    """Where the lab puts a town's service-centre client: network + 100 when that fits the subnet
    (every /24), else the highest usable address; never the gateway. None: no room beside it."""
    net = sn.cidr
    if net.prefixlen > 29:
        return None
    gw = sn.gateway or next(net.hosts())
    first, last = int(net.network_address) + 1, int(net.broadcast_address) - 1
    for cand in (int(net.network_address) + 100, last, last - 1):
        if first <= cand <= last and IPv4Address(cand) != gw:
            return IPv4Interface((cand, net.prefixlen))
    return None


def _subnet(town: Town, purpose: SubnetPurpose):
    return next((s for s in town.subnets if s.purpose == purpose), None)


def _gw(sn) -> IPv4Interface:
    gw = sn.gateway or next(sn.cidr.hosts())
    return IPv4Interface(f"{gw}/{sn.cidr.prefixlen}")


def site_pools(estate: Estate) -> dict[str, list[IPv4Network]]:
    pools = {p.id: p.cidr for p in estate.meta.pools}
    out: dict[str, list[IPv4Network]] = {}
    for s in estate.sites:
        seen: list[IPv4Network] = []
        for sn in s.subnets:
            net = pools.get(sn.pool, sn.cidr)
            if net not in seen:
                seen.append(net)
        out[s.id] = seen
    return out


def intents(estate: Estate) -> dict[str, Intent]:
    """Every device's intent, keyed by device id, in the estate's top-down order."""
    net = estate.network
    pool = _transit_pool(estate)
    vlan_defs = {v.id: VlanDef(v.id, v.name, v.display_name) for v in net.vlans}
    mgmt_vlan = next((s.vlan for s in net.subnets if s.purpose == SubnetPurpose.mgmt and s.vlan), None)
    common = dict(ntp_servers=list(estate.meta.ntp_servers), banner=estate.meta.login_banner)

    def vlans(d: Device) -> list[VlanDef]:
        return [vlan_defs.get(v, VlanDef(v, f"vlan{v}", None)) for v in sorted(set(d.vlans))]

    out: dict[str, Intent] = {}
    city, core = net.city, net.core
    c_city, c_core = _p2p(pool, 0, 0)
    out[city.id] = Intent(city, None, True, IPv4Interface(f"{city.mgmt_ip}/32"),
                          links=[Link("downlink", 1, core.id, c_city, c_core.ip)], vlans=vlans(city), **common)
    core_i = Intent(core, None, True, IPv4Interface(f"{core.mgmt_ip}/32"),
                    links=[Link("uplink", 1, city.id, c_core, c_city.ip)], vlans=vlans(core),
                    redistribute_static=True, **common)
    out[core.id] = core_i
    pools = site_pools(estate)
    for k, s in enumerate(estate.sites, start=1):
        here, there = site_link(pool, k)
        core_i.links.append(Link("site", k, s.id, here, there.ip))
        for p in pools[s.id]:
            core_i.routes.append(Route(p, there.ip, f"{s.id} {s.name}"))
    for i, t in enumerate(net.towns, start=1):
        up, down = town_link(pool, i)
        core_i.links.append(Link("downlink", i, t.router.id, up, down.ip))
        r = t.router
        ti = Intent(r, t, True, IPv4Interface(f"{r.mgmt_ip}/32"),
                    links=[Link("uplink", 1, core.id, down, up.ip)], vlans=vlans(r), **common)
        msn, ssn = _subnet(t, SubnetPurpose.mgmt), _subnet(t, SubnetPurpose.service)
        if msn is not None:
            ti.lans.append(Lan("mgmt", msn.vlan or mgmt_vlan or 10, _gw(msn), msn.id))
        if ssn is not None:
            ti.lans.append(Lan("service", ssn.vlan or 110, _gw(ssn), ssn.id))
        out[r.id] = ti
        for v in t.villages:
            vi = Intent(v, t, False, vlans=vlans(v), **common)
            if msn is None:
                raise TopologyError(f"network.yaml: towns: {t.id}: no `mgmt` subnet for its village switches")
            vi.mgmt_vlan = msn.vlan or mgmt_vlan or 10
            vi.mgmt_address = IPv4Interface(f"{v.mgmt_ip}/{msn.cidr.prefixlen}")
            vi.mgmt_gateway = _gw(msn).ip
            if vi.mgmt_vlan not in {x.id for x in vi.vlans}:
                vi.vlans.insert(0, vlan_defs.get(vi.mgmt_vlan, VlanDef(vi.mgmt_vlan, "mgmt", None)))
            user = [x.id for x in vi.vlans if x.id != vi.mgmt_vlan]
            if user:
                vi.access_ports = [(p, user[(p - 1) * len(user) // ACCESS_PORTS]) for p in range(1, ACCESS_PORTS + 1)]
            out[v.id] = vi
    return out


def wildcard(net: IPv4Network) -> str:
    return str(ipaddress.IPv4Address(int(net.hostmask)))
