"""12345 政务服务便民热线: citizens' calls become tickets routed to a department."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .web import App, HttpError, query

app = App("hotline-12345")
app.health_dbs = ["APP", "POPULATION"]
CATEGORIES = {"咨询": 1, "求助": 3, "投诉": 5, "举报": 5, "建议": 10}  # days to answer


@app.route("POST", "/tickets")
def create(req):
    category = req.field("category")
    if category not in CATEGORIES:
        raise HttpError(400, f"category must be one of {', '.join(CATEGORIES)}")
    citizen_id = req.field("citizen_id", required=False)
    if citizen_id and not query("POPULATION", "SELECT 1 FROM persons WHERE citizen_id = %s", (citizen_id,), one=True):
        raise HttpError(404, f"no person with citizen ID {citizen_id}")
    due = datetime.now(timezone.utc) + timedelta(days=CATEGORIES[category])
    row = query("APP", """
        INSERT INTO tickets (caller_phone, citizen_id, town_id, category, content, due_at, client_ref)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (client_ref) DO UPDATE SET client_ref = EXCLUDED.client_ref
        RETURNING id, ticket_no, created_at, due_at""",
        (req.field("caller_phone"), citizen_id, req.field("town_id"), category, req.field("content"), due,
         req.field("client_ref", required=False)), one=True)
    return 201, row


@app.route("GET", r"/tickets/(?P<id>\d+)")
def get(req):
    row = query("APP", "SELECT * FROM tickets WHERE id = %s", (int(req.params["id"]),), one=True)
    if not row:
        raise HttpError(404, "no such ticket")
    return row


@app.route("GET", "/tickets")
def listing(req):
    status = req.query.get("status", "open")
    limit = min(int(req.query.get("limit", 50)), 500)
    return {"tickets": query("APP", "SELECT id, ticket_no, town_id, category, status, created_at, due_at FROM tickets "
                                    "WHERE status = %s ORDER BY id DESC LIMIT %s", (status, limit))}
