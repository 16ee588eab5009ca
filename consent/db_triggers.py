# ruff: noqa: S608 - every statement here is built from constants in this file, never from input
"""Database triggers that keep ``ConsentState.suppressed`` equal to "an active suppression exists for
this contact's address and this purpose", on SQLite and PostgreSQL.

Why triggers and not only the services: "reachable" must be one index range on
(purpose, status, suppressed, contact), and a suppression must win over any state row however it
was written (a service, the erasure step of another app, a loader, a migration, a hand-made fix,
an email address changed by a plain UPDATE). The database is the one place every write passes.

The flag is recomputed when a suppression is inserted, lifted, re-keyed or deleted, when a
contact's ``email_hash`` changes, and when a state row is inserted or moved (or the flag itself is
written by hand: a wrong value is put right). Status changes need no recomputation.

On SQLite they are dropped before ``migrate`` and created again after it (``drop_before_migrate``,
``ensure_triggers``): Django rebuilds a table for many ALTERs, and a rebuild fails while another
table's trigger names it (or silently loses the table's own triggers).
"""

from django.db.models.signals import post_migrate, pre_migrate

# "Is this state's address suppressed for its purpose?" for a state row aliased ``st``.
_SUPPRESSED_SQL = (
    "EXISTS (SELECT 1 FROM consent_suppression s JOIN crm_contact c ON s.address_hash = c.email_hash "
    "WHERE c.id = {contact} AND s.purpose_id = {purpose} AND s.lifted_at IS NULL)"
)


def _suppressed(contact: str, purpose: str) -> str:
    return _SUPPRESSED_SQL.format(contact=contact, purpose=purpose)


_STATE = "consent_consentstate"
# In the suppression triggers below, "+purpose_id" keeps SQLite off consent_state_reach_idx
# (purpose, ...): without statistics it chose that index and walked every state row of the purpose
# for each suppression written (seconds per thousand in a 100,000-row import); with the unary plus
# it finds the few rows by (contact, purpose), consent_state_unique. The value compared is the same.
_RECOMPUTE_SQLITE = (
    f"UPDATE {_STATE} SET suppressed = {_suppressed(f'{_STATE}.contact_id', f'{_STATE}.purpose_id')} "
    f"WHERE {{where}} AND suppressed IS NOT {_suppressed(f'{_STATE}.contact_id', f'{_STATE}.purpose_id')};"
)

SQLITE_TRIGGERS = {
    "consent_state_suppressed_on_insert": f"""
        CREATE TRIGGER IF NOT EXISTS consent_state_suppressed_on_insert AFTER INSERT ON {_STATE}
        WHEN NEW.suppressed IS NOT {_suppressed('NEW.contact_id', 'NEW.purpose_id')}
        BEGIN {_RECOMPUTE_SQLITE.format(where='id = NEW.id')} END""",
    "consent_state_suppressed_on_update": f"""
        CREATE TRIGGER IF NOT EXISTS consent_state_suppressed_on_update
        AFTER UPDATE OF contact_id, purpose_id, suppressed ON {_STATE}
        WHEN NEW.suppressed IS NOT {_suppressed('NEW.contact_id', 'NEW.purpose_id')}
        BEGIN {_RECOMPUTE_SQLITE.format(where='id = NEW.id')} END""",
    "consent_suppression_on_insert": f"""
        CREATE TRIGGER IF NOT EXISTS consent_suppression_on_insert AFTER INSERT ON consent_suppression
        WHEN NEW.lifted_at IS NULL
        BEGIN {_RECOMPUTE_SQLITE.format(
            where='+purpose_id = NEW.purpose_id AND contact_id IN '
                  '(SELECT id FROM crm_contact WHERE email_hash = NEW.address_hash)')} END""",
    "consent_suppression_on_update": f"""
        CREATE TRIGGER IF NOT EXISTS consent_suppression_on_update
        AFTER UPDATE OF address_hash, purpose_id, lifted_at ON consent_suppression
        BEGIN {_RECOMPUTE_SQLITE.format(
            where='+purpose_id IN (OLD.purpose_id, NEW.purpose_id) AND contact_id IN '
                  '(SELECT id FROM crm_contact WHERE email_hash IN (OLD.address_hash, NEW.address_hash))')} END""",
    "consent_suppression_on_delete": f"""
        CREATE TRIGGER IF NOT EXISTS consent_suppression_on_delete AFTER DELETE ON consent_suppression
        WHEN OLD.lifted_at IS NULL
        BEGIN {_RECOMPUTE_SQLITE.format(
            where='+purpose_id = OLD.purpose_id AND contact_id IN '
                  '(SELECT id FROM crm_contact WHERE email_hash = OLD.address_hash)')} END""",
    "consent_contact_hash_on_update": f"""
        CREATE TRIGGER IF NOT EXISTS consent_contact_hash_on_update AFTER UPDATE OF email_hash ON crm_contact
        WHEN NEW.email_hash IS NOT OLD.email_hash
        BEGIN {_RECOMPUTE_SQLITE.format(where='contact_id = NEW.id')} END""",
}

