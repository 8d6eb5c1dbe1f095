"""The audit log is append-only for everyone: UPDATE, DELETE and TRUNCATE raise."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION egov_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER common_auditentry_append_only BEFORE UPDATE OR DELETE ON common_auditentry
  FOR EACH ROW EXECUTE FUNCTION egov_audit_append_only();
CREATE TRIGGER common_auditentry_no_truncate BEFORE TRUNCATE ON common_auditentry
  FOR EACH STATEMENT EXECUTE FUNCTION egov_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("common", "0001_initial")]
    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop)]
