"""网上办事大厅: the hundred service items and their guides (deadline, fees, conditions, materials, steps)."""

from __future__ import annotations

from .web import App, HttpError, query

app = App("service-hall")
app.health_dbs = ["APP", "POPULATION", "LEGAL_ENTITIES"]


@app.route("GET", "/items")
def listing(req):
    dept = req.query.get("department")
    rows = query("APP", "SELECT code, name, department, deadline_days, fee FROM service_items "
                        "WHERE %s::text IS NULL OR department = %s ORDER BY code", (dept, dept))
    return {"count": len(rows), "items": rows}


@app.route("GET", r"/items/(?P<code>[0-9-]+)")
def guide(req):
    row = query("APP", "SELECT * FROM service_items WHERE code = %s", (req.params["code"],), one=True)
    if not row:
        raise HttpError(404, "no such service item")
    query("APP", "UPDATE service_items SET views = views + 1 WHERE code = %s", (req.params["code"],))
    return row
