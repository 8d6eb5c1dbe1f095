"""The Ansible inventory, generated from the estate (never written by hand).

Groups: one per host role (`db`, `app`, `lb`), one per site (`site_<id>`), and
`pg_primary` / `pg_standby` for the database clusters, `pgbackrest_repo` for the backup
repository host (when the estate declares backups). Host variables carry what
the roles need (addresses, peers, app ports, backends); nothing secret is in it:
passwords come from the secrets file (`egov.secrets`).
"""

from __future__ import annotations

from pathlib import Path

from egov.core import paths
from egov.core.model import FINGERPRINT, Estate, HostRole
from egov.core.secrets import app_role
from egov.core.state import clusters, slot_name, stanza


def dbname(db_id: str) -> str:
    return db_id.replace("-", "_")


def app_dbname(app_id: str) -> str:
    return "app_" + app_id.replace("-", "_")


def group(name: str) -> str:
    return name.replace("-", "_")


def backup_vars(estate: Estate, cl: list[dict], addr: dict[str, str]) -> dict | None:
    """What the pgbackrest role needs (None: the estate declares no backups)."""
    b = estate.backup
    if b is None:
        return None
    return {
        "repo_host": b.repository_host, "repo_address": addr[b.repository_host], "repo_path": b.repository_path,
        "retention_full": b.retention.full, "retention_diff": b.retention.diff,
        "schedule": {k: v for k, v in b.schedule.model_dump().items() if v},
        "archive_timeout": int(b.archive_timeout.total_seconds()), "scratch_port": b.scratch_port,
        "stanzas": [{"name": stanza(c["id"]), "port": c["port"],
                     "members": [{"id": m, "address": addr[m]} for m in c["members"]]} for c in cl],
        "db_addresses": sorted({addr[m] for c in cl for m in c["members"]}),
    }


