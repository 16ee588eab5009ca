"""The periodic sweep (every minute): expired leases back to pending, stalled sends re-rung,
scheduled bulletins launched when their time comes.

Huey can lose the task a dying consumer held; the ledger cannot lose a row. Anything still
pending with nothing in flight gets new bells, so a lost task delays a send but never drops it.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bulletins.models import Bulletin, Delivery
from bulletins.sending.bells import ring
from bulletins.sending.lifecycle import SendRefused, finish_if_done, start_send
from crm.audit import Actor

logger = logging.getLogger(__name__)
Status = Delivery.Status
INTERRUPTED_REASON = "The worker stopped while sending; sent again."
INTERRUPTED_CANCELLED_REASON = "Cancelled; the worker stopped while sending this one, so it may have gone."


@dataclass
class SweepReport:
    leases_expired: int = 0
    bells: int = 0
    launched: list[int] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)


def release_expired_leases(now=None) -> int:
    """Rows whose lease ran out go back to pending (or cancelled, if the send was cancelled meanwhile)."""
    now = now or timezone.now()
    expired = Delivery.objects.filter(status=Status.SENDING, lease_expires_at__lt=now)
    cancelled = expired.filter(bulletin__status=Bulletin.Status.CANCELLED).update(
        status=Status.CANCELLED, reason=INTERRUPTED_CANCELLED_REASON, claim_token=None, lease_expires_at=None)
    given_up = expired.filter(attempts__gte=settings.BULLETIN_MAX_ATTEMPTS).update(
        status=Status.FAILED, claim_token=None, lease_expires_at=None,
        reason=f"The worker stopped each time this was being sent; gave up after {settings.BULLETIN_MAX_ATTEMPTS} attempts.")
    released = expired.update(status=Status.PENDING, reason=INTERRUPTED_REASON, claim_token=None,
                              lease_expires_at=None, next_attempt_at=None)
    return cancelled + given_up + released


def ring_stalled(now=None) -> tuple[int, list[int]]:
    """For each sending bulletin with due rows and none in flight, queue bells; finish any that are done."""
    now = now or timezone.now()
    bells, finished = 0, []
    for bulletin_id in Bulletin.objects.filter(status=Bulletin.Status.SENDING).values_list("pk", flat=True):
        rows = Delivery.objects.filter(bulletin_id=bulletin_id)
        if rows.filter(status=Status.SENDING).exists():
            continue
        due = rows.filter(status=Status.PENDING).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        count = due.count()
        if count:
            bells += ring(bulletin_id=bulletin_id, rows=count)
        elif finish_if_done(bulletin_id=bulletin_id):
            finished.append(bulletin_id)
    return bells, finished


def launch_scheduled(now=None) -> list[int]:
    """Scheduled bulletins whose time has come and whose approval still covers their current version."""
    now = now or timezone.now()
    launched = []
    due = Bulletin.objects.filter(status=Bulletin.Status.SCHEDULED, scheduled_for__lte=now,
                                  approved_version__isnull=False)
    for bulletin in due:
        if bulletin.approved_version != bulletin.version:
            continue
        try:
            start_send(bulletin=bulletin, actor=Actor.system())
        except SendRefused as exc:  # changed meanwhile; the page shows its state
            logger.warning("Scheduled bulletin %s not started: %s", bulletin.pk, exc)
            continue
        launched.append(bulletin.pk)
    return launched


def sweep(now=None) -> SweepReport:
    report = SweepReport(leases_expired=release_expired_leases(now))
    report.launched = launch_scheduled(now)
    report.bells, report.finished = ring_stalled(now)
    return report
