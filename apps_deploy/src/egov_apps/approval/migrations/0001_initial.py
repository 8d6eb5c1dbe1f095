"""The schema the previous (hand-written) release created, kept as it was, plus expand-only
columns: the database side is idempotent SQL (a database the old release migrated is
adopted, a new one created), the state side is what Django's models say."""


import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

SQL = """
CREATE TABLE IF NOT EXISTS joint_applications (
  id           bigserial PRIMARY KEY,
  uscc         char(18) NOT NULL,
  departments  text[] NOT NULL,
  submitted_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS applications (
  id             bigserial PRIMARY KEY,
  joint_id       bigint REFERENCES joint_applications (id),
  item_code      text NOT NULL,
  department     text NOT NULL,
  applicant_type text NOT NULL CHECK (applicant_type IN ('person', 'entity')),
  applicant_id   char(18) NOT NULL,
  town_id        text,
  submitted_at   timestamptz NOT NULL DEFAULT now(),
  due_at         timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'rejected')),
  completed_at   timestamptz,
  client_ref     text UNIQUE
);
CREATE INDEX IF NOT EXISTS applications_open_due ON applications (due_at) WHERE status = 'open';

ALTER TABLE applications ADD COLUMN IF NOT EXISTS tracking_hash text;
ALTER TABLE applications ADD COLUMN IF NOT EXISTS applicant_phone text;
ALTER TABLE applications ADD COLUMN IF NOT EXISTS note text NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN IF NOT EXISTS decided_by text;
ALTER TABLE applications DROP CONSTRAINT IF EXISTS applications_status_check;
ALTER TABLE applications ADD CONSTRAINT applications_status_check
  CHECK (status IN ('open', 'accepted', 'more_material', 'completed', 'rejected'));
CREATE INDEX IF NOT EXISTS applications_department ON applications (department, due_at);
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
                    name='JointApplication',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('uscc', models.CharField(max_length=18)),
                        ('departments', django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), size=None)),
                        ('submitted_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'joint_applications',
                    },
                ),
                migrations.CreateModel(
                    name='Application',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('item_code', models.TextField()),
                        ('department', models.TextField()),
                        ('applicant_type', models.TextField(choices=[('person', '自然人'), ('entity', '法人')])),
                        ('applicant_id', models.CharField(max_length=18)),
                        ('town_id', models.TextField(null=True)),
                        ('submitted_at', models.DateTimeField(auto_now_add=True)),
                        ('due_at', models.DateTimeField()),
                        ('status', models.TextField(choices=[('open', '待受理'), ('accepted', '已受理'), ('more_material', '待补正材料'), ('completed', '已办结（准予）'), ('rejected', '不予许可')], default='open')),
                        ('completed_at', models.DateTimeField(null=True)),
                        ('client_ref', models.TextField(null=True, unique=True)),
                        ('tracking_hash', models.TextField(null=True)),
                        ('applicant_phone', models.TextField(null=True)),
                        ('note', models.TextField(blank=True, default='')),
                        ('decided_by', models.TextField(null=True)),
                        ('joint', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, to='approval.jointapplication')),
                    ],
                    options={
                        'db_table': 'applications',
                        'ordering': ['due_at'],
                    },
                ),
            ],
        ),
    ]
