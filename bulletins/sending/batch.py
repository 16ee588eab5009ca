"""One batch: claim due rows, re-check consent, render, hand over in chunks, record every row.

Each row ends sent, failed (with reason) or skipped (with reason), or goes back to pending with a
back-off after a transient error. A crash between hand-over and recording leaves the rows under an
expired lease; the sweeper puts them back, so at most this one batch is sent twice, and nobody is
skipped.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from bulletins import audience
from bulletins.channels import get_channel
from bulletins.models import Bulletin, Delivery
from bulletins.sending import throttle
from bulletins.sending.bells import ring
from bulletins.sending.claim import ClaimedRow, claim_batch
from bulletins.sending.lifecycle import CANCELLED_REASON, finish_if_done
from bulletins.sending.messages import PersonalLinks, UnsafeHeader, build_message, with_plain_text_flag
from bulletins.sending.recheck import reachable_while_sending
from bulletins.sending.record import mark, record_results
from crm.models import Contact

logger = logging.getLogger(__name__)
Status = Delivery.Status
UNSUBSCRIBED_REASON = "No longer receiving bulletins when it was sent (unsubscribed or suppressed)."
UNSUBSCRIBED_REASONS = {
    Bulletin.Kind.EVENT_INVITATION: "No longer agreed to hear about events when it was sent (unsubscribed or suppressed).",
    Bulletin.Kind.ACTIVITY_FEEDBACK: "No longer agreed to hear about events or involvement when it was sent "
                                     "(unsubscribed or suppressed).",
}


@dataclass
class BatchReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retry: int = 0
    cancelled: int = 0
    finished: bool = False
    notes: list[str] = field(default_factory=list)


def _chunks(rows: list, size: int):
    for start in range(0, len(rows), max(size, 1)):
        yield rows[start:start + size]


def _still_sending(bulletin_id: int) -> bool:
    return Bulletin.objects.filter(pk=bulletin_id, status=Bulletin.Status.SENDING).exists()


def send_batch(*, bulletin_id: int, channel=None) -> BatchReport:
    report = BatchReport()
    bulletin = Bulletin.objects.filter(pk=bulletin_id).first()
    if bulletin is None or bulletin.status != Bulletin.Status.SENDING:
        return report
    claim = claim_batch(bulletin_id=bulletin_id)
    report.claimed = len(claim.rows)
    if claim.rows:
        _send_claimed(bulletin, claim, channel or get_channel(), report)
        if report.retry:
            ring(bulletin_id=bulletin_id, rows=report.retry, delay=settings.BULLETIN_RETRY_BASE_SECONDS)
    report.finished = finish_if_done(bulletin_id=bulletin_id)
    return report


def _send_claimed(bulletin: Bulletin, claim, channel, report: BatchReport) -> None:
    contact_ids = [row.contact_id for row in claim.rows]
    contacts = with_plain_text_flag(Contact.objects.filter(pk__in=contact_ids)).in_bulk()
    matching = audience.matching_item_ids(bulletin=bulletin, contact_ids=contact_ids)
    plain = {pk for pk, contact in contacts.items() if contact.plain_text_only}
    attempts = {row.delivery_id: row.attempts for row in claim.rows}
    links = PersonalLinks(bulletin)
    for chunk in _chunks(claim.rows, channel.max_batch):
        throttle.acquire(len(chunk))
        if not _still_sending(bulletin.pk):  # cancelled or paused meanwhile: stop within this batch
            _hand_back(bulletin.pk, claim.token, chunk, report)
            continue
        _send_chunk(bulletin, claim.token, chunk, channel, contacts, matching, plain, attempts, links, report)


def _hand_back(bulletin_id: int, token, chunk: list[ClaimedRow], report: BatchReport) -> None:
    """Rows claimed but not yet sent when the send was paused or cancelled."""
    ids = [row.delivery_id for row in chunk]
    status = Bulletin.objects.filter(pk=bulletin_id).values_list("status", flat=True).first()
    if status == Bulletin.Status.CANCELLED:
        report.cancelled += mark(token=token, ids=ids, status=Status.CANCELLED, reason=CANCELLED_REASON)
    else:  # paused: back to pending, and this claim does not count as an attempt
        Delivery.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING).update(
            status=Status.PENDING, claim_token=None, lease_expires_at=None, attempts=F("attempts") - 1)


def _send_chunk(bulletin, token, chunk, channel, contacts, matching, plain, attempts, links, report) -> None:
    with reachable_while_sending([row.contact_id for row in chunk], bulletin.purposes) as reachable:
        skipped, unbuildable, messages = [], [], []
        for row in chunk:
            contact = contacts.get(row.contact_id)
            if contact is None or row.contact_id not in reachable:
                skipped.append(row.delivery_id)
                continue
            try:
                messages.append(build_message(
                    links=links, bulletin=bulletin, delivery_id=row.delivery_id, contact=contact,
                    matching=matching.get(row.contact_id, frozenset()), plain_text_only=row.contact_id in plain))
            except UnsafeHeader:
                unbuildable.append(row.delivery_id)
        report.skipped += mark(token=token, ids=skipped, status=Status.SKIPPED,
                               reason=UNSUBSCRIBED_REASONS.get(bulletin.kind, UNSUBSCRIBED_REASON))
        report.failed += mark(token=token, ids=unbuildable, status=Status.FAILED,
                              reason="The email address or a header contains a line break.")
        results = channel.send(messages) if messages else []
        _check_results(messages, results)
        counts = record_results(token=token, results=results, attempts=attempts, bulletin=bulletin)
    report.sent += counts["sent"]
    report.failed += counts["failed"]
    report.retry += counts["retry"]


def _check_results(messages, results) -> None:
    """A channel must answer for every message it was given; anything unanswered stays leased and is retried."""
    missing = {m.delivery_id for m in messages} - {r.delivery_id for r in results}
    if missing:
        logger.error("Channel returned no result for %d messages at %s; they will be retried after the lease",
                     len(missing), timezone.now().isoformat())
