"""The schema the previous (hand-written) release created, kept as it was, plus expand-only
columns: the database side is idempotent SQL (a database the old release migrated is
adopted, a new one created), the state side is what Django's models say."""


from django.db import migrations, models

SQL = """
CREATE TABLE IF NOT EXISTS flags (
  application_id bigint PRIMARY KEY,
  department     text NOT NULL,
  due_at         timestamptz NOT NULL,
  flagged_at     timestamptz NOT NULL DEFAULT now()
);
"""


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(SQL, migrations.RunSQL.noop)],
            state_operations=[
                migrations.CreateModel(
                    name='Flag',
                    fields=[
                        ('application_id', models.BigIntegerField(primary_key=True, serialize=False)),
                        ('department', models.TextField()),
                        ('due_at', models.DateTimeField()),
                        ('flagged_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'flags',
                    },
                ),
            ],
        ),
    ]
