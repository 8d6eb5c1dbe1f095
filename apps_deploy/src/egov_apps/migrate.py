"""Apply an application's pending Django migrations, all in ONE transaction.

    python -m egov_apps.migrate APP_ID

PostgreSQL has transactional DDL: every pending migration runs inside one outer transaction
(each migration's own atomic block becomes a savepoint), under an advisory lock so two deploys
cannot migrate at once. Any failure rolls everything back: the schema and django_migrations are
left exactly as they were, and the exit code is 1 with the failing migration named.
Migrations must be expand/contract: a release's migration only adds (nullable or defaulted
columns, new tables, wider constraints), so the previous release keeps running beside it; a
later release removes what nothing uses any more.
"""

from __future__ import annotations

import os
import sys


def run(app_id: str) -> list[str]:
    os.environ["EGOV_APP_ID"] = app_id
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "egov_apps.settings")
    import django

    django.setup()
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import DatabaseError, connection, transaction
    from django.db.migrations.executor import MigrationExecutor

    current: list[str] = []

    def progress(action, migration=None, fake=False):
        if action == "apply_start":
            current.append(f"{migration.app_label}/{migration.name}")

    try:
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('egov-migrate-' || %s))", (app_id,))
            executor = MigrationExecutor(connection, progress)
            targets = executor.loader.graph.leaf_nodes()
            plan = executor.migration_plan(targets)
            executor.migrate(targets, plan=plan)
            emit_post_migrate_signal(0, False, "default", plan=plan)
    except (DatabaseError, ValueError, TypeError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        where = current[-1] if current else "(before any migration)"
        raise SystemExit(f"migration {where} failed: {first}; nothing applied, schema unchanged") from None
    return current


def main() -> int:
    app_id = sys.argv[1]
    applied = run(app_id)
    print(f"{app_id}: {len(applied)} migration(s) applied" + (f": {', '.join(applied)}" if applied else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
