"""`egov show`: the estate at a glance, as data (for --json) and as rich tables."""

from __future__ import annotations

from collections import Counter

from rich.console import Console, Group
from rich.table import Table
from rich.tree import Tree

from egov.core.model import Estate

TIERS = [("city_uplink", "city uplink 市级汇聚"), ("core", "district core 区级核心"),
         ("town_aggregation", "town/street 镇街汇聚"), ("village_access", "village/community 村居接入")]


def _secs(td) -> float | None:
    return None if td is None else td.total_seconds()


def summarize(e: Estate) -> dict:
    devices = [d for _, d in e.devices()]
    by_role = Counter(d.role.value for d in devices)
    platforms: dict[str, Counter] = {}
    for d in devices:
        platforms.setdefault(d.role.value, Counter())[d.platform.value] += 1
    return {
        "estate": {"name": e.meta.name, "display_name": e.meta.display_name, "region": e.meta.region,
                   "digest": e.digest, "source": e.source},
        "sites": [{
            "id": s.id, "name": s.name, "role": s.role.value, "backup_of": s.backup_of,
            "service_address": str(s.service_address) if s.service_address else None,
            "subnets": [{"id": sn.id, "cidr": str(sn.cidr), "purpose": sn.purpose.value} for sn in s.subnets],
            "hosts": [{"id": h.id, "name": h.name, "role": h.role.value, "address": str(h.address)} for h in s.hosts],
            "dr": {"rpo_s": _secs(s.dr.rpo), "rto_s": _secs(s.dr.rto), "first_write_rto_s": _secs(s.dr.first_write_rto),
                   "switchover_interruption_s": _secs(s.dr.switchover_interruption),
                   "gbt20988_level": s.dr.gbt20988_level},
        } for s in e.sites],
        "network": {
            "devices": len(devices),
            "tiers": [{"role": r, "label": label, "count": by_role.get(r, 0),
                       "platforms": dict(sorted(platforms.get(r, {}).items()))} for r, label in TIERS],
            "towns": [{"id": t.id, "name": t.name, "kind": t.kind.value, "router": t.router.id,
                       "villages": len(t.villages)} for t in e.network.towns],
            "vlans": [{"id": v.id, "name": v.name, "display_name": v.display_name} for v in e.network.vlans],
        },
        "databases": [{"id": d.id, "name": d.name, "owner_site": d.owner_site, "primary_host": d.primary_host,
                       "replication": d.replication.mode.value, "standby_hosts": d.replication.standby_hosts}
                      for d in e.databases],
        "applications": [{"id": a.id, "name": a.name, "databases": a.databases, "port": a.port,
                          "modules": [m.name for m in a.modules], "runs_on": a.runs_on} for a in e.applications],
    }


def render(data: dict, console: Console) -> None:
    est = data["estate"]
    console.print(
        f"[bold]{est['display_name']}[/] ({est['name']}) — {est['region'] or ''}  [dim]{est['digest'][:19]}…[/]"
    )

    sites = Table(title="Sites 数据中心", title_justify="left")
    for col in ("id", "name", "role", "hosts", "service address", "RPO", "RTO", "GB/T 20988"):
        sites.add_column(col, overflow="fold")
    for s in data["sites"]:
        roles = Counter(h["role"] for h in s["hosts"])
        role = s["role"] + (f" of {s['backup_of']}" if s["backup_of"] else "")
        sites.add_row(s["id"], s["name"], role, ", ".join(f"{n} {r}" for r, n in sorted(roles.items())) or "-",
                      s["service_address"] or "-", f"{s['dr']['rpo_s']:g}s", f"{s['dr']['rto_s']:g}s",
                      str(s["dr"]["gbt20988_level"] or "-"))

    tiers = Table(title=f"Network 四级网络: {data['network']['devices']} devices", title_justify="left")
    for col in ("tier", "devices", "platforms"):
        tiers.add_column(col, overflow="fold")
    for t in data["network"]["tiers"]:
        tiers.add_row(t["label"], str(t["count"]), ", ".join(f"{p} {n}" for p, n in t["platforms"].items()))

    tree = Tree("city uplink → district core")
    towns = data["network"]["towns"]
    shown = towns if len(towns) <= 40 else towns[:20]
    for t in shown:
        tree.add(f"{t['name']} ({t['id']}): {t['villages']} village sites")
    if len(shown) < len(towns):
        tree.add(f"… {len(towns) - len(shown)} more towns (see --json)")

    dbs = Table(title="Base databases 基础数据库", title_justify="left")
    for col in ("id", "name", "owner", "primary", "replication", "standby"):
        dbs.add_column(col, overflow="fold")
    for d in data["databases"]:
        dbs.add_row(
            d["id"],
            d["name"],
            d["owner_site"],
            d["primary_host"],
            d["replication"],
            ", ".join(d["standby_hosts"]) or "-",
        )

    apps = Table(title="Applications 政务应用", title_justify="left")
    for col in ("id", "name", "port", "databases", "runs on"):
        apps.add_column(col, overflow="fold")
    for a in data["applications"]:
        runs = "; ".join(f"{s}: {', '.join(h)}" for s, h in a["runs_on"].items())
        name = a["name"] + (f" ({', '.join(a['modules'])})" if a["modules"] else "")
        apps.add_row(a["id"], name, str(a["port"]), ", ".join(a["databases"]), runs)

    console.print(Group(sites, tiers, tree, dbs, apps))