_PG_RECOMPUTE = (
    f"UPDATE {_STATE} st SET suppressed = consent_state_is_suppressed(st.contact_id, st.purpose_id) "
    "WHERE {where} AND st.suppressed IS DISTINCT FROM consent_state_is_suppressed(st.contact_id, st.purpose_id);"
)
POSTGRES_FUNCTIONS = [
    f"""CREATE OR REPLACE FUNCTION consent_state_is_suppressed(p_contact bigint, p_purpose bigint)
        RETURNS boolean AS $$ SELECT {_suppressed('p_contact', 'p_purpose')} $$ LANGUAGE sql STABLE""",
    """CREATE OR REPLACE FUNCTION consent_state_suppressed() RETURNS trigger AS $$
       BEGIN
         NEW.suppressed := consent_state_is_suppressed(NEW.contact_id, NEW.purpose_id);
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION consent_suppression_changed() RETURNS trigger AS $$
       BEGIN
         IF TG_OP IN ('UPDATE', 'DELETE') THEN
           {_PG_RECOMPUTE.format(where='st.purpose_id = OLD.purpose_id AND st.contact_id IN '
                                       '(SELECT id FROM crm_contact WHERE email_hash = OLD.address_hash)')}
         END IF;
         IF TG_OP IN ('UPDATE', 'INSERT') THEN
           {_PG_RECOMPUTE.format(where='st.purpose_id = NEW.purpose_id AND st.contact_id IN '
                                       '(SELECT id FROM crm_contact WHERE email_hash = NEW.address_hash)')}
         END IF;
         RETURN NULL;
       END; $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION consent_contact_hash_changed() RETURNS trigger AS $$
       BEGIN
         {_PG_RECOMPUTE.format(where='st.contact_id = NEW.id')}
         RETURN NULL;
       END; $$ LANGUAGE plpgsql""",
]
POSTGRES_TRIGGERS = {
    ("consent_state_suppressed", _STATE): f"""
        CREATE TRIGGER consent_state_suppressed BEFORE INSERT OR UPDATE OF contact_id, purpose_id, suppressed
        ON {_STATE} FOR EACH ROW EXECUTE FUNCTION consent_state_suppressed()""",
    ("consent_suppression_changed", "consent_suppression"): """
        CREATE TRIGGER consent_suppression_changed AFTER INSERT OR UPDATE OF address_hash, purpose_id, lifted_at
        OR DELETE ON consent_suppression FOR EACH ROW EXECUTE FUNCTION consent_suppression_changed()""",
    ("consent_contact_hash_changed", "crm_contact"): """
        CREATE TRIGGER consent_contact_hash_changed AFTER UPDATE OF email_hash ON crm_contact
        FOR EACH ROW WHEN (OLD.email_hash IS DISTINCT FROM NEW.email_hash)
        EXECUTE FUNCTION consent_contact_hash_changed()""",
}
POSTGRES_REVERSE = [
    *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in POSTGRES_TRIGGERS),
    "DROP FUNCTION IF EXISTS consent_contact_hash_changed()",
    "DROP FUNCTION IF EXISTS consent_suppression_changed()",
    "DROP FUNCTION IF EXISTS consent_state_suppressed()",
    "DROP FUNCTION IF EXISTS consent_state_is_suppressed(bigint, bigint)",
]
SQLITE_REVERSE = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]

# Put every existing flag right (the data migration, and after re-creating lost triggers).
RESYNC_SQL = {
    "sqlite": f"UPDATE {_STATE} SET suppressed = {_suppressed(f'{_STATE}.contact_id', f'{_STATE}.purpose_id')} "
              f"WHERE suppressed IS NOT {_suppressed(f'{_STATE}.contact_id', f'{_STATE}.purpose_id')}",
    "postgresql": f"UPDATE {_STATE} st SET suppressed = x.flag FROM (SELECT st2.id, "
                  f"{_suppressed('st2.contact_id', 'st2.purpose_id')} AS flag FROM {_STATE} st2) x "
                  "WHERE x.id = st.id AND st.suppressed IS DISTINCT FROM x.flag",
}


def create_triggers(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in POSTGRES_FUNCTIONS:
                cursor.execute(sql)
            for (name, table), sql in POSTGRES_TRIGGERS.items():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(sql)
        else:
            for sql in SQLITE_TRIGGERS.values():
                cursor.execute(sql)


def drop_triggers(connection) -> None:
    with connection.cursor() as cursor:
        for sql in POSTGRES_REVERSE if connection.vendor == "postgresql" else SQLITE_REVERSE:
            cursor.execute(sql)


def resync_flags(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute(RESYNC_SQL["postgresql" if connection.vendor == "postgresql" else "sqlite"])
        return cursor.rowcount


def _missing_sqlite_triggers(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    return not set(SQLITE_TRIGGERS) <= present


def _flag_column_exists(connection) -> bool:
    tables = connection.introspection.table_names()
    if _STATE not in tables or "crm_contact" not in tables or "consent_suppression" not in tables:
        return False
    with connection.cursor() as cursor:
        return "suppressed" in {c.name for c in connection.introspection.get_table_description(cursor, _STATE)}


def drop_before_migrate(sender, using, **kwargs) -> None:
    """SQLite: a trigger whose body names a table makes Django's rebuild of that table fail (the
    rename at its end checks every trigger), so a crm or consent migration that rebuilds
    crm_contact, consent_suppression or consent_consentstate could not run. The triggers are taken
    away before migrating and put back, with every flag recomputed, afterwards."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor == "sqlite":
        drop_triggers(connection)


def ensure_triggers(sender, using, **kwargs) -> None:
    """After migrate (and after a test flush): SQLite triggers are (re)created if missing and the
    flags they keep are recomputed. PostgreSQL keeps its triggers through ALTER TABLE."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite" or not _flag_column_exists(connection):
        return
    if _missing_sqlite_triggers(connection):
        create_triggers(connection)
        resync_flags(connection)


pre_migrate.connect(drop_before_migrate, dispatch_uid="consent.db_triggers.drop_before_migrate")
post_migrate.connect(ensure_triggers, dispatch_uid="consent.db_triggers.ensure_triggers")
