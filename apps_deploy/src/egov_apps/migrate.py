"""Apply an application's pending Django migrations, all in ONE transaction.

    python -m egov_apps.migrate APP_ID [--phase all|expand|contract]

PostgreSQL has transactional DDL: every pending migration runs inside one outer transaction
(each migration's own atomic block becomes a savepoint), under an advisory lock so two deploys
cannot migrate at once. Any failure rolls everything back: the schema and django_migrations are
left exactly as they were, and the exit code is 1 with the failing migration named.

Expand/contract, enforced: during a rolling deploy the previous release keeps serving on the
hosts not yet switched, against the new schema. So `egov apps deploy` runs `--phase expand` before
any host switches: it applies pending migrations up to (not including) the first one that declares
`contract = True`, and refuses (exit 1, nothing applied) one that does not declare it yet removes,
renames or narrows what the previous release may use (RemoveField, DeleteModel, Rename*, AlterField,
or SQL that drops a table/column/view, renames, changes a column's type, sets NOT NULL, or adds a
NOT NULL column without a default). Once every host runs the new release, `--phase contract`
applies the rest. `--phase all` (the default) applies everything at once, checks aside. The check
covers egov's own migrations; Django's and its add-ons' (contenttypes, auth, otp, axes) arrive with a
framework upgrade, which is a release of its own.
"""

from __future__ import annotations

import os
import re
import sys

PHASES = ("all", "expand", "contract")
# SQL that breaks a release still reading/writing the old shape
_NARROWING_SQL = re.compile(
    r"\bDROP\s+(TABLE|COLUMN|VIEW|MATERIALIZED\s+VIEW)\b|\bRENAME\b|\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b"
    r"|\bSET\s+NOT\s+NULL\b|\bALTER\s+TABLE\s+\S+\s+ALTER\s+\S+\s+TYPE\b", re.I)
_ADD_NOT_NULL = re.compile(r"\bADD\s+COLUMN\b[^,;]*\bNOT\s+NULL\b", re.I)


def narrowing(migration) -> list[str]:
    """What in `migration` would break the previous release while it still serves (empty: expand-only)."""
    from django.db import migrations as m

    out = []
    for op in migration.operations:
        if isinstance(op, (m.RemoveField, m.DeleteModel, m.RenameField, m.RenameModel, m.AlterField,
                           m.AlterModelTable)):
            out.append(op.describe())
        elif isinstance(op, m.RunSQL):
            sql = op.sql if isinstance(op.sql, str) else " ".join(str(x) for x in op.sql)
            for stmt in sql.split(";"):
                hit = _NARROWING_SQL.search(stmt)
                if hit is None and _ADD_NOT_NULL.search(stmt) and not re.search(r"\bDEFAULT\b", stmt, re.I):
                    hit = _ADD_NOT_NULL.search(stmt)
                if hit is not None:
                    out.append("SQL " + " ".join(stmt.split())[:120])
    return out


def run(app_id: str, phase: str = "all", held: list[str] | None = None) -> list[str]:
    """Apply the phase's migrations; returns those applied (`held` gets those an expand phase left
    for the contract phase)."""
    if phase not in PHASES:
        raise SystemExit(f"unknown phase {phase!r} (one of {', '.join(PHASES)})")
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
            if phase == "expand":
                full = plan
                plan = _expand_part(plan)  # Django applies exactly the plan given
                if held is not None:
                    held += [f"{m.app_label}/{m.name}" for m, _ in full if (m, False) not in plan]
            if plan:
                executor.migrate(targets, plan=plan)
            emit_post_migrate_signal(0, False, "default", plan=plan)
    except (DatabaseError, ValueError, TypeError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        where = current[-1] if current else "(before any migration)"
        raise SystemExit(f"migration {where} failed: {first}; nothing applied, schema unchanged") from None
    return current


def _expand_part(plan: list) -> list:
    """The plan up to the first `contract = True` migration (per app, so its later ones wait too);
    a migration in that part that narrows the schema is refused."""
    held: set[str] = set()
    out = []
    for mig, backwards in plan:
        if backwards:
            raise SystemExit(f"migration {mig.app_label}/{mig.name} would be unapplied: a deploy only moves forward")
        if mig.app_label in held or getattr(mig, "contract", False):
            held.add(mig.app_label)
            continue
        bad = narrowing(mig) if type(mig).__module__.startswith("egov_apps.") else []  # ours; Django's own
        if bad:                                                                   # come with a framework upgrade
            raise SystemExit(
                f"migration {mig.app_label}/{mig.name} would break the release still serving during the rollout "
                f"({bad[0]}): mark it `contract = True` (applied once every host runs the new release) or split it "
                "into an expand part now and a contract part in a later release; nothing applied")
        out.append((mig, backwards))
    return out


def main() -> int:
    args = sys.argv[1:]
    phase = "all"
    if "--phase" in args:
        i = args.index("--phase")
        phase = args[i + 1] if i + 1 < len(args) else ""
        del args[i:i + 2]
    app_id = args[0]
    held: list[str] = []
    applied = run(app_id, phase, held)
    print(f"{app_id}: {len(applied)} migration(s) applied" + (f" ({phase})" if phase != "all" else "")
          + (f": {', '.join(applied)}" if applied else "")
          + (f"; {len(held)} held for the contract phase: {', '.join(held)}" if held else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
