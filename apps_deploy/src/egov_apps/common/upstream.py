"""Calls to another application's JSON API through its front (EGOV_UPSTREAM_<APP>)."""

from __future__ import annotations

import functools
import json
import os
import ssl
import urllib.error
import urllib.request


class Unavailable(Exception):
    pass


@functools.cache
def _tls() -> ssl.SSLContext:
    """Verifies the fronts against the estate's CA (EGOV_CA_FILE), else the system's."""
    return ssl.create_default_context(cafile=os.environ.get("EGOV_CA_FILE") or None)


def call(app_id: str, method: str, path: str, body: dict | None = None, timeout: float = 5) -> tuple[int, dict]:
    """(HTTP status, JSON body) of `method path` on `app_id`; Unavailable if it cannot be reached."""
    base = os.environ.get("EGOV_UPSTREAM_" + app_id.upper().replace("-", "_"))
    if not base:
        raise Unavailable(f"EGOV_UPSTREAM_{app_id.upper().replace('-', '_')} is not configured")
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout,
                                    context=_tls() if base.startswith("https:") else None) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"{}")
        except ValueError:
            return e.code, {"error": f"HTTP {e.code}"}
    except (OSError, ValueError) as e:
        raise Unavailable(f"{app_id} unreachable: {e}") from None
