"""`python -m egov_apps.migrate APP`: every pending migration in one transaction; a failing one
leaves the schema and the migration records exactly as they were, and is named."""

import os
import shutil
import subprocess
import sys

import psycopg

from tests.unit.apps_deploy.conftest import SRC


def _migrate(src, dsn, app="hotline-12345"):
    env = {**os.environ, "EGOV_DB_APP": dsn, "PYTHONPATH": str(src), "EGOV_APP_ID": app}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run([sys.executable, "-m", "egov_apps.migrate", app], capture_output=True, text=True, env=env,
                          cwd=src, timeout=120)


def test_one_transaction_and_a_failed_migration_changes_nothing(pg_cluster, tmp_path):
    with psycopg.connect(pg_cluster, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS mig")
        c.execute("CREATE DATABASE mig")
    dsn = pg_cluster.replace("/egov?", "/mig?")
    src = tmp_path / "src"
    shutil.copytree(SRC, src, ignore=shutil.ignore_patterns("__pycache__"))
    r = _migrate(src, dsn)
    assert r.returncode == 0 and "hotline/0001_initial" in r.stdout, r.stderr
    assert "0 migration(s) applied" in _migrate(src, dsn).stdout
    (src / "egov_apps" / "hotline" / "migrations" / "0002_bad.py").write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        "    dependencies = [('hotline', '0001_initial')]\n"
        "    operations = [migrations.RunSQL('CREATE TABLE callbacks (id int)'),\n"
        "                  migrations.RunSQL('ALTER TABLE tickets ADD COLUMN oops no_such_type')]\n")
    with psycopg.connect(dsn) as c:
        before = c.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
    r = _migrate(src, dsn)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("migration hotline/0002_bad failed: ")
    assert "nothing applied, schema unchanged" in r.stderr
    with psycopg.connect(dsn) as c:
        assert c.execute("SELECT to_regclass('callbacks') IS NULL").fetchone()[0]
        assert c.execute("SELECT count(*) FROM django_migrations").fetchone()[0] == before
        tables = {r[0] for r in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert "tickets" in tables and "applications" not in tables and "service_items" not in tables  # its own only


def test_the_old_releases_schema_is_adopted(pg_cluster, tmp_path):
    """A database the hand-written release migrated (schema_migrations, tickets with rows) is
    taken over: rows kept, new columns added with defaults."""
    with psycopg.connect(pg_cluster, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS old")
        c.execute("CREATE DATABASE old")
    dsn = pg_cluster.replace("/egov?", "/old?")
    old_sql = (SRC / "egov_apps" / "hotline" / "migrations" / "0001_initial.py").read_text()
    table = old_sql[old_sql.index("CREATE TABLE IF NOT EXISTS tickets"):old_sql.index("CREATE INDEX")]
    with psycopg.connect(dsn) as c:
        c.execute(table.replace("IF NOT EXISTS ", "").replace("text NOT NULL DEFAULT ''", "text"))
        c.execute("CREATE TABLE schema_migrations (version text PRIMARY KEY)")
        c.execute("INSERT INTO tickets (caller_phone, town_id, category, content, due_at, client_ref) "
                  "VALUES ('13900000000', 'shiqiao', '咨询', '旧工单', now(), 'old-1')")
    r = _migrate(SRC, dsn)
    assert r.returncode == 0, r.stderr
    with psycopg.connect(dsn) as c:
        row = c.execute("SELECT content, answer, ticket_no FROM tickets WHERE client_ref = 'old-1'").fetchone()
    assert row == ("旧工单", "", "12345-000000001")


def _fresh(pg_cluster, tmp_path, name):
    with psycopg.connect(pg_cluster, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name}")
    src = tmp_path / "src"
    shutil.copytree(SRC, src, ignore=shutil.ignore_patterns("__pycache__"))
    dsn = pg_cluster.replace("/egov?", f"/{name}?")
    assert _migrate(src, dsn).returncode == 0
    return src, dsn


def _add(src, name, after, sql, contract=False):
    (src / "egov_apps" / "hotline" / "migrations" / f"{name}.py").write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        + ("    contract = True\n" if contract else "")
        + f"    dependencies = [('hotline', '{after}')]\n"
        f"    operations = [migrations.RunSQL({sql!r})]\n")


def _phase(src, dsn, phase):
    env = {**os.environ, "EGOV_DB_APP": dsn, "PYTHONPATH": str(src), "EGOV_APP_ID": "hotline-12345"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run([sys.executable, "-m", "egov_apps.migrate", "hotline-12345", "--phase", phase],
                          capture_output=True, text=True, env=env, cwd=src, timeout=120)


def _columns(dsn):
    with psycopg.connect(dsn) as c:
        return {r[0] for r in c.execute("SELECT column_name FROM information_schema.columns "
                                         "WHERE table_name = 'tickets'")}


def test_expand_applies_what_the_old_release_survives_and_holds_the_contract_for_later(pg_cluster, tmp_path):
    src, dsn = _fresh(pg_cluster, tmp_path, "expcon")
    _add(src, "0002_channel", "0001_initial", "ALTER TABLE tickets ADD COLUMN channel text NOT NULL DEFAULT 'phone'")
    _add(src, "0003_drop_answer", "0002_channel", "ALTER TABLE tickets DROP COLUMN answer", contract=True)
    r = _phase(src, dsn, "expand")
    assert r.returncode == 0, r.stderr
    assert "1 migration(s) applied (expand): hotline/0002_channel" in r.stdout
    assert "1 held for the contract phase: hotline/0003_drop_answer" in r.stdout
    assert {"channel", "answer"} <= _columns(dsn)  # the previous release still finds its column
    r = _phase(src, dsn, "contract")
    assert r.returncode == 0 and "hotline/0003_drop_answer" in r.stdout, r.stderr
    assert "answer" not in _columns(dsn) and "channel" in _columns(dsn)


def test_a_narrowing_migration_not_marked_contract_is_refused_before_any_host_switches(pg_cluster, tmp_path):
    src, dsn = _fresh(pg_cluster, tmp_path, "narrow")
    for name, sql in (("0002_drop", "ALTER TABLE tickets DROP COLUMN answer"),
                      ("0002_rename", "ALTER TABLE tickets RENAME COLUMN answer TO reply"),
                      ("0002_required", "ALTER TABLE tickets ADD COLUMN channel text NOT NULL"),
                      ("0002_type", "ALTER TABLE tickets ALTER COLUMN answer TYPE varchar(10)")):
        _add(src, name, "0001_initial", sql)
        before = _columns(dsn)
        r = _phase(src, dsn, "expand")
        assert r.returncode == 1
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith(f"migration hotline/{name} would break the release still serving during the rollout")
        assert "mark it `contract = True`" in last and last.endswith("nothing applied")
        assert _columns(dsn) == before
        (src / "egov_apps" / "hotline" / "migrations" / f"{name}.py").unlink()


def test_every_shipped_migration_is_expand_only_or_marked_contract(django_env):
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from egov_apps.migrate import narrowing

    loader = MigrationLoader(connection)
    ours = {k: m for k, m in loader.disk_migrations.items() if m.__module__.startswith("egov_apps.")}
    assert len(ours) >= 6
    bad = {f"{a}/{n}": narrowing(m) for (a, n), m in ours.items() if not getattr(m, "contract", False) and narrowing(m)}
    assert bad == {}


def test_a_first_expand_on_an_empty_database_applies_everything_including_djangos_own(pg_cluster, tmp_path):
    """Django's contenttypes/0002 alters a field: the gate is for egov's migrations, not the framework's."""
    with psycopg.connect(pg_cluster, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS firstexp")
        c.execute("CREATE DATABASE firstexp")
    dsn = pg_cluster.replace("/egov?", "/firstexp?")
    r = _phase(SRC, dsn, "expand")
    assert r.returncode == 0, r.stderr
    assert "contenttypes/0002_remove_content_type_name" in r.stdout and "hotline/0001_initial" in r.stdout
    assert "held" not in r.stdout
