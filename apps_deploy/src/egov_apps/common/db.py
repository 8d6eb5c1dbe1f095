"""SQL on the base databases (population, legal entities, ...) and the app's own database."""

from __future__ import annotations

from django.db import connections


def query(alias: str, sql: str, params=(), *, one: bool = False):
    with connections[alias].cursor() as cur:
        cur.execute(sql, params)
        cols = [c.name for c in cur.description] if cur.description else []
        rows = [dict(zip(cols, r)) for r in cur.fetchall()] if cur.description else []
    return (rows[0] if rows else None) if one else rows


def person_exists(citizen_id: str) -> bool:
    return query("population", "SELECT 1 AS x FROM persons WHERE citizen_id = %s", (citizen_id,), one=True) is not None


def entity_exists(uscc: str) -> bool:
    return query("legal_entities", "SELECT 1 AS x FROM entities WHERE uscc = %s", (uscc,), one=True) is not None
