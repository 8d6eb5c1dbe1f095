"""电子监察 JSON API: /scan keeps a red-card flag for every approval found past its deadline;
/flags counts them per department; /indicators/<town> from the macro-economy base database."""

from __future__ import annotations

from egov_apps.common import db, upstream
from egov_apps.common.api import ApiError, endpoint

APPROVAL = "one-stop-approval"


@endpoint("POST")
def scan(request):
    try:
        status, body = upstream.call(APPROVAL, "GET", "/applications?overdue=1")
    except upstream.Unavailable as e:
        raise ApiError(503, f"one-stop approval unreachable: {e}") from None
    if status != 200:
        raise ApiError(503, f"one-stop approval answered {status}")
    overdue = body["applications"]
    new = 0
    for a in overdue:
        row = db.query("default", "INSERT INTO flags (application_id, department, due_at) VALUES (%s, %s, %s) "
                                  "ON CONFLICT (application_id) DO NOTHING RETURNING application_id",
                       (a["id"], a["department"], a["due_at"]), one=True)
        new += row is not None
    return {"overdue": len(overdue), "new_flags": new}


@endpoint("GET")
def flags(request):
    return {"by_department": db.query("default", "SELECT department, count(*) AS flagged FROM flags "
                                                 "GROUP BY department ORDER BY 2 DESC")}


@endpoint("GET")
def indicators(request, town: str):
    rows = db.query("macro_economy", "SELECT year, indicator, name, unit, value FROM indicators WHERE town_id = %s "
                                     "ORDER BY year, indicator", (town,))
    if not rows:
        raise ApiError(404, "no indicators for that town")
    return {"town": town, "indicators": rows}
