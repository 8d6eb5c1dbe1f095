"""Write a new estate directory from a few numbers: towns, villages, sites.

Used to start a district's estate (its output is plain YAML the district then
owns and edits), to generate Panyu's ~270 village sites deterministically, the
second test estate, and the 10,000-device estate the benchmark validates.
The address plan it writes:

  10.{20+k}.0.0/16   pool for site k: front .1.0/24, app .2.0/24, db .3.0/24
  10.30.0.0/16       device management: city+core .0.0/24, town i .{i+1}.0/24
  10.40.0.0/16       town service-centre LANs: town i .{i+1}.0/24
  10.31.0.0/16       transit links (handed out by the network code)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_PARTS = list("东南西北新大小沙涌塘岗坑基围洲头山边湾龙凤石江水田朗岭口桥园村洞冲滘塱亭林安福和平兴隆")


@dataclass
class TownSpec:
    id: str
    name: str
    kind: str  # street | town
    villages: int


@dataclass
class SiteSpec:
    id: str
    name: str
    role: str  # primary | backup | witness
    prefix: str  # short host-name prefix, e.g. dfs
    backup_of: str | None = None
    hosts: dict[str, int] = field(default_factory=lambda: {"lb": 1, "app": 2, "db": 1})


@dataclass
class EstateSpec:
    name: str
    display_name: str
    region: str
    towns: list[TownSpec]
    sites: list[SiteSpec]


def _village_names(spec: EstateSpec) -> dict[str, list[str]]:
    rng = random.Random(f"egov:{spec.name}")
    used: set[str] = set()
    out: dict[str, list[str]] = {}
    for t in spec.towns:
        suffix = "社区" if t.kind == "street" else "村"
        names = []
        while len(names) < t.villages:
            n = "".join(rng.sample(_PARTS, 2)) + suffix
            if n in used:
                if len(used) > 0.8 * len(_PARTS) ** 2:  # huge synthetic estates: number them
                    n = f"{t.name}第{len(names) + 1}{suffix}"
                else:
                    continue
            used.add(n)
            names.append(n)
        out[t.id] = names
    return out


SITE_SUBNETS = [("front", "front", 1, 110), ("app", "app", 2, 120), ("db", "db", 3, 130)]
SUBNET_NAME = {"front": "前端服务网段", "app": "应用网段", "db": "数据库网段"}
ROLE_SUBNET = {"lb": "front", "app": "app", "db": "db", "witness": "db", "mgmt": "front", "monitor": "app"}
ROLE_OFFSET = {"lb": 11, "app": 21, "db": 31, "witness": 41, "mgmt": 51, "monitor": 61}
ROLE_NAME = {
    "lb": "负载均衡",
    "app": "应用服务器",
    "db": "数据库服务器",
    "witness": "仲裁节点",
    "mgmt": "管理节点",
    "monitor": "监控节点",
}


def sites_data(spec: EstateSpec) -> dict:
    sites = []
    for k, s in enumerate(spec.sites):
        base = f"10.{20 + k}"
        prefix = s.prefix
        subnets = [{"id": f"{prefix}-{sid}", "name": f"{s.name}{SUBNET_NAME[sid]}", "cidr": f"{base}.{octet}.0/24",
                    "pool": f"dc-{s.id}", "purpose": purpose, "vlan": vlan, "gateway": f"{base}.{octet}.1"}
                   for sid, purpose, octet, vlan in SITE_SUBNETS]
        hosts = []
        for role, count in s.hosts.items():
            sn = ROLE_SUBNET[role]
            octet = next(o for sid, _, o, _ in SITE_SUBNETS if sid == sn)
            for n in range(1, count + 1):
                hosts.append({"id": f"{prefix}-{role}{n}", "name": f"{s.name}{ROLE_NAME[role]}{n}", "role": role,
                              "subnet": f"{prefix}-{sn}", "address": f"{base}.{octet}.{ROLE_OFFSET[role] + n - 1}",
                              "flavor": "m1-large" if role == "db" else "m1-medium",
                              "volume_gb": 100 if role == "db" else 0})
        site = {"id": s.id, "name": s.name, "role": s.role}
        if s.backup_of:
            site["backup_of"] = s.backup_of
        site["service_address"] = f"{base}.1.10"
        site["subnets"] = subnets
        site["hosts"] = hosts
        site["dr"] = {"rpo": "0s", "rto": "30s", "first_write_rto": "5s", "switchover_interruption": "3s",
                      "gbt20988_level": 5}
        sites.append(site)
    return {"sites": sites}


VLANS = [
    {"id": 10, "name": "mgmt", "display_name": "网络管理"},
    {"id": 100, "name": "gov-office", "display_name": "政务办公"},
    {"id": 110, "name": "service-hall", "display_name": "便民服务大厅"},
    {"id": 120, "name": "video", "display_name": "视频会议与监控"},
]


def network_data(spec: EstateSpec) -> dict:
    names = _village_names(spec)
    d = spec.display_name
    net = {
        "vlans": VLANS,
        "subnets": [{"id": "mgmt-backbone", "name": "骨干网管理网段", "cidr": "10.30.0.0/24", "pool": "net-mgmt",
                     "purpose": "mgmt", "vlan": 10, "gateway": "10.30.0.1"}],
        "city": {"id": "city-uplink", "name": f"{spec.region}电子政务外网城域汇聚", "role": "city_uplink",
                 "platform": "huawei_vrp", "mgmt_ip": "10.30.0.2", "vlans": [10], "model": "NE40E-X8"},
        "core": {"id": f"{spec.name}-core", "name": f"{d}电子政务外网核心", "role": "core", "platform": "huawei_vrp",
                 "mgmt_ip": "10.30.0.3", "uplink": "city-uplink", "vlans": [10, 100, 110, 120], "model": "CE12808"},
        "towns": [],
    }
    for i, t in enumerate(spec.towns):
        third = i + 1
        router_platform = "huawei_vrp" if t.kind == "street" else "hp_comware"
        town = {
            "id": t.id, "name": t.name, "kind": t.kind,
            "subnets": [
                {"id": f"{t.id}-mgmt", "name": f"{t.name}网管网段", "cidr": f"10.30.{third}.0/24", "pool": "net-mgmt",
                 "purpose": "mgmt", "vlan": 10, "gateway": f"10.30.{third}.1"},
                {"id": f"{t.id}-svc", "name": f"{t.name}政务服务中心网段", "cidr": f"10.40.{third}.0/24",
                 "pool": "town-service", "purpose": "service", "vlan": 110, "gateway": f"10.40.{third}.1"},
            ],
            "router": {"id": f"{t.id}-agg", "name": f"{t.name}汇聚路由器", "role": "town_aggregation",
                       "platform": router_platform, "mgmt_ip": f"10.30.{third}.2", "uplink": f"{spec.name}-core",
                       "vlans": [10, 100, 110, 120], "location": f"{t.name}政务服务中心",
                       "model": "AR6280" if router_platform == "huawei_vrp" else "MSR3660"},
            "villages": [],
        }
        for j, vname in enumerate(names[t.id]):
            platform = "huawei_vrp" if j % 3 == 0 else "hp_comware"
            town["villages"].append({
                "id": f"{t.id}-v{j + 1:03d}", "name": f"{t.name}{vname}接入交换机", "role": "village_access",
                "platform": platform, "mgmt_ip": f"10.30.{third}.{j + 10}", "uplink": f"{t.id}-agg",
                "vlans": [10, 100, 110], "location": f"{t.name}{vname}",
                "model": "S5735-L24T4S" if platform == "huawei_vrp" else "S5130S-28S"})
        net["towns"].append(town)
    return net


def estate_data(spec: EstateSpec) -> dict:
    pools = [{"id": f"dc-{s.id}", "name": f"{s.name}地址池", "cidr": f"10.{20 + k}.0.0/16", "purpose": "datacenter"}
             for k, s in enumerate(spec.sites)]
    pools += [
        {"id": "net-mgmt", "name": "网络设备管理地址池", "cidr": "10.30.0.0/16", "purpose": "management"},
        {"id": "transit", "name": "互联链路地址池", "cidr": "10.31.0.0/16", "purpose": "transit"},
        {"id": "town-service", "name": "镇街政务服务中心地址池", "cidr": "10.40.0.0/16", "purpose": "service"},
    ]
    return {
        "name": spec.name,
        "display_name": spec.display_name,
        "region": spec.region,
        "pools": pools,
        "ntp_servers": ["10.30.0.2"],
        "login_banner": f"本系统为{spec.region}{spec.display_name}电子政务系统，"
        "仅限授权人员使用，所有操作均被记录和审计。",
    }


BASE_DATABASES = [
    ("population", "人口基础信息库", "persons, households and addresses keyed by citizen ID number"),
    ("legal-entities", "法人单位基础信息库", "legal entities keyed by unified social credit code"),
    ("spatial-geo", "自然资源和空间地理基础信息库", "land parcels, use and coordinates by town"),
    ("macro-economy", "宏观经济基础信息库", "economic indicators by year and town"),
]


def databases_data(spec: EstateSpec) -> dict:
    primary = next(s for s in spec.sites if s.role == "primary")
    pp = primary.prefix
    standbys = [f"{s.prefix}-db1" for s in spec.sites if s.role == "backup"]
    return {"databases": [
        {"id": i, "name": n, "description": desc, "owner_site": primary.id, "primary_host": f"{pp}-db1",
         "replication": {"mode": "synchronous", "standby_hosts": standbys}, "port": 5432}
        for i, n, desc in BASE_DATABASES]}


BASE_APPS = [
    ("one-stop-approval", "一站式审批系统", ["population", "legal-entities", "spatial-geo"], 8101,
     [{"id": "one-form-joint", "name": "企业开办一表通联合审批"}]),
    ("hotline-12345", "12345政务服务便民热线", ["population"], 8102, []),
    ("service-hall", "网上办事大厅", ["population", "legal-entities"], 8103,
     [{"id": "hundred-items", "name": "百项服务事项办事指南"}]),
    ("e-supervision", "电子监察系统", ["macro-economy"], 8104, []),
]


def apps_data(spec: EstateSpec) -> dict:
    runs_on = {}
    for s in spec.sites:
        n = s.hosts.get("app", 0)
        if n and s.role in ("primary", "backup"):
            runs_on[s.id] = [f"{s.prefix}-app{k}" for k in range(1, n + 1)]
    return {"applications": [
        {"id": i, "name": n, "databases": dbs, "port": port, "health_path": "/healthz", "modules": mods,
         "runs_on": runs_on} for i, n, dbs, port, mods in BASE_APPS]}


def build(spec: EstateSpec) -> dict[str, dict]:
    return {"estate.yaml": estate_data(spec), "sites.yaml": sites_data(spec), "network.yaml": network_data(spec),
            "databases.yaml": databases_data(spec), "apps.yaml": apps_data(spec)}


def dump(data: dict) -> str:
    try:
        from yaml import CSafeDumper as Dumper
    except ImportError:  # pragma: no cover
        from yaml import SafeDumper as Dumper  # type: ignore[assignment]
    return yaml.dump(data, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=120)


def write(spec: EstateSpec, out: Path, only: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for file, data in build(spec).items():
        if only and file not in only:
            continue
        p = out / file
        p.write_text(f"# generated by egov.scaffold for {spec.name}; edit freely, it is the estate now\n" + dump(data),
                     encoding="utf-8")
        written.append(p)
    return written


def synthetic(devices: int, name: str = "synthetic") -> EstateSpec:
    """An estate of about `devices` network devices (for benchmarks): 100 villages per town at most."""
    per_town = 99
    towns = max(1, -(-(devices - 2) // (per_town + 1)))
    villages = (devices - 2) - towns
    specs = []
    for i in range(towns):
        n = min(per_town, villages - per_town * i) if i < towns - 1 else villages - per_town * (towns - 1)
        specs.append(TownSpec(f"town{i + 1:03d}", f"第{i + 1}镇", "town", max(0, n)))
    return EstateSpec(
        name,
        "合成区",
        "合成市",
        specs,
        [
            SiteSpec("main-dc", "主数据中心", "primary", "main"),
            SiteSpec("backup-dc", "备份中心", "backup", "bak", "main-dc"),
        ],
    )
