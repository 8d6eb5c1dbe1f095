from __future__ import annotations

import threading

from django.db.backends.postgresql import base

_preferred: dict[str, str] = {}  # configured host list -> the host that last answered
_lock = threading.Lock()


def ordered(params: dict) -> dict:
    hosts = str(params.get("host") or "").split(",")
    best = _preferred.get(params.get("host") or "")
    if len(hosts) < 2 or best not in hosts:
        return params
    i = hosts.index(best)
    out = {**params, "host": ",".join([hosts[i], *hosts[:i], *hosts[i + 1:]])}
    ports = str(params.get("port") or "").split(",")
    if len(ports) == len(hosts):
        out["port"] = ",".join([ports[i], *ports[:i], *ports[i + 1:]])
    return out


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(ordered(conn_params))
        configured = conn_params.get("host") or ""
        if "," in configured:
            with _lock:
                _preferred[configured] = conn.info.host
        return conn
