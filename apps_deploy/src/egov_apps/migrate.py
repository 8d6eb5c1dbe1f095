"""Apply an application's pending schema migrations, all in ONE transaction.

    python -m egov_apps.migrate APP_ID

Migrations are `migrations/<app>/NNN_name.sql` (or `.py` with `def migrate(cur)`), applied in
order and recorded in `schema_migrations`. Any failure rolls everything back: the schema is
left exactly as it was, and the exit code is 1 with the failing file named.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent / "migrations"


def pending(cur, app_id: str) -> list[Path]:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    cur.execute("SELECT version FROM schema_migrations")
    done = {r[0] for r in cur.fetchall()}
    files = sorted(p for p in (HERE / app_id).iterdir() if p.suffix in (".sql", ".py") and not p.name.startswith("_"))
    return [p for p in files if p.stem not in done]


def run(app_id: str, dsn: str) -> list[str]:
    applied = []
    with psycopg.connect(dsn) as conn:  # one transaction: committed at the end, rolled back on error
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('egov-migrate-' || %s))", (app_id,))
            for p in pending(cur, app_id):
                try:
                    if p.suffix == ".sql":
                        cur.execute(p.read_text(encoding="utf-8"))
                    else:
                        spec = importlib.util.spec_from_file_location(f"_mig_{p.stem}", p)
                        mod = importlib.util.module_from_spec(spec)
                        spec.loader.exec_module(mod)
                        mod.migrate(cur)
                except psycopg.Error as e:
                    raise SystemExit(f"migration {app_id}/{p.name} failed: {str(e).strip().splitlines()[0]}; "
                                     "nothing applied, schema unchanged")
                cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (p.stem,))
                applied.append(p.stem)
    return applied


def main() -> int:
    app_id = sys.argv[1]
    applied = run(app_id, os.environ["EGOV_DB_APP"])
    print(f"{app_id}: {len(applied)} migration(s) applied" + (f": {', '.join(applied)}" if applied else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
