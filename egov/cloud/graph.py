"""The OpenStack layout of every site, derived from the estate: one graph, two appliers.

`derive(estate, public_key)` returns the resources in dependency order. The openstacksdk path
(`egov.cloud.sdk`) and the Pulumi program (`infra/__main__.py`) both walk this list; neither
decides anything about the layout itself.

Per site:
- a project per department (`<site>-<department>`); the first department owns the networks,
  which are shared with the other departments' projects by RBAC (not `shared=True`);
- a network + subnet per estate subnet (no DHCP: addresses are the estate's), one router per site
  with an interface on each subnet's gateway;
- a security group per host role in each department's project, least privilege:
  SSH and ICMP only from the management CIDRs; the apps' ports only from the site's front subnets;
  database ports only from the app subnets (and the db subnets, for replication); the public
  front (lb) is the only group that admits `public_cidrs` (0.0.0.0/0 by default), on the apps' front ports
  (HTTPS and the plain-HTTP redirect);
- a port per server with its estate address, the service address as a port of its own that the
  front's ports may carry (allowed address pairs);
- a server per host (flavor, image, the estate's keypair), a volume per host with `volume_gb`.
Global: the flavors and the keypair (created if missing), the image (must exist).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network

from egov.core.model import Estate, HostRole, Site, SubnetPurpose

TAG_PREFIX = "egov:"


@dataclass(frozen=True)
class Resource:
    kind: str
    name: str
    props: dict = field(default_factory=dict, hash=False, compare=False)
    project: str | None = None  # the project (by name) that owns it; None = the cloud's own scope
    site: str | None = None
    after: tuple[str, ...] = ()  # keys of what it needs

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


# the order kinds are created in (deleted in reverse)
KINDS = ("image", "flavor", "keypair", "project", "network", "rbac", "subnet", "router", "router_interface",
         "security_group", "port", "volume", "server", "volume_attachment")
# kinds egov never creates or deletes, only checks
CHECK_ONLY = {"image"}


@dataclass
class Graph:
    estate: str
    resources: list[Resource]

    @property
    def tag(self) -> str:
        return TAG_PREFIX + self.estate

    def by_key(self) -> dict[str, Resource]:
        return {r.key: r for r in self.resources}

    def of(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]

    def sites(self) -> list[str]:
        return sorted({r.site for r in self.resources if r.site})


def _rule(proto: str, lo: int | None, hi: int | None, cidr: str, why: str) -> dict:
    return {"direction": "ingress", "ethertype": "IPv4", "protocol": proto, "port_min": lo, "port_max": hi,
            "remote_ip_prefix": cidr, "description": why}


def management_cidrs(estate: Estate, site: Site) -> list[str]:
    if estate.cloud.management_cidrs:
        return [str(c) for c in estate.cloud.management_cidrs]
    own = [str(sn.cidr) for sn in site.subnets if sn.purpose == SubnetPurpose.mgmt]
    return own or [str(p.cidr) for p in estate.meta.pools if "manage" in p.purpose or p.purpose == "mgmt"]


def department_of(estate: Estate, host_id: str) -> str:
    _, h = estate.host(host_id)
    for d in estate.cloud.departments:
        if host_id in d.hosts:
            return d.id
    return next(d.id for d in estate.cloud.departments if h.role in d.roles)


def project_name(site: str, department: str) -> str:
    return f"{site}-{department}"


def security_rules(estate: Estate, site: Site, role: HostRole) -> list[dict]:
    """The ingress rules of one role's group at one site (egress stays the cloud's default)."""
    mgmt = management_cidrs(estate, site)
    rules = [r for c in mgmt for r in (_rule("tcp", 22, 22, c, "ssh from management"),
                                       _rule("icmp", None, None, c, "ping from management"))]
    by = {p: [str(sn.cidr) for sn in site.subnets if sn.purpose == p] for p in SubnetPurpose}
    all_app = [str(sn.cidr) for s in estate.sites for sn in s.subnets if sn.purpose == SubnetPurpose.app]
    all_db = [str(sn.cidr) for s in estate.sites for sn in s.subnets if sn.purpose == SubnetPurpose.db]
    app_ports = sorted({a.port for a in estate.applications})
    front_ports = sorted({p for a in estate.applications for p in (a.port, a.tls_port)})  # HTTPS + the redirect
    if role == HostRole.lb:
        rules += [_rule("tcp", p, p, str(c), "public front") for p in front_ports for c in estate.cloud.public_cidrs]
    elif role == HostRole.app:
        rules += [_rule("tcp", p, p, c, "apps from the front") for p in app_ports for c in by[SubnetPurpose.front]]
    elif role == HostRole.db:
        db_ports = sorted({d.port for d in estate.databases})
        rules += [_rule("tcp", p, p, c, "databases from the app subnets") for p in db_ports for c in all_app]
        rules += [_rule("tcp", p, p, c, "replication between db subnets") for p in db_ports for c in all_db]
    return sorted(rules, key=lambda r: (r["protocol"], r["port_min"] or 0, r["remote_ip_prefix"]))


def derive(estate: Estate, public_key: str) -> Graph:
    res: list[Resource] = []
    add = res.append
    cl = estate.cloud
    keypair = f"egov-{estate.meta.name}"
    add(Resource("image", cl.image, {"name": cl.image}))
    used = {h.flavor for _, h in estate.hosts()}
    for f in cl.flavors:
        if f.id in used:
            add(Resource("flavor", f.id, {"vcpus": f.vcpus, "ram": f.ram_mb, "disk": f.disk_gb}))
    add(Resource("keypair", keypair, {"public_key": public_key.strip()}))
    owner_dept = cl.departments[0].id
    for s in estate.sites:
        depts = sorted({department_of(estate, h.id) for h in s.hosts} | {owner_dept},
                       key=[d.id for d in cl.departments].index)
        projects = {d: project_name(s.id, d) for d in depts}
        for d in depts:
            dept = next(x for x in cl.departments if x.id == d)
            add(Resource("project", projects[d], {"description": f"{dept.name} @ {s.name}"}, site=s.id))
        net_owner = projects[owner_dept]
        router = f"{s.id}-router"
        for sn in s.subnets:
            add(Resource("network", sn.id, {"description": sn.name or sn.id}, net_owner, s.id,
                         (f"project/{net_owner}",)))
            for d in depts:
                if projects[d] != net_owner:
                    add(Resource("rbac", f"{sn.id}@{projects[d]}", {"network": sn.id, "target": projects[d]},
                                 net_owner, s.id, (f"network/{sn.id}", f"project/{projects[d]}")))
            gw = str(sn.gateway or next(sn.cidr.hosts()))
            add(Resource("subnet", sn.id, {"network": sn.id, "cidr": str(sn.cidr), "gateway_ip": gw,
                                           "enable_dhcp": False}, net_owner, s.id, (f"network/{sn.id}",)))
        add(Resource("router", router, {"description": f"{s.name} router"}, net_owner, s.id,
                     (f"project/{net_owner}",)))
        for sn in s.subnets:
            add(Resource("router_interface", f"{router}:{sn.id}", {"router": router, "subnet": sn.id}, net_owner,
                         s.id, (f"router/{router}", f"subnet/{sn.id}")))
        roles_in = {(department_of(estate, h.id), h.role) for h in s.hosts}
        for d, role in sorted(roles_in):
            add(Resource("security_group", f"{s.id}-{role.value}",
                         {"description": f"egov {role.value} hosts at {s.id}",
                          "rules": security_rules(estate, s, role)}, projects[d], s.id,
                         (f"project/{projects[d]}",)))
        front = next((sn for sn in s.subnets if sn.purpose == SubnetPurpose.front), None)
        if s.service_address is not None and front is not None:
            add(Resource("port", f"{s.id}-service", {"network": front.id, "subnet": front.id,
                                                     "fixed_ip": str(s.service_address), "security_groups": [],
                                                     "allowed_address_pairs": [],
                                                     "description": f"service address of {s.name}"},
                         net_owner, s.id, (f"subnet/{front.id}",)))
        for h in s.hosts:
            proj = projects[department_of(estate, h.id)]
            sg = f"{s.id}-{h.role.value}"
            pairs = [str(s.service_address)] if h.role == HostRole.lb and s.service_address else []
            port = f"{h.id}-eth0"
            add(Resource("port", port, {"network": h.subnet, "subnet": h.subnet, "fixed_ip": str(h.address),
                                        "security_groups": [sg], "allowed_address_pairs": pairs,
                                        "description": f"{h.id} eth0"}, proj, s.id,
                         (f"subnet/{h.subnet}", f"security_group/{sg}")
                         + ((f"rbac/{h.subnet}@{proj}",) if proj != net_owner else ())))
            after = [f"port/{port}", f"flavor/{h.flavor}", f"image/{cl.image}", f"keypair/{keypair}"]
            add(Resource("server", h.id, {"flavor": h.flavor, "image": cl.image, "key_name": keypair,
                                          "port": port, "metadata": {"egov": estate.meta.name, "site": s.id,
                                                                     "role": h.role.value, "name": h.name}},
                         proj, s.id, tuple(after)))
            if h.volume_gb:
                vol = f"{h.id}-data"
                add(Resource("volume", vol, {"size": h.volume_gb, "description": f"{h.id} data"}, proj, s.id,
                             (f"project/{proj}",)))
                add(Resource("volume_attachment", f"{vol}@{h.id}", {"volume": vol, "server": h.id}, proj, s.id,
                             (f"volume/{vol}", f"server/{h.id}")))
    return Graph(estate.meta.name, sorted(res, key=lambda r: KINDS.index(r.kind)))


def policy_violations(graph: Graph, public_cidrs: list[IPv4Network | str] | None = None) -> list[str]:
    """What breaks the security policy: anything open to the world but the front's app ports,
    SSH from outside management, database ports open beyond app/db subnets."""
    bad: list[str] = []
    for r in graph.of("security_group"):
        role = r.name.rsplit("-", 1)[-1]
        for rule in r.props["rules"]:
            world = IPv4Network(rule["remote_ip_prefix"]).prefixlen == 0
            if world and role != HostRole.lb.value:
                bad.append(f"{r.name}: {rule['protocol']} {rule['port_min']} open to the world")
            if world and rule["port_min"] == 22:
                bad.append(f"{r.name}: ssh open to the world")
    return bad
