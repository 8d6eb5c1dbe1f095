"""一站式审批系统: applications with statutory deadlines, by persons or legal entities; the enterprise
one-form joint approval (企业开办一表通) fans one form out to several departments at once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .catalogue import BY_CODE
from .web import App, HttpError, db, query

app = App("one-stop-approval")
app.health_dbs = ["APP", "POPULATION", "LEGAL_ENTITIES"]


def _applicant(kind: str, ident: str) -> None:
    if kind == "person":
        found = query("POPULATION", "SELECT 1 FROM persons WHERE citizen_id = %s", (ident,), one=True)
    elif kind == "entity":
        found = query("LEGAL_ENTITIES", "SELECT 1 FROM entities WHERE uscc = %s", (ident,), one=True)
    else:
        raise HttpError(400, "applicant_type must be person or entity")
    if not found:
        raise HttpError(404, f"no {kind} {ident} in the base database")


def _item(code: str) -> dict:
    item = BY_CODE.get(code)
    if not item:
        raise HttpError(404, f"no service item {code}")
    return item


@app.route("POST", "/applications")
def create(req):
    kind, ident = req.field("applicant_type"), req.field("applicant_id")
    item = _item(req.field("item_code"))
    _applicant(kind, ident)
    due = datetime.now(timezone.utc) + timedelta(days=item["deadline_days"])
    row = query("APP", """
        INSERT INTO applications (item_code, department, applicant_type, applicant_id, town_id, due_at, client_ref)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (client_ref) DO UPDATE SET client_ref = EXCLUDED.client_ref
        RETURNING id, item_code, department, status, submitted_at, due_at""",
        (item["code"], item["department"], kind, ident, req.field("town_id", required=False), due,
         req.field("client_ref", required=False)), one=True)
    return 201, row


@app.route("POST", "/joint-applications")
def joint(req):
    uscc = req.field("uscc")
    codes = req.field("item_codes")
    if not isinstance(codes, list) or len(codes) < 2:
        raise HttpError(400, "item_codes must list at least two service items")
    items = [_item(c) for c in codes]
    _applicant("entity", uscc)
    conn = db("APP")
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("INSERT INTO joint_applications (uscc, departments) VALUES (%s, %s) RETURNING id, submitted_at",
                    (uscc, sorted({i["department"] for i in items})))
        jid, at = cur.fetchone()
        apps = []
        for i in items:
            cur.execute(
                """INSERT INTO applications (joint_id, item_code, department, applicant_type, applicant_id, due_at)
                           VALUES (%s, %s, %s, 'entity', %s, %s) RETURNING id""",
                (jid, i["code"], i["department"], uscc, at + timedelta(days=i["deadline_days"])),
            )
            apps.append({"id": cur.fetchone()[0], "item_code": i["code"], "department": i["department"]})
    return 201, {"joint_id": jid, "submitted_at": at, "applications": apps}


@app.route("GET", r"/applications/(?P<id>\d+)")
def get(req):
    row = query("APP", "SELECT * FROM applications WHERE id = %s", (int(req.params["id"]),), one=True)
    if not row:
        raise HttpError(404, "no such application")
    return row


@app.route("POST", r"/applications/(?P<id>\d+)/complete")
def complete(req):
    row = query("APP", "UPDATE applications SET status = 'completed', completed_at = now() WHERE id = %s "
                       "AND status = 'open' RETURNING id, status, completed_at", (int(req.params["id"]),), one=True)
    if not row:
        raise HttpError(409, "no open application with that id")
    return row


@app.route("GET", "/applications")
def listing(req):
    if req.query.get("overdue"):
        rows = query("APP", "SELECT id, item_code, department, applicant_id, due_at, now() - due_at AS late "
                            "FROM applications WHERE status = 'open' AND due_at < now() ORDER BY due_at LIMIT 1000")
        return {"applications": rows}
    limit = min(int(req.query.get("limit", 50)), 500)
    return {"applications": query("APP", "SELECT id, item_code, department, status, due_at FROM applications "
                                         "ORDER BY id DESC LIMIT %s", (limit,))}
