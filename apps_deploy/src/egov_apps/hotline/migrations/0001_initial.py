"""The schema the previous (hand-written) release created, kept as it was, plus expand-only
columns: the database side is idempotent SQL (a database the old release migrated is
adopted, a new one created), the state side is what Django's models say."""


import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models

SQL = """
CREATE TABLE IF NOT EXISTS tickets (
  id           bigserial PRIMARY KEY,
  ticket_no    text GENERATED ALWAYS AS ('12345-' || lpad(id::text, 9, '0')) STORED UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  caller_phone text NOT NULL,
  citizen_id   char(18),
  town_id      text NOT NULL,
  category     text NOT NULL CHECK (category IN ('咨询', '求助', '投诉', '举报', '建议')),
  content      text NOT NULL,
  status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'assigned', 'answered', 'closed')),
  department   text,
  due_at       timestamptz NOT NULL,
  client_ref   text UNIQUE
);
CREATE INDEX IF NOT EXISTS tickets_status ON tickets (status, id);

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS answer text NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN IF NOT EXISTS satisfaction smallint CHECK (satisfaction BETWEEN 1 AND 5);
ALTER TABLE tickets ADD COLUMN IF NOT EXISTS closed_at timestamptz;
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
                    name='Ticket',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('ticket_no', models.GeneratedField(db_persist=True, expression=django.db.models.functions.text.Concat(models.Value('12345-'), django.db.models.functions.text.LPad(django.db.models.functions.comparison.Cast('id', models.CharField()), 9, models.Value('0'))), output_field=models.CharField(max_length=20))),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('caller_phone', models.TextField()),
                        ('citizen_id', models.CharField(max_length=18, null=True)),
                        ('town_id', models.TextField()),
                        ('category', models.TextField(choices=[('咨询', '咨询'), ('求助', '求助'), ('投诉', '投诉'), ('举报', '举报'), ('建议', '建议')])),
                        ('content', models.TextField()),
                        ('status', models.TextField(choices=[('open', '待派单'), ('assigned', '已派单'), ('answered', '已答复'), ('closed', '已办结')], default='open')),
                        ('department', models.TextField(null=True)),
                        ('due_at', models.DateTimeField()),
                        ('client_ref', models.TextField(null=True, unique=True)),
                        ('answer', models.TextField(blank=True, default='')),
                        ('satisfaction', models.SmallIntegerField(null=True)),
                        ('closed_at', models.DateTimeField(null=True)),
                    ],
                    options={
                        'db_table': 'tickets',
                        'ordering': ['-id'],
                    },
                ),
            ],
        ),
    ]