def generate(estate: Estate, *, secrets_file: Path, admin_cidrs: tuple[str, ...], target: str,
          state_dir: Path | None = None) -> dict:
    addr = {h.id: str(h.address) for _, h in estate.hosts()}
    cl = clusters(estate, state_dir)
    cluster_of = {m: c for c in cl for m in c["members"]}
    app_cidrs = sorted({str(sn.cidr) for s in estate.sites for sn in s.subnets if sn.purpose.value == "app"})

    hostvars: dict[str, dict] = {}
    groups: dict[str, set[str]] = {}
    for site, h in estate.hosts():
        hv = {"ansible_host": addr[h.id], "egov_site": site.id, "egov_role": h.role.value, "egov_host_name": h.name}
        groups.setdefault(h.role.value, set()).add(h.id)
        groups.setdefault(f"site_{group(site.id)}", set()).add(h.id)
        if h.id in cluster_of:
            c = cluster_of[h.id]
            peers = [m for m in c["members"] if m != h.id]
            hv |= {
                "pg_name": slot_name(h.id),
                "pg_intended_role": "primary" if h.id == c["primary"] else "standby",
                "pg_primary_address": addr[c["primary"]],
                "pg_primary_name": slot_name(c["primary"]),
                "pg_peer_names": [slot_name(p) for p in peers],
                "pg_peer_addresses": [addr[p] for p in peers],
                "pg_port": c["port"],
            }
            groups.setdefault("pg_primary" if h.id == c["primary"] else "pg_standby", set()).add(h.id)
            if estate.backup is not None:
                hv["pgbr_stanza"] = stanza(c["id"])
        hostvars[h.id] = hv

    apps = []
    for a in estate.applications:
        first_db = next(d for d in estate.databases if d.id == a.databases[0]) if a.databases else estate.databases[0]
        members = cluster_of[first_db.primary_host]["members"]
        apps.append({
            "id": a.id, "name": a.name, "port": a.port, "tls_port": a.tls_port, "health_path": a.health_path,
            "role": app_role(a.id),
            "own_db": app_dbname(a.id), "databases": [{"id": d, "dbname": dbname(d)} for d in a.databases],
            "db_hosts": [addr[m] for m in members], "db_port": first_db.port,
            "hosts": {site: [{"id": h, "address": addr[h]} for h in hs] for site, hs in a.runs_on.items()},
        })
    for site in estate.sites:
        svc = site.service_address
        front = next((sn for sn in site.subnets if svc is not None and svc in sn.cidr), None)
        for h in site.hosts:
            if h.role == HostRole.app:
                hostvars[h.id]["egov_apps"] = [
                    a for a in apps if any(x["id"] == h.id for x in a["hosts"].get(site.id, []))
                ]
                # the only peers whose X-Forwarded-* headers the apps believe: this site's fronts
                hostvars[h.id]["egov_trusted_proxies"] = sorted(
                    {str(x.address) for x in site.hosts if x.role == HostRole.lb} | ({str(svc)} if svc else set()))
            if h.role == HostRole.lb:
                hostvars[h.id]["lb_vip"] = f"{svc}/{front.cidr.prefixlen}" if svc and front else None
                hostvars[h.id]["lb_tls_var"] = f"tls_front_{site.id}" if svc else None
                hostvars[h.id]["lb_apps"] = [{"id": a["id"], "port": a["port"], "tls_port": a["tls_port"],
                                             "health_path": a["health_path"],
                                             "backends": a["hosts"].get(site.id, [])} for a in apps]

    if estate.backup is not None:
        groups.setdefault("pgbackrest_repo", set()).add(estate.backup.repository_host)

    service_addresses = {s.id: str(s.service_address) for s in estate.sites if s.service_address}
    m = estate.meta.mirrors
    mirror = None if m is None else {
        "apt_url": m.apt.url, "suite": m.apt.suite, "components": m.apt.components, "served_by": m.served_by,
        "pypi_url": m.pypi.url if m.pypi else None,
        # the key hosts pin: the lab's generated one (public part), or the estate's own key file
        "key_file": str(paths.at(state_dir or paths.state_dir()).mirror_public_key) if m.apt.key is None
        else (str(Path(estate.source) / m.apt.key) if not FINGERPRINT.match(m.apt.key) else None),
        "key_fingerprint": m.apt.key if m.apt.key and FINGERPRINT.match(m.apt.key) else None,
    }
    all_vars = {
        "ansible_user": "root",
        "ansible_python_interpreter": "/usr/bin/python3",
        "egov_estate": estate.meta.name,
        "egov_estate_name": estate.meta.display_name,
        "egov_target": target,
        "egov_secrets_file": str(secrets_file),
        "egov_ntp_servers": [str(x) for x in estate.meta.ntp_servers],
        "egov_login_banner": estate.meta.login_banner or f"{estate.meta.display_name}: authorized use only.",
        "egov_admin_cidrs": list(admin_cidrs),
        "egov_app_cidrs": app_cidrs,
        "egov_db_addresses": sorted({addr[m] for c in cl for m in c["members"]}),
        "egov_apps_all": apps,
        "egov_service_addresses": service_addresses,
        "egov_mirror": mirror,
        "pg_databases": [{"id": d.id, "dbname": dbname(d.id), "name": d.name} for d in estate.databases],
        "pg_app_roles": [{"role": a["role"], "own_db": a["own_db"], "databases": [x["dbname"] for x in a["databases"]]}
                         for a in apps],
        # connections one app thread may hold, summed over every app process's databases: the
        # primary must admit all of them at once (multiplied by workers x threads in the template)
        "pg_app_sessions": sum((1 + len(a["databases"])) * sum(len(hs) for hs in a["hosts"].values()) for a in apps),
        "pgbr": backup_vars(estate, cl, addr),
        "egov_towns": [{"id": t.id, "name": t.name, "villages": [v.location or v.name for v in t.villages]}
                       for t in estate.network.towns],
    }
    return {"all": {"vars": all_vars, "hosts": hostvars,
                    "children": {g: {"hosts": {h: {} for h in sorted(hs)}} for g, hs in sorted(groups.items())}}}
