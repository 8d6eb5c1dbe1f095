"""`egov cloud plan|apply|destroy`: the graph applied to any clouds.yaml cloud with openstacksdk.

Each resource is found by name among what carries the estate's tag (`egov:<estate>`; servers and
volumes by their `egov` metadata, keypairs and flavors by name): missing ones are created, drifted
ones updated in place, and with `--prune` tagged ones the estate no longer has are deleted.
Changes that cannot be made in place (a server's flavor, a subnet's CIDR) are planned as
`replace` and applied only with `allow_replace`; a server in ERROR is always replaced.

Before any change, `preflight` checks what would make the apply fail halfway: credentials and
endpoints, the services needed, the image, the flavors, and every project's quotas. An apply
that still fails halfway (a server that does not boot) stops at that resource; everything made so
far is tagged, so the next apply finds it and completes the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from egov.cloud.graph import CHECK_ONLY, KINDS, Graph, Resource
from egov.core import paths
from egov.core.errors import EgovError

Progress = Callable[[str, str], None]

REPLACE_FIELDS = {"subnet": {"cidr", "network"}, "port": {"network"}, "flavor": {"vcpus", "ram", "disk"},
                  "server": {"flavor", "image", "key_name", "port"}, "volume": {"size"},
                  "rbac": {"network", "target"}, "router_interface": {"router", "subnet"},
                  "volume_attachment": {"volume", "server"}, "keypair": {"public_key"}}


COMPUTE_QUOTAS = ("instances", "cores", "ram")
NETWORK_QUOTAS = ("ports", "networks", "subnets", "routers", "security_groups", "security_group_rules")


class CloudApiError(EgovError):
    """A cloud refused, or could not be reached, or would not fit the estate."""


def one_line(problems: list[str]) -> str:
    """The first problem, and how many more there are."""
    return problems[0] + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")


@dataclass
class Observed:
    kind: str
    name: str
    id: object
    props: dict
    project: str | None = None
    status: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class Action:
    op: str  # ok | create | update | replace | delete
    key: str
    want: Resource | None = None
    have: Observed | None = None
    changes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.op} {self.key}" + (f" ({'; '.join(self.changes)})" if self.changes else "")


# ----------------------------------------------------------------------------- connecting
def config_files(state_dir: Path) -> list[str]:
    from openstack.config import loader

    embedded = paths.at(state_dir).embedded_cloud / "clouds.yaml"
    return ([str(embedded)] if embedded.exists() else []) + list(loader.CONFIG_FILES)


def connect(cloud: str, state_dir: Path):
    """An authenticated connection, or one clear line naming the cloud and what is wrong."""
    import keystoneauth1.exceptions as ka
    import openstack
    from openstack import exceptions as osx
    from openstack.config import loader

    try:
        region = loader.OpenStackConfig(config_files=config_files(state_dir)).get_one(cloud=cloud)
    except osx.ConfigException as e:
        hint = " (for the embedded cloud run `egov cloud up` first)" if cloud == "egov-embedded" else ""
        raise CloudApiError(f"cloud {cloud!r}: not in clouds.yaml ({e}){hint}") from None
    conn = openstack.connection.Connection(config=region)
    url = region.config.get("auth", {}).get("auth_url", "?")
    try:
        conn.authorize()
    except Exception as e:  # noqa: BLE001 - openstacksdk wraps keystoneauth's errors; unwrap to say which
        cause = e
        while not isinstance(cause, (ka.ClientException, osx.HttpException)) and cause.__context__ is not None:
            cause = cause.__context__
        code = getattr(cause, "http_status", None) or getattr(cause, "status_code", None)
        if isinstance(cause, ka.Unauthorized) or code in (401, 403):
            user = region.config.get("auth", {}).get("username", "?")
            raise CloudApiError(f"cloud {cloud!r}: authentication failed for user {user!r} at {url} "
                                "(check the credentials in clouds.yaml)") from None
        if isinstance(cause, (ka.ConnectFailure, ka.ConnectTimeout, ka.DiscoveryFailure, ka.SSLError)):
            raise CloudApiError(f"cloud {cloud!r}: cannot reach the identity endpoint {url} "
                                f"({type(cause).__name__})") from None
        raise CloudApiError(f"cloud {cloud!r}: identity service at {url} failed: "
                            f"{str(e).splitlines()[0][:200]}") from None
    return conn


# ----------------------------------------------------------------------------- observing
def _rule(r) -> dict:
    return {"direction": r.direction, "ethertype": r.ether_type, "protocol": r.protocol,
            "port_min": r.port_range_min, "port_max": r.port_range_max,
            "remote_ip_prefix": r.remote_ip_prefix, "description": r.description or ""}


def _rkey(r: dict) -> tuple:
    return (r["protocol"], r["port_min"], r["port_max"], r["remote_ip_prefix"], r["direction"], r["ethertype"])


class Cloud:
    """One cloud, seen through openstacksdk: observe, check, create, update, delete."""

    def __init__(self, name: str, conn, graph: Graph):
        self.name, self.conn, self.graph, self.tag = name, conn, graph, graph.tag
        self.ids: dict[str, object] = {}  # key -> id, for references
        self.project_ids: dict[str, str] = {}
        self._scoped: dict[str, object] = {}

    def has_volumes(self) -> bool:
        return self.conn.has_service("block-storage") or self.conn.has_service("volumev3")

    # -- observe --------------------------------------------------------------------
    def observe(self) -> dict[str, Observed]:
        c, tag, out = self.conn, self.tag, {}

        def put(o: Observed):
            out[o.key] = o
            self.ids[o.key] = o.id

        want = self.graph.by_key()
        for r in self.graph.of("image"):
            img = c.image.find_image(r.name)
            if img is not None:
                put(Observed("image", r.name, img.id, {"name": r.name}, status=img.status))
        for r in self.graph.of("flavor"):
            f = c.compute.find_flavor(r.name, ignore_missing=True)
            if f is not None:
                put(Observed("flavor", r.name, f.id, {"vcpus": f.vcpus, "ram": f.ram, "disk": f.disk}))
        kp_names = {r.name for r in self.graph.of("keypair")} | {f"egov-{self.graph.estate}"}
        for name in kp_names:
            kp = c.compute.find_keypair(name, ignore_missing=True)
            if kp is not None:
                put(Observed("keypair", name, kp.name, {"public_key": (kp.public_key or "").strip()}))
        pname = {}
        for p in c.identity.projects(tags=tag):
            pname[p.id] = p.name
            self.project_ids[p.name] = p.id
            put(Observed("project", p.name, p.id, {"description": p.description or ""}))
        for p in self.graph.of("project"):  # exists but not ours: a conflict, not a create
            if p.key not in out and c.identity.find_project(p.name, domain_id="default") is not None:
                raise CloudApiError(f"cloud {self.name!r}: project {p.name} exists but has no {tag} tag; "
                                    "egov will not take it over (tag it or rename the department)")
        nets = {}
        for n in c.network.networks(tags=tag):
            nets[n.id] = n.name
            put(Observed("network", n.name, n.id, {"description": n.description or ""}, pname.get(n.project_id)))
        for rb in c.network.rbac_policies(object_type="network", action="access_as_shared"):
            if rb.object_id in nets and rb.target_project_id in pname:
                name = f"{nets[rb.object_id]}@{pname[rb.target_project_id]}"
                put(Observed("rbac", name, rb.id, {"network": nets[rb.object_id],
                                                   "target": pname[rb.target_project_id]}))
        subs = {}
        for s in c.network.subnets(tags=tag):
            subs[s.id] = s.name
            put(Observed("subnet", s.name, s.id, {"network": nets.get(s.network_id), "cidr": s.cidr,
                                                  "gateway_ip": s.gateway_ip, "enable_dhcp": s.is_dhcp_enabled},
                         pname.get(s.project_id)))
        routers = {r.id: r for r in c.network.routers(tags=tag)}
        for r in routers.values():
            put(Observed("router", r.name, r.id, {"description": r.description or ""}, pname.get(r.project_id)))
        # one read each for all routers' interfaces and all groups' rules, not one per router or group
        for p in (c.network.ports(device_owner="network:router_interface", device_id=list(routers))
                  if routers else []):
            r = routers.get(p.device_id)
            for ip in p.fixed_ips if r else []:
                if ip["subnet_id"] in subs:
                    sn = subs[ip["subnet_id"]]
                    put(Observed("router_interface", f"{r.name}:{sn}", (r.id, ip["subnet_id"]),
                                 {"router": r.name, "subnet": sn}))
        groups = list(c.network.security_groups(tags=tag))
        sgs = {g.id: g.name for g in groups}
        rules: dict[str, list[dict]] = {g.id: [] for g in groups}
        for x in (c.network.security_group_rules(direction="ingress", security_group_id=list(rules))
                  if groups else []):
            if x.security_group_id in rules:
                rules[x.security_group_id].append(_rule(x))
        for g in groups:
            put(Observed("security_group", g.name, g.id, {"description": g.description or "", "rules": rules[g.id]},
                         pname.get(g.project_id)))
        ports_by_device = {}
        for p in c.network.ports(tags=tag):
            ip = p.fixed_ips[0] if p.fixed_ips else {}
            put(
                Observed(
                    "port",
                    p.name,
                    p.id,
                    {
                        "network": nets.get(p.network_id),
                        "subnet": subs.get(ip.get("subnet_id")),
                        "fixed_ip": ip.get("ip_address"),
                        "security_groups": sorted(sgs.get(x, x) for x in p.security_group_ids),
                        "allowed_address_pairs": sorted(a["ip_address"] for a in p.allowed_address_pairs or []),
                        "description": p.description or "",
                    },
                    pname.get(p.project_id),
                )
            )
            if p.device_id:
                ports_by_device.setdefault(p.device_id, []).append(p.name)
        images = {o.id: o.name for o in out.values() if o.kind == "image"}
        for s in c.compute.servers(all_projects=True, details=True):
            if (s.metadata or {}).get("egov") != self.graph.estate:
                continue
            flavor = (s.flavor or {}).get("original_name") or (s.flavor or {}).get("name")
            image = images.get((s.image or {}).get("id"), (s.image or {}).get("id"))
            put(Observed("server", s.name, s.id, {"flavor": flavor, "image": image, "key_name": s.key_name,
                                                  "port": (sorted(ports_by_device.get(s.id, [])) or [None])[0],
                                                  "metadata": dict(s.metadata or {})},
                         pname.get(s.project_id), status=s.status))
        if any(r.kind == "volume" for r in want.values()) and self.has_volumes():
            servers = {o.id: o.name for o in out.values() if o.kind == "server"}
            for v in c.block_storage.volumes(all_projects=True, details=True):
                if (v.metadata or {}).get("egov") != self.graph.estate:
                    continue
                put(Observed("volume", v.name, v.id, {"size": v.size, "description": v.description or ""},
                             status=v.status))
                for a in v.attachments or []:
                    if a.get("server_id") in servers:
                        put(Observed("volume_attachment", f"{v.name}@{servers[a['server_id']]}",
                                     (a["server_id"], v.id), {"volume": v.name, "server": servers[a["server_id"]]}))
        return out

    # -- checks ---------------------------------------------------------------------
    def preflight(self, actions: list[Action]) -> list[str]:
        """Everything that would stop the apply halfway, found before any change."""
        problems: list[str] = []
        c, n = self.conn, self.name
        creates = [a for a in actions if a.op in ("create", "replace")]
        for svc in ("compute", "network", "image"):
            if not c.has_service(svc):
                problems.append(f"cloud {n!r}: no {svc} service in the catalog")
        if problems:
            return problems
        for a in actions:
            if a.want and a.want.kind == "image" and (a.have is None or a.have.status != "active"):
                problems.append(f"cloud {n!r}: image {a.want.name!r} is missing"
                                + (f" (status {a.have.status})" if a.have else "")
                                + "; upload it or set `image:` in cloud.yaml")
        admin = "admin" in (c.session.auth.get_access(c.session).role_names or [])
        for a in creates:
            if a.want.kind in ("flavor", "project") and not admin:
                problems.append(f"cloud {n!r}: {a.want.kind} {a.want.name!r} is missing and this user is not an "
                                "admin, so egov cannot create it")
            if a.want.kind == "flavor" and a.op == "replace":
                problems.append(f"cloud {n!r}: flavor {a.want.name} differs ({'; '.join(a.changes)}); flavors "
                                "cannot change in place, fix cloud.yaml or the cloud")
        if any(a.want and a.want.kind == "volume" for a in creates) and not self.has_volumes():
            problems.append(f"cloud {n!r}: no block-storage (cinder) service, so the estate's volumes cannot be "
                            "made; use --without-volumes to keep data on the servers' root disks")
        problems += self._quotas(creates)
        return problems

    def _limits(self, pid: str | None) -> dict[str, tuple[int, int]]:
        """(limit, in use) per quota of an existing project, or the defaults a new one will get."""
        c = self.conn
        if pid is None:
            qc = c.compute.get_quota_set_defaults(c.current_project_id)
            qn = c.network.get_quota_default(c.current_project_id)
        else:
            qc = c.compute.get_quota_set(pid, usage=True)
            qn = c.network.get_quota(pid, details=True)
        usage = getattr(qc, "usage", None) or {}

        def pair(q, used):  # a number, or a {limit, used|in_use} record
            return (q.get("limit", -1), q.get("used", q.get("in_use", 0))) if isinstance(q, dict) else (q, used)
        return {**{k: pair(getattr(qc, k), usage.get(k, 0)) for k in COMPUTE_QUOTAS},
                **{k: pair(getattr(qn, k), 0) for k in NETWORK_QUOTAS}}

    def _quotas(self, creates: list[Action]) -> list[str]:
        flavors = {r.name: r.props for r in self.graph.of("flavor")}
        need: dict[str, dict[str, int]] = {}
        for a in creates:
            r = a.want
            if r.project is None:
                continue
            d = need.setdefault(r.project, {})
            inc = {"server": {"instances": 1, "cores": flavors.get(r.props.get("flavor"), {}).get("vcpus", 0),
                              "ram": flavors.get(r.props.get("flavor"), {}).get("ram", 0)},
                   "port": {"ports": 1}, "security_group": {"security_groups": 1,
                                                            "security_group_rules": len(r.props.get("rules", []))},
                   "network": {"networks": 1}, "subnet": {"subnets": 1}, "router": {"routers": 1},
                   "volume": {"volumes": 1, "gigabytes": r.props.get("size", 0)}}.get(r.kind, {})
            for k, v in inc.items():
                d[k] = d.get(k, 0) + v
        problems = []
        for proj, want in need.items():
            limits = self._limits(self.project_ids.get(proj))
            for k, n in want.items():
                limit, used = limits.get(k, (-1, 0))
                if limit is not None and limit >= 0 and used + n > limit:
                    problems.append(f"cloud {self.name!r}: project {proj} needs {n} more {k} but its quota is "
                                    f"{limit} with {used} in use")
        return problems

    # -- changes --------------------------------------------------------------------
    def _id(self, kind: str, name: str):
        try:
            return self.ids[f"{kind}/{name}"]
        except KeyError:
            raise CloudApiError(f"cloud {self.name!r}: {kind} {name} is needed but does not exist") from None

    def _pid(self, project: str | None):
        return self.project_ids.get(project) if project else None

    def _scoped_conn(self, project: str):
        if project not in self._scoped:
            self._scoped[project] = self.conn.connect_as_project({"name": project, "domain_id": "default"})
        return self._scoped[project]

    def create(self, r: Resource) -> None:
        c, net, p = self.conn, self.conn.network, r.props
        pid = self._pid(r.project)
        if r.kind == "flavor":
            obj = c.compute.create_flavor(name=r.name, vcpus=p["vcpus"], ram=p["ram"], disk=p["disk"], is_public=True)
            oid = obj.id
        elif r.kind == "keypair":
            oid = c.compute.create_keypair(name=r.name, public_key=p["public_key"]).name
        elif r.kind == "project":
            obj = c.identity.create_project(name=r.name, domain_id="default", description=p["description"],
                                            tags=[self.tag])
            self.project_ids[r.name] = oid = obj.id
            role = c.identity.find_role("admin")
            c.identity.assign_project_role_to_user(obj, c.current_user_id, role)
        elif r.kind == "network":
            oid = net.create_network(name=r.name, project_id=pid, description=p["description"]).id
            net.set_tags(net.get_network(oid), [self.tag])
        elif r.kind == "rbac":
            oid = net.create_rbac_policy(object_type="network", object_id=self._id("network", p["network"]),
                                         action="access_as_shared", target_tenant=self.project_ids[p["target"]]).id
        elif r.kind == "subnet":
            oid = net.create_subnet(name=r.name, network_id=self._id("network", p["network"]), project_id=pid,
                                    ip_version=4, cidr=p["cidr"], gateway_ip=p["gateway_ip"],
                                    enable_dhcp=p["enable_dhcp"]).id
            net.set_tags(net.get_subnet(oid), [self.tag])
        elif r.kind == "router":
            oid = net.create_router(name=r.name, project_id=pid, description=p["description"]).id
            net.set_tags(net.get_router(oid), [self.tag])
        elif r.kind == "router_interface":
            rid, sid = self._id("router", p["router"]), self._id("subnet", p["subnet"])
            net.add_interface_to_router(rid, subnet_id=sid)
            oid = (rid, sid)
        elif r.kind == "security_group":
            g = net.create_security_group(name=r.name, project_id=pid, description=p["description"])
            net.set_tags(g, [self.tag])
            oid = g.id
            self._rules(g.id, pid, add=p["rules"], remove=[])
        elif r.kind == "port":
            oid = net.create_port(**self._port_attrs(r), project_id=pid).id
            net.set_tags(net.get_port(oid), [self.tag])
        elif r.kind == "server":
            sc = self._scoped_conn(r.project)
            oid = sc.compute.create_server(
                name=r.name, flavor_id=self._id("flavor", p["flavor"]), image_id=self._id("image", p["image"]),
                key_name=p["key_name"], networks=[{"port": self._id("port", p["port"])}], metadata=p["metadata"]).id
        elif r.kind == "volume":
            sc = self._scoped_conn(r.project)
            oid = sc.block_storage.create_volume(name=r.name, size=p["size"], description=p["description"],
                                                 metadata={"egov": self.graph.estate}).id
            sc.block_storage.wait_for_status(sc.block_storage.get_volume(oid), "available", wait=300)
        elif r.kind == "volume_attachment":
            sc = self._scoped_conn(r.project)
            sid, vid = self._id("server", p["server"]), self._id("volume", p["volume"])
            sc.compute.create_volume_attachment(sid, volume_id=vid)
            oid = (sid, vid)
        else:
            raise CloudApiError(f"egov cannot create a {r.kind}")
        self.ids[r.key] = oid

    def _port_attrs(self, r: Resource) -> dict:
        p = r.props
        return {"name": r.name, "network_id": self._id("network", p["network"]), "description": p["description"],
                "fixed_ips": [{"subnet_id": self._id("subnet", p["subnet"]), "ip_address": p["fixed_ip"]}],
                "security_group_ids": [self._id("security_group", g) for g in p["security_groups"]],
                "allowed_address_pairs": [{"ip_address": ip} for ip in p["allowed_address_pairs"]]}

    def _rules(self, gid, pid, *, add: list[dict], remove: list[dict]) -> None:
        net = self.conn.network
        if remove:
            gone = {_rkey(r) for r in remove}
            for x in net.security_group_rules(security_group_id=gid):
                if x.direction == "ingress" and _rkey(_rule(x)) in gone:
                    net.delete_security_group_rule(x)
        for r in add:
            net.create_security_group_rule(
                security_group_id=gid, direction=r["direction"], ether_type=r["ethertype"], protocol=r["protocol"],
                port_range_min=r["port_min"], port_range_max=r["port_max"], remote_ip_prefix=r["remote_ip_prefix"],
                description=r["description"], project_id=pid)

    def update(self, r: Resource, have: Observed) -> None:
        net, p = self.conn.network, r.props
        if r.kind == "project":
            self.conn.identity.update_project(have.id, description=p["description"])
        elif r.kind == "network":
            net.update_network(have.id, description=p["description"])
        elif r.kind == "router":
            net.update_router(have.id, description=p["description"])
        elif r.kind == "subnet":
            net.update_subnet(have.id, gateway_ip=p["gateway_ip"], enable_dhcp=p["enable_dhcp"])
        elif r.kind == "security_group":
            want, got = {_rkey(x): x for x in p["rules"]}, {_rkey(x): x for x in have.props["rules"]}
            if p["description"] != have.props["description"]:
                net.update_security_group(have.id, description=p["description"])
            self._rules(have.id, self._pid(r.project), add=[x for k, x in want.items() if k not in got],
                        remove=[x for k, x in got.items() if k not in want])
        elif r.kind == "port":
            attrs = self._port_attrs(r)
            attrs.pop("network_id")
            net.update_port(have.id, **attrs)
        elif r.kind == "server":
            self.conn.compute.set_server_metadata(have.id, **p["metadata"])
        else:
            raise CloudApiError(f"egov cannot update a {r.kind} in place")

    def delete(self, have: Observed) -> None:
        c, net = self.conn, self.conn.network
        k = have.kind
        if k == "server":
            srv = c.compute.find_server(have.id, ignore_missing=True, all_projects=True)
            if srv is not None:
                c.compute.delete_server(srv)
                c.compute.wait_for_delete(srv, wait=300)
        elif k == "volume_attachment":
            c.compute.delete_volume_attachment(have.id[1], have.id[0], ignore_missing=True)
        elif k == "volume":
            c.block_storage.delete_volume(have.id, ignore_missing=True)
        elif k == "port":
            net.delete_port(have.id, ignore_missing=True)
        elif k == "security_group":
            net.delete_security_group(have.id, ignore_missing=True)
        elif k == "router_interface":
            net.remove_interface_from_router(have.id[0], subnet_id=have.id[1])
        elif k == "router":
            net.delete_router(have.id, ignore_missing=True)
        elif k == "subnet":
            net.delete_subnet(have.id, ignore_missing=True)
        elif k == "rbac":
            net.delete_rbac_policy(have.id, ignore_missing=True)
        elif k == "network":
            net.delete_network(have.id, ignore_missing=True)
        elif k == "project":
            for g in net.security_groups(project_id=have.id):  # neutron's per-project "default" group
                net.delete_security_group(g, ignore_missing=True)
            c.identity.delete_project(have.id, ignore_missing=True)
        elif k == "keypair":
            c.compute.delete_keypair(have.id, ignore_missing=True)
        elif k == "flavor":
            c.compute.delete_flavor(have.id, ignore_missing=True)
        self.ids.pop(have.key, None)

    def wait_servers(self, names: list[str], timeout: float = 300) -> None:
        """Wait until every named server is ACTIVE; a server in ERROR is one clear line."""
        c = self.conn
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending:
            for name in sorted(pending):
                s = c.compute.get_server(self.ids[f"server/{name}"])
                if s.status == "ACTIVE":
                    pending.discard(name)
                elif s.status == "ERROR":
                    why = (s.fault or {}).get("message", "no fault recorded")
                    raise CloudApiError(f"cloud {self.name!r}: server {name} failed to build: {why} "
                                        "(the next `egov cloud apply` replaces it)")
            if pending and time.monotonic() > deadline:
                raise CloudApiError(f"cloud {self.name!r}: servers not ACTIVE after {timeout:.0f}s: "
                                    f"{', '.join(sorted(pending))}")
            if pending:
                time.sleep(0.5)


# ----------------------------------------------------------------------------- planning
def diff(want: Resource, have: Observed) -> tuple[str, list[str]]:
    changes = []
    replace = False
    for k, v in want.props.items():
        got = have.props.get(k)
        if k == "rules":
            a, b = {_rkey(x) for x in v}, {_rkey(x) for x in got or []}
            if a != b:
                changes.append(f"rules +{len(a - b)} -{len(b - a)}")
        elif k == "metadata":
            if any((got or {}).get(mk) != mv for mk, mv in v.items()):
                changes.append("metadata")
        elif v != got:
            changes.append(f"{k}: {got!r} -> {v!r}")
            replace |= k in REPLACE_FIELDS.get(want.kind, set())
    if have.kind == "server" and have.status == "ERROR":
        return "replace", changes + ["status ERROR"]
    if not changes:
        return "ok", []
    return ("replace" if replace else "update"), changes


def plan(graph: Graph, observed: dict[str, Observed], *, prune: bool = False) -> list[Action]:
    actions: list[Action] = []
    want = graph.by_key()
    for r in graph.resources:
        have = observed.get(r.key)
        if r.kind in CHECK_ONLY:
            actions.append(Action("ok" if have else "missing", r.key, r, have))
        elif have is None:
            actions.append(Action("create", r.key, r))
        else:
            op, changes = diff(r, have)
            actions.append(Action(op, r.key, r, have, changes))
    if prune:
        for key, have in observed.items():
            if key not in want and have.kind not in CHECK_ONLY | {"flavor"}:
                actions.append(Action("delete", key, None, have))
    return actions


def order(actions: list[Action]) -> list[Action]:
    """Deletes first (reverse dependency order), then creates and updates (dependency order)."""
    dels = [a for a in actions if a.op in ("delete", "replace")]
    dels.sort(key=lambda a: -KINDS.index((a.have or a.want).kind))
    ups = [a for a in actions if a.op in ("create", "update", "replace")]
    ups.sort(key=lambda a: KINDS.index(a.want.kind))
    return [*(Action("delete", a.key, None, a.have) for a in dels), *ups]


def summary(actions: list[Action]) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in actions:
        out[a.op] = out.get(a.op, 0) + 1
    return out


def check(cloud: Cloud, actions: list[Action], *, allow_replace: bool = False) -> None:
    """Refuse, in one line, a plan that cannot be applied whole: run it for every cloud before any changes."""
    problems = cloud.preflight(actions)  # first: what the cloud lacks outranks what the plan would replace
    if problems:
        raise CloudApiError(one_line(problems))
    blocked = [a for a in actions if a.op == "replace" and not allow_replace
               and not (a.have and a.have.status == "ERROR")]
    if blocked:
        raise CloudApiError(f"cloud {cloud.name!r}: {len(blocked)} resource(s) can only change by being replaced: "
                            + "; ".join(a.line() for a in blocked[:3]) + " (re-run with --allow-replace)")


def execute(cloud: Cloud, actions: list[Action], *, progress: Progress = lambda _k, _m: None,
            done: list[str] | None = None) -> list[str]:
    """Run checked actions; returns one line per change made. `done` (if given) grows as each
    change is made, so a caller's journal holds what was changed even when a later one fails."""
    done = [] if done is None else done
    new_servers: list[str] = []
    steps = order(actions)
    for a in steps:
        progress(a.op, a.key)
        try:
            if a.op == "delete":
                cloud.delete(a.have)
            elif a.op in ("create", "replace"):
                cloud.create(a.want)
                if a.want.kind == "server":
                    new_servers.append(a.want.name)
                if a.want.kind == "volume_attachment" and new_servers:
                    cloud.wait_servers(new_servers)
                    new_servers = []
            else:
                cloud.update(a.want, a.have)
        except CloudApiError:
            raise
        except Exception as e:  # noqa: BLE001 - every API error becomes one line naming the resource
            msg = str(getattr(e, "details", None) or e).strip().splitlines()[0][:300]
            raise CloudApiError(f"cloud {cloud.name!r}: {a.op} {a.key} failed: {msg} "
                                f"({len(done)} change(s) made before it; the next apply completes the rest)") from None
        done.append(f"{a.op} {a.key}" + (f" ({'; '.join(a.changes)})" if a.changes else ""))
    if new_servers:
        progress("wait", f"{len(new_servers)} servers ACTIVE")
        cloud.wait_servers(new_servers)
    return done
