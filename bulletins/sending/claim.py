"""Claiming due rows under a lease, so two consumers never send the same row.

PostgreSQL: ``FOR UPDATE SKIP LOCKED`` inside one UPDATE … RETURNING, so concurrent batches take
disjoint rows without waiting for each other. SQLite: the same single statement inside a write
transaction (``transaction_mode=IMMEDIATE``), which SQLite serialises.
A claim only happens while the bulletin is sending and still approved at its current version:
pausing, cancelling or editing stops the next claim.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bulletins.models import Bulletin, Delivery


@dataclass(frozen=True, order=True)
class ClaimedRow:
    delivery_id: int
    contact_id: int
    attempts: int


@dataclass(frozen=True)
class Claim:
    token: uuid.UUID
    rows: list[ClaimedRow]
    lease_expires_at: object


def lease_seconds() -> float:
    """BULLETIN_LEASE_SECONDS, or twice a whole batch's time at the throttled rate if that is longer."""
    rate = max(settings.BULLETIN_MAX_PER_SECOND, 0.001)
    return max(settings.BULLETIN_LEASE_SECONDS, 2 * settings.BULLETIN_BATCH_SIZE / rate)


def _db(field: str, value):
    """A value as the Delivery column stores it (SQLite keeps UUIDs as hex and datetimes as text)."""
    return Delivery._meta.get_field(field).get_db_prep_value(value, connection, prepared=False)


def claim_batch(*, bulletin_id: int, limit: int | None = None) -> Claim:
    now = timezone.now()
    token = uuid.uuid4()
    expires = now + timedelta(seconds=lease_seconds())
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    table, bulletins = Delivery._meta.db_table, Bulletin._meta.db_table
    # The ids are picked once, in a materialised CTE: as "UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE
    # SKIP LOCKED) AND status = …", PostgreSQL ran the subquery again per row and claimed far more than n.
    # Table names come from model metadata; every value is a parameter.
    sql = (
        f"WITH picked AS MATERIALIZED (SELECT id AS picked_id FROM {table} "  # noqa: S608
        "WHERE bulletin_id = %s AND status = %s AND (next_attempt_at IS NULL OR next_attempt_at <= %s) "
        f"AND EXISTS (SELECT 1 FROM {bulletins} b WHERE b.id = %s AND b.status = %s AND b.approved_version = b.version) "
        f"ORDER BY id LIMIT %s{lock}) "
        f"UPDATE {table} SET status = %s, claim_token = %s, lease_expires_at = %s, attempts = attempts + 1 "
        "FROM picked WHERE id = picked.picked_id AND status = %s "  # re-checked on the row as locked
        "RETURNING id, contact_id, attempts"
    )
    params = [
        bulletin_id, Delivery.Status.PENDING, _db("next_attempt_at", now), bulletin_id, Bulletin.Status.SENDING,
        limit or settings.BULLETIN_BATCH_SIZE,
        Delivery.Status.SENDING, _db("claim_token", token), _db("lease_expires_at", expires), Delivery.Status.PENDING,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = sorted(ClaimedRow(*row) for row in cursor.fetchall())
    return Claim(token=token, rows=rows, lease_expires_at=expires)
