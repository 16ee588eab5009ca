"""Send-time consent re-check, held until the chunk is handed over.

People unsubscribe mid-send. Every consent change locks the person's contact row first
(``consent.ledger.lock_contact``), so on PostgreSQL the chunk takes a shared lock on its contacts'
rows (ascending id, as ``lock_contacts`` does, so no deadlock), re-checks, sends and commits:
an unsubscribe either committed before the re-check (the row is skipped) or waits until the
chunk has gone (it was not yet recorded when the email left). SQLite has no row locks and a write
transaction there would block the whole site during an SMTP conversation, so it re-checks
immediately before the hand-over without holding a lock.
"""

from contextlib import contextmanager

from django.db import connection, transaction

from consent.selectors import reachable_contact_ids
from crm.models import Contact

PURPOSE = "bulletin"


@contextmanager
def reachable_while_sending(contact_ids: list[int]):
    """Yields the set of ``contact_ids`` reachable for bulletins; on PostgreSQL they stay so until exit."""
    if connection.vendor != "postgresql":
        yield reachable_contact_ids(contact_ids=contact_ids, purpose=PURPOSE)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {Contact._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR SHARE",  # noqa: S608
                [sorted(contact_ids)],
            )
        yield reachable_contact_ids(contact_ids=contact_ids, purpose=PURPOSE)
