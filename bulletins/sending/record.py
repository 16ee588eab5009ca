"""Writing each row's outcome back to the ledger: a handful of set-based UPDATEs per chunk.

Every UPDATE is guarded by the batch's claim token, so a batch whose lease expired (and whose rows
another consumer re-claimed) cannot overwrite what that consumer records.
"""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bulletins.channels.base import FAILED, RETRY, SENT, SendResult
from bulletins.models import Delivery

Status = Delivery.Status


def backoff(attempts: int) -> timedelta:
    """Doubling from BULLETIN_RETRY_BASE_SECONDS, at most an hour."""
    return timedelta(seconds=min(settings.BULLETIN_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), 3600))


def _claimed(token, ids):
    return Delivery.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING)


def _released(**fields) -> dict:
    return {"claim_token": None, "lease_expires_at": None, **fields}


def mark(*, token, ids, status: str, reason: str) -> int:
    """End rows as skipped, failed or cancelled with one reason."""
    if not ids:
        return 0
    return _claimed(token, ids).update(**_released(status=status, reason=reason[:200], next_attempt_at=None))


def _record_sent(token, sent: list[SendResult], now) -> None:
    """One statement for the whole chunk, each row with its own provider message id.

    (An ORM Case/When per row cost a third of a batch's CPU at 250 rows.)"""
    table = Delivery._meta.db_table
    field = Delivery._meta.get_field
    params = {"status": Status.SENT, "sent_at": field("sent_at").get_db_prep_value(now, connection),
              "token": field("claim_token").get_db_prep_value(token, connection), "sending": Status.SENDING}
    assign = ("status = %(status)s, reason = '', sent_at = %(sent_at)s, next_attempt_at = NULL, "
              "claim_token = NULL, lease_expires_at = NULL, provider_message_id = ")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS d SET {assign} v.mid FROM (SELECT unnest(%(ids)s::bigint[]) AS id, "  # noqa: S608
                "unnest(%(mids)s::text[]) AS mid) AS v "
                "WHERE d.id = v.id AND d.claim_token = %(token)s AND d.status = %(sending)s",
                {**params, "ids": [r.delivery_id for r in sent], "mids": [r.provider_message_id[:200] for r in sent]})
        else:
            cursor.executemany(
                f"UPDATE {table} SET {assign} %(mid)s "  # noqa: S608
                "WHERE id = %(id)s AND claim_token = %(token)s AND status = %(sending)s",
                [{**params, "id": r.delivery_id, "mid": r.provider_message_id[:200]} for r in sent])


def record_results(*, token, results: list[SendResult], attempts: dict[int, int]) -> dict[str, int]:
    """Apply a channel's results; returns counts by final outcome (sent, failed, retry)."""
    now = timezone.now()
    sent = [r for r in results if r.outcome == SENT]
    failed = defaultdict(list)
    retry = defaultdict(list)  # (reason, next attempt) -> ids
    for result in results:
        if result.outcome == FAILED:
            failed[result.reason or "The message was refused."].append(result.delivery_id)
        elif result.outcome == RETRY:
            tries = attempts.get(result.delivery_id, 1)
            if tries >= settings.BULLETIN_MAX_ATTEMPTS:
                failed[f"{result.reason} Gave up after {tries} attempts."].append(result.delivery_id)
            else:
                retry[(result.reason, now + backoff(tries))].append(result.delivery_id)
    with transaction.atomic():
        if sent:
            _record_sent(token, sent, now)
        for reason, ids in failed.items():
            mark(token=token, ids=ids, status=Status.FAILED, reason=reason)
        for (reason, when), ids in retry.items():
            _claimed(token, ids).update(**_released(status=Status.PENDING, next_attempt_at=when,
                                                    reason=f"{reason} Will try again."[:200]))
    return {"sent": len(sent), "failed": sum(map(len, failed.values())), "retry": sum(map(len, retry.values()))}
