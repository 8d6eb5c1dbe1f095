"""电子监察系统: flags approvals past their statutory deadline (read from the one-stop approval
system's front) and keeps the flags; economic indicators from the macro-economy base database."""

from __future__ import annotations

import json
import os
import urllib.request

from .web import App, HttpError, query

app = App("e-supervision")
app.health_dbs = ["APP", "MACRO_ECONOMY"]


@app.route("POST", "/scan")
def scan(req):
    base = os.environ.get("EGOV_UPSTREAM_ONE_STOP_APPROVAL")
    if not base:
        raise HttpError(500, "EGOV_UPSTREAM_ONE_STOP_APPROVAL is not configured")
    try:
        with urllib.request.urlopen(f"{base}/applications?overdue=1", timeout=5) as r:
            overdue = json.load(r)["applications"]
    except OSError as e:
        raise HttpError(503, f"one-stop approval unreachable: {e}") from None
    new = 0
    for a in overdue:
        row = query("APP", "INSERT INTO flags (application_id, department, due_at) VALUES (%s, %s, %s) "
                           "ON CONFLICT (application_id) DO NOTHING RETURNING application_id",
                    (a["id"], a["department"], a["due_at"]), one=True)
        new += row is not None
    return {"overdue": len(overdue), "new_flags": new}


@app.route("GET", "/flags")
def flags(req):
    return {
        "by_department": query(
            "APP", "SELECT department, count(*) AS flagged FROM flags GROUP BY department ORDER BY 2 DESC"
        )
    }


@app.route("GET", r"/indicators/(?P<town>[a-z0-9-]+)")
def indicators(req):
    rows = query("MACRO_ECONOMY", "SELECT year, indicator, name, unit, value FROM indicators WHERE town_id = %s "
                                  "ORDER BY year, indicator", (req.params["town"],))
    if not rows:
        raise HttpError(404, "no indicators for that town")
    return {"town": req.params["town"], "indicators": rows}
