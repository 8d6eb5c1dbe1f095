"""The schema the previous (hand-written) release created, kept as it was, plus expand-only
columns: the database side is idempotent SQL (a database the old release migrated is
adopted, a new one created), the state side is what Django's models say."""


from django.db import migrations, models

SQL = """
CREATE TABLE IF NOT EXISTS service_items (
  code          text PRIMARY KEY,
  name          text NOT NULL,
  department    text NOT NULL,
  deadline_days int NOT NULL CHECK (deadline_days > 0),
  fee           text NOT NULL,
  conditions    jsonb NOT NULL,
  materials     jsonb NOT NULL,
  steps         jsonb NOT NULL,
  views         bigint NOT NULL DEFAULT 0
);
"""


def load_items(apps, schema_editor):
    """The hundred service items and their guides (kept if already there)."""
    import json

    from egov_apps.catalogue import items

    with schema_editor.connection.cursor() as cur:
        for i in items():
            cur.execute(
                "INSERT INTO service_items (code, name, department, deadline_days, fee, conditions, materials, steps) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (code) DO NOTHING",
                (i["code"], i["name"], i["department"], i["deadline_days"], i["fee"],
                 json.dumps(i["conditions"], ensure_ascii=False), json.dumps(i["materials"], ensure_ascii=False),
                 json.dumps(i["steps"], ensure_ascii=False)))


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(SQL, migrations.RunSQL.noop), migrations.RunPython(load_items, migrations.RunPython.noop)],
            state_operations=[
                migrations.CreateModel(
                    name='ServiceItem',
                    fields=[
                        ('code', models.TextField(primary_key=True, serialize=False)),
                        ('name', models.TextField()),
                        ('department', models.TextField()),
                        ('deadline_days', models.IntegerField()),
                        ('fee', models.TextField()),
                        ('conditions', models.JSONField()),
                        ('materials', models.JSONField()),
                        ('steps', models.JSONField()),
                        ('views', models.BigIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'service_items',
                        'ordering': ['code'],
                    },
                ),
            ],
        ),
    ]
