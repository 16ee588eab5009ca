"""Starting, pausing, resuming, cancelling and finishing a send. Each is a service: one transaction,
the bulletin row locked before it is read to decide, one audit entry."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from bulletins.models import Bulletin, Delivery
from bulletins.selectors import status_counts
from bulletins.sending.bells import ring
from bulletins.sending.fanout import create_deliveries
from crm.audit import Actor, record_audit
from segments.activities import record_feedback_sent

Status = Bulletin.Status


class SendRefused(ValueError):
    """The bulletin is not in a state where this may happen; the message says why, for staff."""


def _require_send_permission(actor: Actor) -> None:
    """Staff need bulletins.send_bulletin, whoever calls; the system (scheduler, sweeper) acts for no one."""
    if actor.user is not None and not actor.user.has_perm("bulletins.send_bulletin"):
        raise PermissionDenied("You do not have permission to send, pause, resume or cancel bulletins.")


def _locked(bulletin: Bulletin) -> Bulletin:
    return Bulletin.objects.select_for_update().get(pk=bulletin.pk)


def _due_rows(bulletin_id: int) -> int:
    return Delivery.objects.filter(bulletin_id=bulletin_id, status=Delivery.Status.PENDING).count()


def _ring_after_commit(bulletin_id: int, rows: int) -> None:
    transaction.on_commit(lambda: ring(bulletin_id=bulletin_id, rows=rows))


def start_send(*, bulletin: Bulletin, actor: Actor) -> int:
    """Fan out and queue the batches. Only a bulletin approved at its current version may go.

    Returns the number of Delivery rows (people it goes to)."""
    _require_send_permission(actor)
    with transaction.atomic():
        locked = _locked(bulletin)
        if locked.status not in (Status.APPROVED, Status.SCHEDULED):
            raise SendRefused(f"This bulletin cannot be sent: it is {locked.get_status_display().lower()}.")
        if locked.approved_version is None or locked.approved_version != locked.version:
            raise SendRefused("This bulletin has changed since it was approved. It needs approving again.")
        if any(ch in (locked.subject + locked.preheader) for ch in "\r\n"):
            raise SendRefused("The subject and preheader must be on one line.")
        if locked.needs_items and not locked.items.exists():
            raise SendRefused("This bulletin has no items.")
        added = create_deliveries(bulletin=locked)  # invitations are recorded as each copy is sent (record.py)
        locked.status, locked.send_started_at = Status.SENDING, timezone.now()
        locked.save(update_fields=["status", "send_started_at", "updated_at"])
        record_audit(actor=actor, action="bulletin.send_started", obj=locked,
                     changes={"recipients": added, "version": locked.version,
                              "channel": settings.BULLETIN_CHANNEL})
        _ring_after_commit(locked.pk, added)
    bulletin.status, bulletin.send_started_at = locked.status, locked.send_started_at
    return added


def pause_send(*, bulletin: Bulletin, actor: Actor) -> None:
    """Batches stop claiming; rows stay pending. The batch already in flight finishes."""
    _require_send_permission(actor)
    with transaction.atomic():
        locked = _locked(bulletin)
        if locked.status != Status.SENDING:
            raise SendRefused("Only a bulletin that is sending can be paused.")
        locked.status = Status.PAUSED
        locked.save(update_fields=["status", "updated_at"])
        record_audit(actor=actor, action="bulletin.send_paused", obj=locked,
                     changes={"pending": _due_rows(locked.pk)})
    bulletin.status = locked.status


def resume_send(*, bulletin: Bulletin, actor: Actor) -> int:
    """Sending again from where it stopped: only pending rows are queued, so nobody gets it twice."""
    _require_send_permission(actor)
    with transaction.atomic():
        locked = _locked(bulletin)
        if locked.status != Status.PAUSED:
            raise SendRefused("Only a paused bulletin can be resumed.")
        if locked.approved_version != locked.version:
            raise SendRefused("This bulletin has changed since it was approved. It needs approving again.")
        locked.status = Status.SENDING
        locked.save(update_fields=["status", "updated_at"])
        pending = _due_rows(locked.pk)
        record_audit(actor=actor, action="bulletin.send_resumed", obj=locked, changes={"pending": pending})
        _ring_after_commit(locked.pk, pending)
    bulletin.status = locked.status
    return pending


CANCELLED_REASON = "Cancelled by staff before it was sent."


def cancel_send(*, bulletin: Bulletin, actor: Actor) -> int:
    """Every pending row ends cancelled; a batch in flight stops before its next chunk. Returns rows cancelled."""
    _require_send_permission(actor)
    with transaction.atomic():
        locked = _locked(bulletin)
        if locked.status not in (Status.SENDING, Status.PAUSED):
            raise SendRefused("Only a bulletin that is sending or paused can be cancelled.")
        now = timezone.now()
        cancelled = Delivery.objects.filter(bulletin=locked, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.CANCELLED, reason=CANCELLED_REASON, next_attempt_at=None)
        locked.status, locked.send_finished_at = Status.CANCELLED, now
        locked.save(update_fields=["status", "send_finished_at", "updated_at"])
        record_audit(actor=actor, action="bulletin.send_cancelled", obj=locked, changes={"cancelled": cancelled})
    bulletin.status = locked.status
    return cancelled


def finish_if_done(*, bulletin_id: int, actor: Actor | None = None) -> bool:
    """sending -> sent once no row is pending or being sent (-> failed if nothing was sent and something
    failed: a send that reached nobody is never shown as sent). Safe to call from every batch."""
    unfinished = Delivery.objects.filter(
        bulletin_id=bulletin_id, status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING])
    if unfinished.exists():
        return False
    with transaction.atomic():
        locked = Bulletin.objects.select_for_update().filter(pk=bulletin_id, status=Status.SENDING).first()
        if locked is None or unfinished.exists():
            return False
        counts = status_counts(bulletin_id=bulletin_id)
        nothing_went = counts[Delivery.Status.SENT] == 0 and counts[Delivery.Status.FAILED] > 0
        locked.status = Status.FAILED if nothing_went else Status.SENT
        locked.send_finished_at = timezone.now()
        locked.save(update_fields=["status", "send_finished_at", "updated_at"])
        record_audit(actor=actor or Actor.system(), action="bulletin.send_finished", obj=locked, changes=counts)
        if locked.kind == Bulletin.Kind.ACTIVITY_FEEDBACK:
            # "You said, we did": the activity records when, and to how many it actually went.
            record_feedback_sent(activity=locked.activity, sent_at=locked.send_finished_at,
                                 recipient_count=counts[Delivery.Status.SENT], actor=actor or Actor.system())
    return True
