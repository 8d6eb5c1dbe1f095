"""12345 hotline JSON API: a call becomes a ticket (idempotent by client_ref)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from egov_apps.common import db
from egov_apps.common.api import ApiError, endpoint, field, query_int
from egov_apps.common.masking import citizen_id_problem, mask_id, mask_phone
from egov_apps.hotline.models import CATEGORIES


def create(*, caller_phone: str, town_id: str, category: str, content: str, citizen_id: str | None = None,
           client_ref: str | None = None) -> dict:
    if category not in CATEGORIES:
        raise ApiError(400, f"category must be one of {', '.join(CATEGORIES)}")
    if citizen_id:
        problem = citizen_id_problem(citizen_id)
        if problem:
            raise ApiError(400, f"citizen_id: {problem}")
        if not db.person_exists(citizen_id):
            raise ApiError(404, f"no person with citizen ID {mask_id(citizen_id)}")
    due = timezone.now() + timedelta(days=CATEGORIES[category])
    return db.query("default", """
        INSERT INTO tickets (caller_phone, citizen_id, town_id, category, content, due_at, client_ref)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (client_ref) DO UPDATE SET client_ref = EXCLUDED.client_ref
        RETURNING id, ticket_no, created_at, due_at""",
        (caller_phone, citizen_id or None, town_id, category, content, due, client_ref), one=True)


@endpoint("POST", "GET")
def tickets(request):
    if request.method == "GET":
        status = request.GET.get("status", "open")
        limit = query_int(request, "limit", 50, 500)
        return {"tickets": db.query("default", "SELECT id, ticket_no, town_id, category, status, created_at, due_at "
                                               "FROM tickets WHERE status = %s ORDER BY id DESC LIMIT %s",
                                    (status, limit))}
    row = create(caller_phone=str(field(request, "caller_phone")), town_id=str(field(request, "town_id")),
                 category=field(request, "category"), content=str(field(request, "content")),
                 citizen_id=request.json.get("citizen_id"), client_ref=request.json.get("client_ref"))
    return 201, row


@endpoint("GET")
def one(request, id: int):
    row = db.query("default", "SELECT * FROM tickets WHERE id = %s", (id,), one=True)
    if not row:
        raise ApiError(404, "no such ticket")
    row["caller_phone"] = mask_phone(row["caller_phone"])
    row["citizen_id"] = mask_id(row["citizen_id"]) if row["citizen_id"] else None
    return row
