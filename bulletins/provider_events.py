"""What the email provider tells us after a send: delivered, bounced, complained.

Sources: anymail's normalised tracking events (any ESP's webhook at /anymail/<esp>/tracking/, the
secret checked by anymail) and GOV.UK Notify's delivery receipts. Each updates the Delivery it
names; a hard bounce or a complaint suppresses the address (a consent event too, through
``consent.services.suppress_address``), and soft bounces suppress after several in a row.
An event for mail that is not a bulletin (a confirmation email, say) still suppresses the address.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bulletins.models import Delivery
from consent import services as consent_services
from crm.audit import Actor

DELIVERED = Delivery.ProviderStatus.DELIVERED
SOFT_BOUNCED = Delivery.ProviderStatus.SOFT_BOUNCED
BOUNCED = Delivery.ProviderStatus.BOUNCED
COMPLAINED = Delivery.ProviderStatus.COMPLAINED
# A later, milder event never hides an earlier, graver one (a "delivered" after a complaint).
SEVERITY = {"": 0, DELIVERED: 1, SOFT_BOUNCED: 2, BOUNCED: 3, COMPLAINED: 4}
SUPPRESSION_REASON = {BOUNCED: "hard_bounce", COMPLAINED: "complaint"}


@dataclass(frozen=True)
class ProviderEvent:
    event: str  # one of Delivery.ProviderStatus
    occurred_at: datetime
    delivery_id: int | None = None
    provider_message_id: str = ""
    recipient: str = ""


def record_provider_event(*, event: ProviderEvent, actor: Actor) -> Delivery | None:
    """Apply one provider event. Returns the Delivery it concerned, if it named one of ours."""
    if event.event not in SEVERITY or not event.event:
        raise ValueError(f"Unknown provider event {event.event!r}")
    with transaction.atomic():
        delivery = _find_delivery(event)
        if delivery is not None:
            _update_delivery(delivery, event)
        recipient = delivery.contact.email if delivery is not None else event.recipient
        if recipient and _suppresses(event, delivery):
            reason = SUPPRESSION_REASON.get(event.event, "hard_bounce")
            consent_services.suppress_address(email=recipient, reason=reason, actor=actor,
                                              occurred_at=event.occurred_at)
    return delivery


def _find_delivery(event: ProviderEvent) -> Delivery | None:
    rows = Delivery.objects.select_for_update().select_related("contact")
    if event.delivery_id is not None:
        found = rows.filter(pk=event.delivery_id).first()
        if found is not None:
            return found
    if not event.provider_message_id:
        return None
    # ~Q(…="") is true already; it lets SQLite see that the partial index delivery_provider_id_idx applies.
    candidates = list(rows.filter(~Q(provider_message_id=""), provider_message_id=event.provider_message_id)[:1001])
    if len(candidates) == 1:
        return candidates[0]
    # Some providers (Mailgun) give one id to a whole batch: the recipient picks the row.
    wanted = (event.recipient or "").strip().lower()
    return next((d for d in candidates if d.contact.email_normalised == wanted), None)


def _update_delivery(delivery: Delivery, event: ProviderEvent) -> None:
    fields = []
    if event.event == SOFT_BOUNCED:
        delivery.soft_bounces += 1
        fields.append("soft_bounces")
    if SEVERITY[event.event] >= SEVERITY[delivery.provider_status]:
        delivery.provider_status, delivery.provider_status_at = event.event, event.occurred_at
        fields += ["provider_status", "provider_status_at"]
    if fields:
        delivery.save(update_fields=fields)


def _suppresses(event: ProviderEvent, delivery: Delivery | None) -> bool:
    if event.event in SUPPRESSION_REASON:
        return True
    if event.event != SOFT_BOUNCED or delivery is None:
        return False
    # Soft bounces: suppress when the person's last N deliveries all soft-bounced (none delivered since).
    limit = settings.BULLETIN_SOFT_BOUNCE_LIMIT
    recent = list(
        Delivery.objects.filter(contact_id=delivery.contact_id, status=Delivery.Status.SENT)
        .order_by("-id").values_list("provider_status", flat=True)[:limit]
    )
    return len(recent) >= limit and all(status == SOFT_BOUNCED for status in recent)


# --- anymail tracking webhooks --------------------------------------------------------------

ANYMAIL_EVENTS = {
    "delivered": DELIVERED,
    "bounced": BOUNCED,  # anymail: rejected or blocked by the receiving server (permanent)
    "rejected": BOUNCED,  # the provider refused to send (its suppression list, invalid address)
    "complained": COMPLAINED,
    "deferred": SOFT_BOUNCED,  # temporary: the receiving server delayed it
}


def from_anymail(event) -> ProviderEvent | None:
    """Translate an ``anymail.signals.AnymailTrackingEvent``; None for events we do not keep."""
    mapped = ANYMAIL_EVENTS.get(event.event_type)
    if mapped is None:
        return None
    metadata = event.metadata or {}
    delivery_id = metadata.get("delivery_id")
    return ProviderEvent(
        event=mapped,
        occurred_at=event.timestamp or timezone.now(),
        delivery_id=int(delivery_id) if str(delivery_id or "").isdigit() else None,
        provider_message_id=str(event.message_id or ""),
        recipient=event.recipient or "",
    )


def on_anymail_tracking(sender, event, esp_name, **kwargs) -> None:
    """Receiver for ``anymail.signals.tracking`` (connected in BulletinsConfig.ready)."""
    translated = from_anymail(event)
    if translated is not None:
        record_provider_event(event=translated, actor=Actor(label=f"provider:{esp_name.lower()}"))


# --- GOV.UK Notify delivery receipts --------------------------------------------------------

NOTIFY_STATUSES = {
    "delivered": DELIVERED,
    "permanent-failure": BOUNCED,
    "temporary-failure": SOFT_BOUNCED,
    # "technical-failure" is Notify's own fault, not the address's: nothing to learn about the person.
}


def from_notify_receipt(payload: dict) -> ProviderEvent | None:
    """A Notify delivery-receipt or complaint callback body; None when it tells us nothing to keep."""
    if payload.get("complaint_id"):
        event = COMPLAINED
        message_id = payload.get("notification_id", "")
        when = payload.get("complaint_date")
    else:
        event = NOTIFY_STATUSES.get(payload.get("status", ""))
        message_id = payload.get("id", "")
        when = payload.get("completed_at") or payload.get("sent_at")
        if event is None:
            return None
    reference = str(payload.get("reference") or "")
    return ProviderEvent(
        event=event,
        occurred_at=_parse_time(when),
        delivery_id=int(reference) if reference.isdigit() else None,
        provider_message_id=str(message_id or ""),
        recipient=str(payload.get("to") or ""),
    )


def _parse_time(value) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)
