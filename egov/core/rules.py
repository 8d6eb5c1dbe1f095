"""The estate's cross-file rules: what an IT or network engineer expects to hold.

Each rule appends `Problem`s naming file, path and what is wrong; every rule
runs, so the operator sees all problems at once. Rules (in order below):

- ids and display names unique (sites, hosts+devices, towns, subnets, pools,
  VLANs, databases, applications);
- IPAM: pools do not overlap; each subnet lies in its pool; no two subnets
  overlap; every address (host, device, gateway, service address) lies inside
  its subnet, is not the network/broadcast address, and is used once;
- VLAN ids referenced by devices exist in the VLAN catalog, once per device;
- the network is a tree rooted at the city uplink: core under city, every town
  router under the core, every village under its own town, no cycles, roles
  matching the tier;
- sites: exactly one primary, backups name an existing other site, DR targets
  consistent (RPO <= RTO, first-write RTO <= RTO, ...);
- databases and applications: every reference resolves to the right kind of
  host at the right site; replication actually leaves the owner site;
- what the builders support (`supported`): the transit pool holds every link the topology
  derives; one management and at most one service subnet per town, villages straight under
  their town router, service subnets with room for the lab's client; one synchronous
  PostgreSQL cluster; estate text that device syntax can carry; health paths the apps serve.
  Anything else is refused here rather than built wrong (estate/README.md: limits).
- backups: the repository host exists, is off-site and runs no database.
- mirrors: the lab host serving a mirror egov builds exists and is the address the URLs name;
  a mirror egov does not build gives its signing key (a key file in the estate, or a fingerprint).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

from egov.core import paths, tls
from egov.core.errors import Problem
from egov.core.model import FINGERPRINT, DeviceRole, Estate, HostRole, ReplicationMode, SiteRole, Subnet, SubnetPurpose
from egov.core.sources import SourceMap
from egov.core.topology import NETWORK_POOL_PURPOSES, service_client, site_link, town_link

# what egov's applications serve (apps_deploy/src/egov_apps/web.py; a unit test keeps the two in step)
SERVED_HEALTH_PATHS = ("/healthz",)
# characters that end a quoted VRP string or a Comware `header login %...%`, or break a config line
BANNER_FORBIDDEN = {'"': "a double quote (ends VRP's quoted banner)", "%": "'%' (ends Comware's header login %...%)"}

# where the lab's mirror host serves what it builds (egov.lab.mirror PATHS; a unit test keeps them in step)
LAB_MIRROR_PATHS = {"apt": "/debian", "pypi": "/pypi"}

SITES, NET, EST, DBS, APPS = "sites.yaml", "network.yaml", "estate.yaml", "databases.yaml", "apps.yaml"
CLOUD = "cloud.yaml"


class _Checker:
    def __init__(self, estate: Estate, sources: SourceMap):
        self.e = estate
        self.src = sources
        self.problems: list[Problem] = []

    def bad(self, file: str, loc: tuple, msg: str) -> None:
        self.problems.append(self.src.problem(file, loc, msg))

    # ------------------------------------------------------------------ helpers
    def unique(self, kind: str, items: Iterable[tuple[str, tuple, str]]) -> None:
        """items: (file, loc, value); the second and later uses of a value are errors."""
        first: dict[str, tuple[str, tuple]] = {}
        for file, loc, value in items:
            if value is None:
                continue
            if value in first:
                f0, l0 = first[value]
                line = self.src.line(f0, l0)
                where = f"{f0}:{line}" if line else f0
                self.bad(file, loc, f"duplicate {kind} {value!r} (first used at {where})")
            else:
                first[value] = (file, loc)

    def all_subnets(self) -> list[tuple[str, tuple, Subnet]]:
        out = []
        for i, s in enumerate(self.e.sites):
            for j, sn in enumerate(s.subnets):
                out.append((SITES, ("sites", i, "subnets", j), sn))
        for j, sn in enumerate(self.e.network.subnets):
            out.append((NET, ("subnets", j), sn))
        for i, t in enumerate(self.e.network.towns):
            for j, sn in enumerate(t.subnets):
                out.append((NET, ("towns", i, "subnets", j), sn))
        return out

    def device_locs(self):
        """(loc, town_index | None, device) for every network device."""
        n = self.e.network
        yield ("city",), None, n.city
        yield ("core",), None, n.core
        for i, t in enumerate(n.towns):
            yield ("towns", i, "router"), i, t.router
            for j, v in enumerate(t.villages):
                yield ("towns", i, "villages", j), i, v

    # ------------------------------------------------------------------ rules
    def ids_and_names(self) -> None:
        e = self.e
        self.unique("pool id", ((EST, ("pools", i, "id"), p.id) for i, p in enumerate(e.meta.pools)))
        self.unique("site id", ((SITES, ("sites", i, "id"), s.id) for i, s in enumerate(e.sites)))
        self.unique("site name", ((SITES, ("sites", i, "name"), s.name) for i, s in enumerate(e.sites)))
        nodes = [(SITES, ("sites", i, "hosts", j, "id"), h.id)
                 for i, s in enumerate(e.sites) for j, h in enumerate(s.hosts)]
        nodes += [(NET, loc + ("id",), d.id) for loc, _, d in self.device_locs()]
        self.unique("host/device id", nodes)
        names = [(SITES, ("sites", i, "hosts", j, "name"), h.name)
                 for i, s in enumerate(e.sites) for j, h in enumerate(s.hosts)]
        names += [(NET, loc + ("name",), d.name) for loc, _, d in self.device_locs()]
        self.unique("host/device name", names)
        self.unique("town id", ((NET, ("towns", i, "id"), t.id) for i, t in enumerate(e.network.towns)))
        self.unique("town name", ((NET, ("towns", i, "name"), t.name) for i, t in enumerate(e.network.towns)))
        self.unique("subnet id", ((f, loc + ("id",), sn.id) for f, loc, sn in self.all_subnets()))
        self.unique("VLAN id", ((NET, ("vlans", i, "id"), v.id) for i, v in enumerate(e.network.vlans)))
        self.unique("VLAN name", ((NET, ("vlans", i, "name"), v.name) for i, v in enumerate(e.network.vlans)))
        self.unique("database id", ((DBS, ("databases", i, "id"), d.id) for i, d in enumerate(e.databases)))
        self.unique("database name", ((DBS, ("databases", i, "name"), d.name) for i, d in enumerate(e.databases)))
        self.unique("application id", ((APPS, ("applications", i, "id"), a.id) for i, a in enumerate(e.applications)))
        self.unique(
            "application name", ((APPS, ("applications", i, "name"), a.name) for i, a in enumerate(e.applications))
        )
        for i, a in enumerate(e.applications):
            self.unique(
                "module id", ((APPS, ("applications", i, "modules", j, "id"), m.id) for j, m in enumerate(a.modules))
            )

    def ipam(self) -> None:
        e = self.e
        pools = {p.id: p for p in e.meta.pools}
        # pools must not overlap each other
        self._overlaps("pool", [(EST, ("pools", i, "cidr"), p.cidr, p.id) for i, p in enumerate(e.meta.pools)])
        subnets = self.all_subnets()
        for f, loc, sn in subnets:
            pool = pools.get(sn.pool)
            if pool is None:
                self.bad(f, loc + ("pool",), f"unknown pool {sn.pool!r} (declared pools: {', '.join(sorted(pools))})")
            elif not sn.cidr.subnet_of(pool.cidr):
                self.bad(f, loc + ("cidr",), f"{sn.cidr} is outside its pool {pool.id} ({pool.cidr})")
            if sn.gateway is not None:
                self._address_in(f, loc + ("gateway",), sn.gateway, sn)
        self._overlaps("subnet", [(f, loc + ("cidr",), sn.cidr, sn.id) for f, loc, sn in subnets])
        # addresses: unique and inside their subnet
        used: list[tuple[str, tuple, str]] = [
            (f, loc + ("gateway",), str(sn.gateway)) for f, loc, sn in subnets if sn.gateway is not None]
        for i, s in enumerate(e.sites):
            by_id = {sn.id: sn for sn in s.subnets}
            for j, h in enumerate(s.hosts):
                loc = ("sites", i, "hosts", j)
                used.append((SITES, loc + ("address",), str(h.address)))
                sn = by_id.get(h.subnet)
                if sn is None:
                    self.bad(SITES, loc + ("subnet",),
                             f"unknown subnet {h.subnet!r} at site {s.id} (has: {', '.join(by_id)})")
                else:
                    self._address_in(SITES, loc + ("address",), h.address, sn)
            if s.service_address is not None:
                loc = ("sites", i, "service_address")
                used.append((SITES, loc, str(s.service_address)))
                if not any(s.service_address in sn.cidr for sn in s.subnets):
                    self.bad(SITES, loc, f"{s.service_address} is in none of site {s.id}'s subnets")
                else:
                    sn = next(sn for sn in s.subnets if s.service_address in sn.cidr)
                    self._address_in(SITES, loc, s.service_address, sn)
        towns = e.network.towns
        for loc, ti, d in self.device_locs():
            used.append((NET, loc + ("mgmt_ip",), str(d.mgmt_ip)))
            scope = e.network.subnets if ti is None else towns[ti].subnets
            mgmt = [sn for sn in scope if sn.purpose == SubnetPurpose.mgmt]
            where = "the network's subnets" if ti is None else f"town {towns[ti].id}'s subnets"
            home = next((sn for sn in mgmt if d.mgmt_ip in sn.cidr), None)
            if home is None:
                self.bad(NET, loc + ("mgmt_ip",),
                         f"{d.mgmt_ip} is in no management subnet of {where}"
                         + (f" ({', '.join(str(sn.cidr) for sn in mgmt)})" if mgmt else " (none declared)"))
            else:
                self._address_in(NET, loc + ("mgmt_ip",), d.mgmt_ip, home)
        self.unique("address", used)

    def _address_in(self, file: str, loc: tuple, addr: IPv4Address, sn: Subnet) -> None:
        net = sn.cidr
        if addr not in net:
            self.bad(file, loc, f"{addr} is outside subnet {sn.id} ({net})")
        elif net.prefixlen < 31 and addr in (net.network_address, net.broadcast_address):
            kind = "network" if addr == net.network_address else "broadcast"
            self.bad(file, loc, f"{addr} is the {kind} address of subnet {sn.id} ({net})")

    def _overlaps(self, kind: str, items: list[tuple[str, tuple, IPv4Network, str]]) -> None:
        ordered = sorted(items, key=lambda x: (int(x[2].network_address), -x[2].prefixlen))
        widest = None  # the item reaching furthest so far
        for item in ordered:
            if widest is not None and int(item[2].network_address) <= int(widest[2].broadcast_address):
                self.bad(item[0], item[1], f"{kind} {item[3]} ({item[2]}) overlaps {kind} {widest[3]} ({widest[2]})")
            if widest is None or int(item[2].broadcast_address) > int(widest[2].broadcast_address):
                widest = item

    def vlans(self) -> None:
        catalog = {v.id for v in self.e.network.vlans}
        for loc, _, d in self.device_locs():
            seen: set[int] = set()
            for k, vid in enumerate(d.vlans):
                if vid not in catalog:
                    self.bad(NET, loc + ("vlans", k), f"VLAN {vid} is not in the VLAN catalog (network.yaml: vlans)")
                if vid in seen:
                    self.bad(NET, loc + ("vlans", k), f"VLAN {vid} listed twice on {d.id}")
                seen.add(vid)
        for f, loc, sn in self.all_subnets():
            if sn.vlan is not None and f == NET and sn.vlan not in catalog:
                self.bad(f, loc + ("vlan",), f"VLAN {sn.vlan} is not in the VLAN catalog (network.yaml: vlans)")

    def network_tree(self) -> None:
        n = self.e.network
        where: dict[str, tuple] = {}
        parent: dict[str, str | None] = {}
        town_of: dict[str, int | None] = {}
        for loc, ti, d in self.device_locs():
            where.setdefault(d.id, loc)
            parent.setdefault(d.id, d.uplink)
            town_of.setdefault(d.id, ti)
        expect = {("city",): DeviceRole.city_uplink, ("core",): DeviceRole.core}
        for loc, ti, d in self.device_locs():
            role = expect.get(loc) or (
                DeviceRole.town_aggregation if loc[-1] == "router" else DeviceRole.village_access
            )
            if d.role != role:
                self.bad(NET, loc + ("role",), f"a device at this tier must have role {role.value}, not {d.role.value}")
            if loc == ("city",):
                if d.uplink is not None:
                    self.bad(NET, loc + ("uplink",), "the city uplink is the root of the tree: it has no uplink")
                continue
            if d.uplink is None:
                self.bad(NET, loc + ("uplink",), "missing uplink: every device but the city uplink hangs under another")
                continue
            if d.uplink not in parent:
                self.bad(NET, loc + ("uplink",), f"unknown device {d.uplink!r}")
                continue
            if d.uplink == d.id:
                self.bad(NET, loc + ("uplink",), "a device cannot be its own uplink")
                continue
            if loc == ("core",):
                if d.uplink != n.city.id:
                    self.bad(
                        NET,
                        loc + ("uplink",),
                        f"the district core must hang under the city uplink {n.city.id!r}, not {d.uplink!r}",
                    )
            elif loc[-1] == "router":
                if d.uplink != n.core.id:
                    self.bad(
                        NET,
                        loc + ("uplink",),
                        f"a town router must hang under the district core {n.core.id!r}, not {d.uplink!r}",
                    )
            else:
                router = n.towns[ti].router.id
                if town_of.get(d.uplink) != ti:
                    self.bad(
                        NET,
                        loc + ("uplink",),
                        f"village uplink {d.uplink!r} is outside its town {n.towns[ti].id} "
                        f"(expected its town router {router!r})",
                    )
                elif d.uplink != router:
                    self.bad(NET, loc + ("uplink",),
                             f"village uplink {d.uplink!r} is another village: not supported (its parent would "
                             f"carry no trunk for it); hang it under its town router {router!r}")
        # cycles: follow uplinks; a walk that revisits a device on its own path is a loop
        state: dict[str, int] = {}  # 1 = on current path, 2 = done
        for start in parent:
            path = []
            node = start
            while node is not None and node in parent and state.get(node) != 2:
                if state.get(node) == 1:
                    cycle = path[path.index(node):] + [node]
                    self.bad(NET, where[node] + ("uplink",), "uplink loop: " + " -> ".join(cycle))
                    break
                state[node] = 1
                path.append(node)
                node = parent[node]
            for p in path:
                state[p] = 2

    def sites(self) -> None:
        e = self.e
        ids = {s.id for s in e.sites}
        primaries = [i for i, s in enumerate(e.sites) if s.role == SiteRole.primary]
        if len(primaries) != 1:
            self.bad(SITES, ("sites",), f"exactly one site must have role primary (found {len(primaries)})")
        for i, s in enumerate(e.sites):
            loc = ("sites", i)
            if s.role == SiteRole.backup:
                if s.backup_of is None:
                    self.bad(SITES, loc + ("role",), "a backup site must name the site it backs up (backup_of)")
                elif s.backup_of == s.id:
                    self.bad(SITES, loc + ("backup_of",), "a site cannot back itself up")
                elif s.backup_of not in ids:
                    self.bad(SITES, loc + ("backup_of",), f"unknown site {s.backup_of!r}")
            elif s.backup_of is not None:
                self.bad(SITES, loc + ("backup_of",), f"only a backup site has backup_of (this site is {s.role.value})")
            dr = s.dr
            if dr.rto.total_seconds() <= 0:
                self.bad(SITES, loc + ("dr", "rto"), "RTO must be greater than 0")
            if dr.rpo > dr.rto:
                self.bad(
                    SITES,
                    loc + ("dr", "rpo"),
                    f"RPO ({dr.rpo.total_seconds():g}s) exceeds RTO ({dr.rto.total_seconds():g}s)",
                )
            for field in ("first_write_rto", "switchover_interruption"):
                v = getattr(dr, field)
                if v is not None and v > dr.rto:
                    self.bad(
                        SITES,
                        loc + ("dr", field),
                        f"{field} ({v.total_seconds():g}s) exceeds the site's RTO ({dr.rto.total_seconds():g}s)",
                    )

    def databases(self) -> None:
        e = self.e
        sites = {s.id for s in e.sites}
        hosts = {h.id: (s, h) for s, h in e.hosts()}
        for i, d in enumerate(e.databases):
            loc = ("databases", i)
            if d.owner_site not in sites:
                self.bad(DBS, loc + ("owner_site",), f"unknown site {d.owner_site!r}")
            ph = hosts.get(d.primary_host)
            if ph is None:
                self.bad(DBS, loc + ("primary_host",), f"unknown host {d.primary_host!r}")
            else:
                if ph[1].role != HostRole.db:
                    self.bad(DBS, loc + ("primary_host",), f"host {ph[1].id} has role {ph[1].role.value}, not db")
                if ph[0].id != d.owner_site:
                    self.bad(
                        DBS,
                        loc + ("primary_host",),
                        f"host {ph[1].id} is at site {ph[0].id}, not the owner site {d.owner_site}",
                    )
            rep = d.replication
            if rep.mode == ReplicationMode.none:
                if rep.standby_hosts:
                    self.bad(
                        DBS, loc + ("replication", "standby_hosts"), "replication mode none takes no standby hosts"
                    )
                continue
            if not rep.standby_hosts:
                self.bad(
                    DBS,
                    loc + ("replication", "standby_hosts"),
                    f"{rep.mode.value} replication needs at least one standby host",
                )
                continue
            offsite = False
            for k, sid in enumerate(rep.standby_hosts):
                sh = hosts.get(sid)
                if sh is None:
                    self.bad(DBS, loc + ("replication", "standby_hosts", k), f"unknown host {sid!r}")
                    continue
                if sid == d.primary_host:
                    self.bad(DBS, loc + ("replication", "standby_hosts", k), "the primary cannot be its own standby")
                if sh[1].role != HostRole.db:
                    self.bad(
                        DBS,
                        loc + ("replication", "standby_hosts", k),
                        f"host {sid} has role {sh[1].role.value}, not db",
                    )
                offsite |= sh[0].id != d.owner_site
            if not offsite and d.owner_site in sites:
                self.bad(DBS, loc + ("replication", "standby_hosts"),
                         f"no standby outside the owner site {d.owner_site}: losing that site loses the database")

    def backup(self) -> None:
        """The backup repository is a known host at a site other than every database's owner site
        (off-site: losing the owner site must not lose the backups too)."""
        b = self.e.backup
        if b is None:
            return
        loc = ("backup", "repository_host")
        hosts = {h.id: (s, h) for s, h in self.e.hosts()}
        rh = hosts.get(b.repository_host)
        if rh is None:
            self.bad(DBS, loc, f"unknown host {b.repository_host!r}")
            return
        for d in self.e.databases:
            if rh[0].id == d.owner_site:
                self.bad(DBS, loc, f"host {rh[1].id} is at site {rh[0].id}, the owner site of database {d.id}: "
                         "the repository must be off-site")
                return
            if rh[1].id in (d.primary_host, *d.replication.standby_hosts):
                self.bad(DBS, loc, f"host {rh[1].id} runs database {d.id}: the repository needs a host of its own")
                return
        if b.retention.diff is not None and b.schedule.diff is None:
            self.bad(DBS, ("backup", "retention", "diff"), "a differential retention without a diff schedule")

    def mirrors(self) -> None:
        """Where hosts take their packages from: a served_by host that exists and answers at the
        URLs' address, or (a mirror egov does not build) a signing key hosts can pin."""
        m = self.e.meta.mirrors
        if m is None:
            return
        base = ("mirrors",)
        urls = [(("apt", "url"), m.apt.url)] + ([(("pypi", "url"), m.pypi.url)] if m.pypi else [])
        if m.served_by is not None:
            hosts = {h.id: h for _, h in self.e.hosts()}
            h = hosts.get(m.served_by)
            if h is None:
                self.bad(EST, base + ("served_by",), f"unknown host {m.served_by!r}")
            else:
                if len(m.apt.components) != 1:
                    self.bad(EST, base + ("apt", "components"), "a mirror the lab builds has one component "
                             f"(found {len(m.apt.components)}): it holds exactly the packages the roles need")
                for loc, url in urls:
                    if urlsplit(url).hostname != str(h.address):
                        self.bad(EST, base + loc, f"{url} does not name {h.id}'s address {h.address} "
                                 "(served_by): hosts would not reach the mirror the lab serves")
                    elif urlsplit(url).path.rstrip("/") != LAB_MIRROR_PATHS[loc[0]]:
                        self.bad(EST, base + loc, f"the lab serves its {loc[0]} mirror at "
                                 f"http://{h.address}{LAB_MIRROR_PATHS[loc[0]]}, not {url}")
        key = m.apt.key
        if key is None:
            if m.served_by is None:
                self.bad(EST, base + ("apt",), "no key: a mirror egov does not build needs its signing key "
                         "(a public key file in the estate, or its 40-hex-digit fingerprint)")
        elif not FINGERPRINT.match(key) and self.e.source and not (Path(self.e.source) / key).is_file():
            self.bad(EST, base + ("apt", "key"), f"no key file {key} in the estate directory "
                     "(and not a 40-hex-digit fingerprint)")

    def applications(self) -> None:
        e = self.e
        dbs = {d.id for d in e.databases}
        site_of = {h.id: (s.id, h) for s, h in e.hosts()}
        ports: dict[tuple[str, int], str] = {}
        primary = next((s.id for s in e.sites if s.role == SiteRole.primary), None)
        front_ports: dict[int, str] = {}
        for i, a in enumerate(e.applications):
            loc = ("applications", i)
            for k, db in enumerate(a.databases):
                if db not in dbs:
                    self.bad(APPS, loc + ("databases", k), f"unknown database {db!r}")
            if not a.health_path.startswith("/"):
                self.bad(APPS, loc + ("health_path",), "must start with '/'")
            for site_id, host_ids in a.runs_on.items():
                if site_id not in {s.id for s in e.sites}:
                    self.bad(APPS, loc + ("runs_on", site_id), f"unknown site {site_id!r}")
                    continue
                for k, hid in enumerate(host_ids):
                    hloc = loc + ("runs_on", site_id, k)
                    if hid not in site_of:
                        self.bad(APPS, hloc, f"unknown host {hid!r}")
                        continue
                    hsite, h = site_of[hid]
                    if hsite != site_id:
                        self.bad(APPS, hloc, f"host {hid} is at site {hsite}, not {site_id}")
                    if h.role != HostRole.app:
                        self.bad(APPS, hloc, f"host {hid} has role {h.role.value}, not app")
                    other = ports.get((hid, a.port))
                    if other is not None and other != a.id:
                        self.bad(APPS, loc + ("port",), f"port {a.port} on {hid} is already taken by {other}")
                    ports[(hid, a.port)] = a.id
            if primary is not None and not a.runs_on.get(primary):
                self.bad(APPS, loc + ("runs_on",), f"runs nowhere at the primary site {primary}")
            # every site's front listens on both ports of every application
            for key, port in (("port", a.port), ("https_port", a.tls_port)):
                other = front_ports.get(port)
                if other is not None:
                    hint = "" if a.https_port is not None or key == "port" else " (https_port defaults to port + 1000)"
                    self.bad(APPS, loc + (key,), f"front port {port} is already taken by {other}{hint}")
                front_ports[port] = f"{a.id}'s {key}"

    def tls(self) -> None:
        """estate.yaml `tls:`: the CA and a certificate + key for every site's front, valid for its address."""
        t = self.e.meta.tls
        if t is None:
            return
        base = Path(self.e.source or ".")
        try:
            ca = (base / t.ca).read_text()
        except (OSError, UnicodeDecodeError) as err:
            self.bad(EST, ("tls", "ca"), f"cannot read {t.ca}: {getattr(err, 'strerror', None) or err}")
            return
        for s in self.e.sites:
            if not s.service_address:
                continue
            f = t.fronts.get(s.id)
            if f is None:
                self.bad(EST, ("tls", "fronts"), f"no certificate for site {s.id}'s front")
                continue
            try:
                bundle = (base / f).read_text()
            except (OSError, UnicodeDecodeError) as err:
                self.bad(EST, ("tls", "fronts", s.id), f"cannot read {f}: {getattr(err, 'strerror', None) or err}")
                continue
            for what in tls.front_problems(self.e, s, bundle, ca):
                self.bad(EST, ("tls", "fronts", s.id), f"{f}: {what}")
        for sid in t.fronts:
            if sid not in {s.id for s in self.e.sites}:
                self.bad(EST, ("tls", "fronts", sid), f"unknown site {sid!r}")

    def cloud(self) -> None:
        """cloud.yaml: every host has a known flavor and exactly one department; clouds name real sites."""
        e, cl = self.e, self.e.cloud
        flavors = {f.id for f in cl.flavors}
        for si, s in enumerate(e.sites):
            for hi, h in enumerate(s.hosts):
                if h.flavor not in flavors:
                    self.bad(SITES, ("sites", si, "hosts", hi, "flavor"),
                             f"unknown flavor {h.flavor!r} (cloud.yaml flavors: {', '.join(sorted(flavors))})")
        hosts = {h.id: h for _, h in e.hosts()}
        owner: dict[str, str] = {}
        for di, d in enumerate(cl.departments):
            for k, hid in enumerate(d.hosts):
                if hid not in hosts:
                    self.bad(CLOUD, ("departments", di, "hosts", k), f"unknown host {hid!r}")
                elif hid in owner and owner[hid] != d.id:
                    self.bad(CLOUD, ("departments", di, "hosts", k), f"host {hid} already belongs to {owner[hid]}")
                else:
                    owner[hid] = d.id
        for hid, h in hosts.items():
            if hid in owner:
                continue
            by_role = [d.id for d in cl.departments if h.role in d.roles]
            if len(by_role) > 1:
                self.bad(CLOUD, ("departments",), f"host {hid} (role {h.role.value}) matches several departments: "
                         f"{', '.join(by_role)}; list it under one department's hosts")
            elif not by_role:
                self.bad(CLOUD, ("departments",), f"host {hid} (role {h.role.value}) belongs to no department")
        for site_id in cl.clouds:
            if site_id not in {s.id for s in e.sites}:
                self.bad(CLOUD, ("clouds", site_id), f"unknown site {site_id!r}")


    # ------------------------------------------------------------------ what the builders support
    def supported(self) -> None:
        self._transit()
        self._town_subnets()
        self._one_cluster()
        self._templates()
        e = self.e
        banner = e.meta.login_banner
        if banner:
            for ch, why in BANNER_FORBIDDEN.items():
                if ch in banner:
                    self.bad(EST, ("login_banner",), f"contains {why}; device configs cannot carry it")
            if any(ord(c) < 32 or ord(c) == 127 for c in banner):
                self.bad(EST, ("login_banner",), "contains a line break or control character; "
                         "the banner is one line on every platform")
            if len(banner) > 200:
                self.bad(EST, ("login_banner",), f"is {len(banner)} characters; devices take at most 200 on one line")
        for i, a in enumerate(e.applications):
            if a.health_path.startswith("/") and a.health_path not in SERVED_HEALTH_PATHS:
                self.bad(APPS, ("applications", i, "health_path"),
                         f"{a.health_path!r} is not served by egov's applications (they serve "
                         f"{', '.join(SERVED_HEALTH_PATHS)}); the load balancer would mark every backend down")

    def _templates(self) -> None:
        """Every device's platform has a template for its role (the estate's own templates/ first)."""
        dirs = ([Path(self.e.source) / "templates"] if self.e.source else []) + [paths.network_templates()]
        have: dict[str, bool] = {}
        for loc, _, d in self.device_locs():
            name = f"{d.platform.value}/{d.role.value}.j2"
            if name not in have:
                have[name] = any((x / name).is_file() for x in dirs)
            if not have[name]:
                able = sorted({p.parent.name for x in dirs for p in x.glob(f"*/{d.role.value}.j2")})
                self.bad(NET, loc + ("platform",), f"platform {d.platform.value} cannot play role {d.role.value} "
                         f"(no template {name}; platforms that can: {', '.join(able) or 'none'})")

    def _transit(self) -> None:
        pools = [(i, p) for i, p in enumerate(self.e.meta.pools) if p.purpose == "transit"]
        if not pools:
            self.bad(EST, ("pools",), "no pool with purpose transit: the network's point-to-point links come "
                     "from it (a /16, e.g. 10.31.0.0/16)")
            return
        for i, p in pools[1:]:
            self.bad(EST, ("pools", i, "purpose"), f"a second transit pool (the first, {pools[0][1].id}, is the one "
                     "links come from)")
        i, pool = pools[0]
        n_towns, n_sites = len(self.e.network.towns), len(self.e.sites)
        if n_sites > 64:
            self.bad(SITES, ("sites",), f"{n_sites} sites: the core has links for at most 64 data-centre sites")
        if n_towns > 64 * 254:
            self.bad(NET, ("towns",), f"{n_towns} towns: the transit plan has room for at most {64 * 254}")
        # the highest links the topology derives (egov.core.topology): town n's and site k's /30s
        need = [site_link(pool.cidr, max(n_sites, 1), check=False)[0].network]
        if n_towns:
            need.append(town_link(pool.cidr, n_towns, check=False)[0].network)
        outside = [n for n in need if not n.subnet_of(pool.cidr)]
        if outside:
            self.bad(EST, ("pools", i, "cidr"),
                     f"transit pool {pool.cidr} is too small for the links the topology derives ({n_towns} town "
                     f"and {n_sites} site links, up to {outside[-1]}): use a /16 (site links sit in its x.x.255.0/24)")
        for f, loc, sn in self.all_subnets():
            if sn.cidr.overlaps(pool.cidr):
                self.bad(f, loc + ("cidr",), f"{sn.cidr} lies in the transit pool {pool.id} ({pool.cidr}), "
                         "which the topology carves into point-to-point links")

    def _town_subnets(self) -> None:
        pools = {p.id: p for p in self.e.meta.pools}
        net = self.e.network
        scoped = [(("subnets", j), sn) for j, sn in enumerate(net.subnets)] + [
            (("towns", i, "subnets", j), sn) for i, t in enumerate(net.towns) for j, sn in enumerate(t.subnets)]
        for loc, sn in scoped:
            if loc[0] == "towns" and sn.purpose not in (SubnetPurpose.mgmt, SubnetPurpose.service):
                self.bad(NET, loc + ("purpose",), f"a town subnet is mgmt or service; a {sn.purpose.value} subnet "
                         "would be configured nowhere (data-centre subnets belong in sites.yaml)")
                continue
            want = NETWORK_POOL_PURPOSES.get(sn.purpose.value)
            pool = pools.get(sn.pool)
            if want and pool is not None and pool.purpose != want:
                self.bad(NET, loc + ("pool",), f"pool {pool.id} has purpose {pool.purpose!r}; a {sn.purpose.value} "
                         f"subnet comes from a pool with purpose {want!r} (the data centres route back to those)")
        for i, t in enumerate(self.e.network.towns):
            for purpose in (SubnetPurpose.mgmt, SubnetPurpose.service):
                idx = [j for j, sn in enumerate(t.subnets) if sn.purpose == purpose]
                for j in idx[1:]:
                    self.bad(NET, ("towns", i, "subnets", j, "purpose"),
                             f"a second {purpose.value} subnet in town {t.id}: not supported (its router and village "
                             f"switches take one {purpose.value} LAN); merge it into {t.subnets[idx[0]].id}")
            if t.villages and not any(sn.purpose == SubnetPurpose.mgmt for sn in t.subnets):
                self.bad(NET, ("towns", i, "subnets"),
                         f"town {t.id} has villages but no mgmt subnet for their switches")
            for j, sn in enumerate(t.subnets):
                if sn.purpose == SubnetPurpose.service and service_client(sn) is None:
                    self.bad(NET, ("towns", i, "subnets", j, "cidr"),
                             f"{sn.cidr} has no room for the service-centre client beside the gateway "
                             "(use /29 or wider)")
                elif sn.purpose in (SubnetPurpose.mgmt, SubnetPurpose.service) and sn.cidr.prefixlen > 30:
                    self.bad(NET, ("towns", i, "subnets", j, "cidr"), f"{sn.cidr} is too small for a town LAN")

    def _one_cluster(self) -> None:
        """The builders set up one synchronous PostgreSQL cluster holding every base database."""
        dbs = self.e.databases
        if not dbs:
            return
        first = dbs[0]
        for i, d in enumerate(dbs):
            loc = ("databases", i)
            if d.replication.mode != ReplicationMode.synchronous:
                self.bad(DBS, loc + ("replication", "mode"),
                         f"{d.replication.mode.value} replication is not built (egov builds synchronous streaming "
                         "replication, RPO 0); use synchronous")
            if i == 0:
                continue
            if d.primary_host != first.primary_host:
                self.bad(DBS, loc + ("primary_host",),
                         f"{d.primary_host} is not {first.primary_host}, the primary of {first.id}: several database "
                         "clusters are not supported (every database lives in one cluster)")
            if d.port != first.port:
                self.bad(DBS, loc + ("port",), f"port {d.port} differs from {first.id}'s {first.port}: one cluster "
                         "listens on one port")
            if d.replication.mode == first.replication.mode and \
                    sorted(d.replication.standby_hosts) != sorted(first.replication.standby_hosts):
                self.bad(DBS, loc + ("replication", "standby_hosts"),
                         f"standbys {', '.join(d.replication.standby_hosts) or 'none'} differ from {first.id}'s "
                         f"({', '.join(first.replication.standby_hosts) or 'none'}): one cluster has one set")


def check(estate: Estate, sources: SourceMap) -> list[Problem]:
    c = _Checker(estate, sources)
    for rule in (c.ids_and_names, c.ipam, c.vlans, c.network_tree, c.sites, c.databases, c.backup, c.mirrors,
                 c.applications, c.tls, c.cloud, c.supported):
        rule()
    return c.problems

