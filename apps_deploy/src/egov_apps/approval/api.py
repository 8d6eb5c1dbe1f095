"""一站式审批's JSON API: applications with statutory deadlines, the enterprise one-form joint
approval (企业开办一表通) fanned out to several departments at once. Applicants are validated
against the population and legal-entity base databases. Citizen IDs leave only masked."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from egov_apps.approval.models import ACTIVE
from egov_apps.catalogue import BY_CODE
from egov_apps.common import db
from egov_apps.common.api import ApiError, endpoint, field, query_int
from egov_apps.common.masking import citizen_id_problem, mask_id, mask_phone, uscc_problem

PUBLIC = "id, joint_id, item_code, department, applicant_type, applicant_id, town_id, submitted_at, due_at, status, " \
         "completed_at, client_ref"


def tracking_hash(secret: str) -> str:
    return hashlib.sha256(("egov-track:" + secret.strip().upper()).encode()).hexdigest()


def _applicant(kind: str, ident: str) -> None:
    if kind == "person":
        problem = citizen_id_problem(ident)
        if problem:
            raise ApiError(400, f"applicant_id: {problem}")
        if not db.person_exists(ident):
            raise ApiError(404, f"no person {mask_id(ident)} in the base database")
    elif kind == "entity":
        problem = uscc_problem(ident)
        if problem:
            raise ApiError(400, f"applicant_id: {problem}")
        if not db.entity_exists(ident):
            raise ApiError(404, f"no entity {ident} in the base database")
    else:
        raise ApiError(400, "applicant_type must be person or entity")


def _item(code) -> dict:
    item = BY_CODE.get(code) if isinstance(code, str) else None
    if not item:
        raise ApiError(404, f"no service item {code}")
    return item


def _masked(row: dict) -> dict:
    row = dict(row)
    if row.get("applicant_type") == "person":
        row["applicant_id"] = mask_id(row.get("applicant_id"))
    if row.get("applicant_phone"):
        row["applicant_phone"] = mask_phone(row["applicant_phone"])
    row.pop("tracking_hash", None)
    return row


@endpoint("POST", "GET")
def applications(request):
    if request.method == "GET":
        return listing(request)
    kind, ident = field(request, "applicant_type"), str(field(request, "applicant_id")).strip().upper()
    item = _item(field(request, "item_code"))
    _applicant(kind, ident)
    phone = request.json.get("applicant_phone")
    secret = secrets.token_hex(4).upper() if request.json.get("tracking") else None
    due = timezone.now() + timedelta(days=item["deadline_days"])
    row = db.query("default", """
        INSERT INTO applications (item_code, department, applicant_type, applicant_id, town_id, due_at, client_ref,
                                  tracking_hash, applicant_phone)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (client_ref) DO UPDATE SET client_ref = EXCLUDED.client_ref
        RETURNING id, item_code, department, status, submitted_at, due_at""",
        (item["code"], item["department"], kind, ident, request.json.get("town_id"), due,
         request.json.get("client_ref"), tracking_hash(secret) if secret else None, phone), one=True)
    if secret:
        row["tracking_secret"] = secret  # shown once, to the applicant; only its hash is kept
    return 201, row


@endpoint("POST")
def joint(request):
    uscc = str(field(request, "uscc")).strip().upper()
    codes = field(request, "item_codes")
    if not isinstance(codes, list) or len(codes) < 2:
        raise ApiError(400, "item_codes must list at least two service items")
    items = [_item(c) for c in codes]
    _applicant("entity", uscc)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("INSERT INTO joint_applications (uscc, departments) VALUES (%s, %s) RETURNING id, submitted_at",
                    (uscc, sorted({i["department"] for i in items})))
        jid, at = cur.fetchone()
        apps = []
        for i in items:
            cur.execute("INSERT INTO applications (joint_id, item_code, department, applicant_type, applicant_id, "
                        "due_at) VALUES (%s, %s, %s, 'entity', %s, %s) RETURNING id",
                        (jid, i["code"], i["department"], uscc, at + timedelta(days=i["deadline_days"])))
            apps.append({"id": cur.fetchone()[0], "item_code": i["code"], "department": i["department"]})
    return 201, {"joint_id": jid, "submitted_at": at, "applications": apps}


@endpoint("GET")
def one(request, id: int):
    row = db.query("default", f"SELECT {PUBLIC} FROM applications WHERE id = %s", (id,), one=True)
    if not row:
        raise ApiError(404, "no such application")
    return _masked(row)


@endpoint("POST")
def complete(request, id: int):
    row = db.query("default", "UPDATE applications SET status = 'completed', completed_at = now() WHERE id = %s "
                              "AND status = ANY(%s) RETURNING id, status, completed_at", (id, list(ACTIVE)), one=True)
    if not row:
        raise ApiError(409, "no open application with that id")
    return row


@endpoint("POST")
def track(request, id: int):
    """What an applicant may know of their application, given its number and tracking secret."""
    secret = str(field(request, "secret"))
    row = db.query("default", "SELECT id, item_code, department, status, submitted_at, due_at, completed_at, note, "
                              "tracking_hash FROM applications WHERE id = %s", (id,), one=True)
    if not row or not row["tracking_hash"] or not hmac.compare_digest(row["tracking_hash"], tracking_hash(secret)):
        raise ApiError(404, "no application with that number and secret")
    row.pop("tracking_hash")
    return row


def listing(request):
    if request.GET.get("overdue"):
        rows = db.query("default", "SELECT id, item_code, department, applicant_type, applicant_id, town_id, due_at, "
                                   "now() - due_at AS late FROM applications WHERE status = ANY(%s) AND due_at < now() "
                                   "ORDER BY due_at LIMIT 1000", (list(ACTIVE),))
        return {"applications": [_masked(r) for r in rows]}
    if request.GET.get("active"):
        rows = db.query("default", "SELECT id, item_code, department, town_id, status, submitted_at, due_at "
                                   "FROM applications WHERE status = ANY(%s) ORDER BY due_at LIMIT %s",
                        (list(ACTIVE), query_int(request, "limit", 5000, 20000)))
        return {"applications": rows}
    limit = query_int(request, "limit", 50, 500)
    return {"applications": db.query("default", "SELECT id, item_code, department, status, due_at FROM applications "
                                                "ORDER BY id DESC LIMIT %s", (limit,))}
