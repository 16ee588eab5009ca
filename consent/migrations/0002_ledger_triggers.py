"""Database-level protection of the consent ledger and of published statements.

ConsentEvent: UPDATE always refused; DELETE refused unless the erasure service has written an
ErasurePermit for that contact in the same transaction. ConsentStatement: a published row's
wording, version, purpose and publication date cannot change, and it cannot be deleted.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE TRIGGER consent_event_no_update BEFORE UPDATE ON consent_consentevent
       BEGIN SELECT RAISE(ABORT, 'consent ledger is append-only: events cannot be updated'); END""",
    """CREATE TRIGGER consent_event_no_delete BEFORE DELETE ON consent_consentevent
       WHEN NOT EXISTS (SELECT 1 FROM consent_erasurepermit WHERE contact_id = OLD.contact_id)
       BEGIN SELECT RAISE(ABORT, 'consent ledger is append-only: events are deleted only by erasure'); END""",
    """CREATE TRIGGER consent_statement_immutable BEFORE UPDATE ON consent_consentstatement
       WHEN OLD.published_at IS NOT NULL AND (NEW.text IS NOT OLD.text OR NEW.version IS NOT OLD.version
            OR NEW.purpose_id IS NOT OLD.purpose_id OR NEW.published_at IS NOT OLD.published_at)
       BEGIN SELECT RAISE(ABORT, 'a published consent statement cannot be changed'); END""",
    """CREATE TRIGGER consent_statement_no_delete BEFORE DELETE ON consent_consentstatement
       WHEN OLD.published_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'a published consent statement cannot be deleted'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS consent_event_no_update",
    "DROP TRIGGER IF EXISTS consent_event_no_delete",
    "DROP TRIGGER IF EXISTS consent_statement_immutable",
    "DROP TRIGGER IF EXISTS consent_statement_no_delete",
]

POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION consent_event_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' THEN
           RAISE EXCEPTION 'consent ledger is append-only: events cannot be updated';
         END IF;
         IF NOT EXISTS (SELECT 1 FROM consent_erasurepermit WHERE contact_id = OLD.contact_id) THEN
           RAISE EXCEPTION 'consent ledger is append-only: events are deleted only by erasure';
         END IF;
         RETURN OLD;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER consent_event_guard BEFORE UPDATE OR DELETE ON consent_consentevent
       FOR EACH ROW EXECUTE FUNCTION consent_event_guard()""",
    """CREATE OR REPLACE FUNCTION consent_statement_guard() RETURNS trigger AS $$
       BEGIN
         IF OLD.published_at IS NOT NULL THEN
           IF TG_OP = 'DELETE' THEN
             RAISE EXCEPTION 'a published consent statement cannot be deleted';
           END IF;
           IF NEW.text IS DISTINCT FROM OLD.text OR NEW.version IS DISTINCT FROM OLD.version
              OR NEW.purpose_id IS DISTINCT FROM OLD.purpose_id
              OR NEW.published_at IS DISTINCT FROM OLD.published_at THEN
             RAISE EXCEPTION 'a published consent statement cannot be changed';
           END IF;
         END IF;
         IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER consent_statement_guard BEFORE UPDATE OR DELETE ON consent_consentstatement
       FOR EACH ROW EXECUTE FUNCTION consent_statement_guard()""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS consent_event_guard ON consent_consentevent",
    "DROP FUNCTION IF EXISTS consent_event_guard()",
    "DROP TRIGGER IF EXISTS consent_statement_guard ON consent_consentstatement",
    "DROP FUNCTION IF EXISTS consent_statement_guard()",
]


def forward(apps, schema_editor):
    statements = POSTGRES_FORWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_FORWARD
    for sql in statements:
        schema_editor.execute(sql)


def reverse(apps, schema_editor):
    statements = POSTGRES_REVERSE if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
