"""egov's runtime state of an estate: what DR actions changed since the estate was written.

The estate says which host is primary and which site serves; a switchover or failover
changes that at run time. `<state dir>/dr/<estate>.json` records it, written only by the
DR code (`egov.datacenters`) and read by everything that must honour it: the inventory (a
build never undoes a switchover), the network's checks (which site clients must reach),
the drills.

    {"clusters": {"<cluster id>": {"primary": "<host>"}},   current primary per cluster
     "endpoint": "<site id>",                                the site serving the apps
     "degraded": {"<cluster id>": true},                     no synchronous standby (RPO = 0 not held)
     "fenced": ["<host>", ...],                              must never serve again until rejoined
     "rejoining": {"<cluster id>": {"host", "since", "switch_back"}},  a failback not yet finished
     "last_drill": {...}}

A cluster is named after the estate's primary host of its databases; `clusters()` gives
each with its members and its primary now.
"""

from __future__ import annotations

import json
import os

from egov.core import paths
from egov.core.model import Estate


class RuntimeState:
    def __init__(self, state_dir, estate: Estate):
        self.estate = estate
        self.path = paths.at(state_dir).dr_state(estate.meta.name)

    def read(self) -> dict:
        """The state with its defaults filled in (nothing recorded: the estate as written)."""
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            data = {}
        data.setdefault("clusters", {})
        data.setdefault("endpoint", self.estate.primary_site.id)
        data.setdefault("fenced", [])
        return data

    def write(self, data: dict) -> None:
        """Replace the state atomically (a reader sees the old or the new file, never half)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        os.replace(tmp, self.path)

    def primary(self, cluster_id: str) -> str:
        """The host serving as the cluster's primary now."""
        return self.read()["clusters"].get(cluster_id, {}).get("primary", cluster_id)

    def endpoint(self) -> str:
        """The site whose front serves the applications now."""
        return self.read()["endpoint"]

    def serving_address(self) -> tuple[str, str]:
        site = self.endpoint()
        return site, str(self.estate.site(site).service_address)


def slot_name(host_id: str) -> str:
    """A database host's replication slot and application name (PostgreSQL identifiers)."""
    return host_id.replace("-", "_")


def stanza(cluster_id: str) -> str:
    """A cluster's pgBackRest stanza (named after the cluster, like its slots)."""
    return slot_name(cluster_id)


def clusters(estate: Estate, state_dir=None) -> list[dict]:
    """PostgreSQL clusters: the databases sharing a primary host, with their members.

    The current primary is the estate's unless a DR action (switchover/failover) recorded
    another one in the runtime state.
    """
    recorded = RuntimeState(state_dir, estate).read()["clusters"] if state_dir is not None else {}
    out: dict[str, dict] = {}
    for d in estate.databases:
        c = out.setdefault(d.primary_host, {"id": d.primary_host, "members": [d.primary_host], "databases": [],
                                            "port": d.port, "mode": d.replication.mode.value})
        for s in d.replication.standby_hosts:
            if s not in c["members"]:
                c["members"].append(s)
        c["databases"].append(d.id)
    for c in out.values():
        c["primary"] = recorded.get(c["id"], {}).get("primary", c["id"])
    return list(out.values())
