"""A deliberately tiny WSGI toolkit: routes, JSON in and out, one database connection per thread."""

from __future__ import annotations

import json
import os
import re
import threading
import time
import traceback

import psycopg

_local = threading.local()


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


_preferred: dict[str, str] = {}  # DSN host list -> the host that last answered read-write


def _ordered(dsn: str) -> str:
    """The DSN with the host that last answered first: after a failover only the first new
    connection waits out the lost primary's connect timeout; the rest go straight to the new one."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    hosts, ports = info.get("host", "").split(","), str(info.get("port", "")).split(",")
    best = _preferred.get(info.get("host", ""))
    if best in hosts and len(hosts) > 1:
        i = hosts.index(best)
        info["host"] = ",".join([hosts[i]] + hosts[:i] + hosts[i + 1:])
        if len(ports) == len(hosts):
            info["port"] = ",".join([ports[i]] + ports[:i] + ports[i + 1:])
    return psycopg.conninfo.make_conninfo(**info)


def db(name: str = "APP") -> psycopg.Connection:
    """The connection for EGOV_DB_<name> of this thread (reconnects after a failure)."""
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(name)
    if conn is None or conn.closed or conn.broken:
        dsn = os.environ.get(f"EGOV_DB_{name}")
        if not dsn:
            raise HttpError(500, f"EGOV_DB_{name} is not configured")
        conn = psycopg.connect(
            _ordered(dsn), autocommit=True, application_name=os.environ.get("EGOV_APP_ID", "egov-app")
        )
        _preferred[psycopg.conninfo.conninfo_to_dict(dsn).get("host", "")] = conn.info.host
        conns[name] = conn
    return conn


def forget(name: str) -> None:
    conn = getattr(_local, "conns", {}).pop(name, None)
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass


def query(name: str, sql: str, params=(), *, one=False, retry=True):
    """Run one statement on database `name`; on a lost connection, reconnect once and retry."""
    try:
        with db(name).cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
            cols = [c.name for c in cur.description] if cur.description else []
    except psycopg.OperationalError:
        forget(name)
        if not retry:
            raise
        return query(name, sql, params, one=one, retry=False)
    out = [dict(zip(cols, r)) for r in rows]
    return (out[0] if out else None) if one else out


def transaction(name: str = "APP"):
    return db(name).transaction()


class App:
    def __init__(self, app_id: str):
        self.app_id = app_id
        self.routes: list[tuple[str, re.Pattern, object]] = []
        self.route("GET", "/healthz")(self.health)
        self.route("GET", "/version")(lambda req: {"app": self.app_id, "version": version()})
        self.health_dbs = ["APP"]

    def route(self, method: str, pattern: str):
        def deco(fn):
            self.routes.append((method, re.compile(f"^{pattern}$"), fn))
            return fn
        return deco

    def health(self, req):
        checks = {}
        ok = True
        for name in self.health_dbs:
            t = time.monotonic()
            try:
                row = query(name, "SELECT pg_is_in_recovery() AS ro", one=True)
                checks[name.lower()] = {
                    "ok": True,
                    "read_only": row["ro"],
                    "ms": round((time.monotonic() - t) * 1000, 1),
                }
                if name == "APP" and row["ro"]:
                    ok = False
                    checks[name.lower()]["ok"] = False
            except Exception as e:  # the health check reports, never raises
                ok = False
                checks[name.lower()] = {"ok": False, "error": str(e).strip().splitlines()[0][:200]}
        body = {"status": "ok" if ok else "failing", "app": self.app_id, "version": version(),
                "site": os.environ.get("EGOV_SITE"), "host": os.environ.get("EGOV_HOST"), "db": checks}
        return (200 if ok else 503), body

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "/")
        status, body = 404, {"error": f"no route for {method} {path}"}
        for m, rx, fn in self.routes:
            match = rx.match(path)
            if match and m == method:
                req = Request(environ, match.groupdict())
                try:
                    result = fn(req)
                    status, body = result if isinstance(result, tuple) else (200, result)
                except HttpError as e:
                    status, body = e.status, {"error": e.message}
                except psycopg.Error as e:
                    status, body = 503, {"error": f"database: {str(e).strip().splitlines()[0][:200]}"}
                except Exception:
                    traceback.print_exc()
                    status, body = 500, {"error": "internal error"}
                break
        data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        start_response(f"{status} {_REASONS.get(status, 'Status')}",
                       [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]


class Request:
    def __init__(self, environ, params):
        self.environ = environ
        self.params = params
        self._json = None

    @property
    def query(self) -> dict:
        from urllib.parse import parse_qs

        return {k: v[-1] for k, v in parse_qs(self.environ.get("QUERY_STRING", "")).items()}

    def json(self) -> dict:
        if self._json is None:
            try:
                n = int(self.environ.get("CONTENT_LENGTH") or 0)
                self._json = json.loads(self.environ["wsgi.input"].read(n) or b"{}")
            except (ValueError, json.JSONDecodeError):
                raise HttpError(400, "body must be JSON") from None
            if not isinstance(self._json, dict):
                raise HttpError(400, "body must be a JSON object")
        return self._json

    def field(self, name: str, required=True):
        v = self.json().get(name)
        if required and (v is None or v == ""):
            raise HttpError(400, f"missing field: {name}")
        return v


def version() -> str:
    return os.environ.get("EGOV_APP_VERSION", "dev")


_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
