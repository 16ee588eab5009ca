"""Send-time consent re-check, held until the chunk is handed over.

People unsubscribe mid-send. Every consent change locks the person's contact row first
(``consent.ledger.lock_contact``), so on PostgreSQL the chunk takes a shared lock on its contacts'
rows (ascending id, as ``lock_contacts`` does, so no deadlock), re-checks, sends and commits:
an unsubscribe either committed before the re-check (the row is skipped) or waits until the
chunk has gone (it was not yet recorded when the email left). SQLite has no row locks and a write
transaction there would block the whole site during an SMTP conversation, so it re-checks
immediately before the hand-over without holding a lock.

The purposes re-checked are the bulletin's own (``Bulletin.purposes``: ``events`` for an invitation,
``events`` or ``involvement`` for activity feedback), the same ones its audience was chosen by.
"""

from contextlib import contextmanager

from django.db import connection, transaction

from consent.selectors import reachable_contact_ids
from crm.models import Contact

PURPOSE = "bulletin"


def _reachable(contact_ids: list[int], purposes: tuple[str, ...]) -> set[int]:
    reachable = set()
    for purpose in purposes:
        reachable |= reachable_contact_ids(contact_ids=contact_ids, purpose=purpose)
    return reachable


@contextmanager
def reachable_while_sending(contact_ids: list[int], purposes: tuple[str, ...] = (PURPOSE,)):
    """Yields the set of ``contact_ids`` reachable for any of ``purposes``; on PostgreSQL they stay so until exit."""
    if connection.vendor != "postgresql":
        yield _reachable(contact_ids, purposes)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {Contact._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR SHARE",  # noqa: S608
                [sorted(contact_ids)],
            )
        yield _reachable(contact_ids, purposes)
