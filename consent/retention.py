"""Retention duties: unconfirmed sign-ups are deleted after 30 days; people with no live consent for
two years are listed for a data-protection review (a person decides, not a timer: some may have an
open case or a reason to keep the record).
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from consent import erasure
from consent.models import ConsentEvent, ConsentState
from crm.audit import Actor, record_audit
from crm.models import AuditEntry, Contact

RUN_ACTION = "retention.run"


def review_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timezone.timedelta(days=settings.RETENTION_REVIEW_DAYS)


def contacts_for_review(now: datetime | None = None) -> QuerySet[Contact]:
    """No granted consent for any purpose, and no consent event (nor creation) since the cutoff.

    "Last event older than the cutoff" is written as "no event at or after the cutoff" so each
    check is one probe of the (contact, purpose, occurred_at) index instead of a MAX per person.
    """
    cutoff = review_cutoff(now)
    granted = ConsentState.objects.filter(contact_id=OuterRef("pk"), status=ConsentState.Status.GRANTED)
    recent = ConsentEvent.objects.filter(contact_id=OuterRef("pk"), occurred_at__gte=cutoff)
    return Contact.objects.filter(created_at__lt=cutoff).exclude(Exists(granted)).exclude(Exists(recent))


def unconfirmed_sign_ups() -> QuerySet[Contact]:
    """Web/API sign-ups still waiting for the person to follow the confirmation link.

    Consent recorded with evidence (staff, from a paper form or a call) counts as confirmation: a
    sign-up who never clicked but then told staff "yes" is a confirmed person, never expired.
    """
    evidenced = ConsentEvent.objects.filter(contact_id=OuterRef("pk"), action=ConsentEvent.Action.CONFIRMED).exclude(
        evidence_reference="")
    return Contact.objects.filter(
        confirmed_at__isnull=True, source__in=[Contact.Source.WEB, Contact.Source.API]
    ).exclude(Exists(evidenced))


def expired_unconfirmed_sign_ups(now: datetime | None = None) -> QuerySet[Contact]:
    cutoff = (now or timezone.now()) - timezone.timedelta(days=settings.UNCONFIRMED_SIGNUP_DAYS)
    return unconfirmed_sign_ups().filter(created_at__lt=cutoff)


def delete_expired_sign_ups(*, actor: Actor, now: datetime | None = None) -> int:
    """Delete unconfirmed sign-ups past the limit, one person per transaction, each audited.

    Each person is locked and checked again before deletion: one who confirms (or whom staff record
    consent for) while the run is going is kept.
    """
    count = 0
    for contact_id in list(expired_unconfirmed_sign_ups(now).values_list("pk", flat=True)):
        with transaction.atomic():
            contact = expired_unconfirmed_sign_ups(now).select_for_update().filter(pk=contact_id).first()
            if contact is None:
                continue
            erased = erasure.delete_person(contact)
            record_audit(actor=actor, action="contact.unconfirmed_expired", object_type="crm.contact",
                         object_id=str(contact_id), changes={"erased": erased})
        count += 1
    return count


@dataclass(frozen=True)
class RetentionRun:
    deleted_unconfirmed: int
    awaiting_review: int


def run_retention(*, actor: Actor, now: datetime | None = None) -> RetentionRun:
    """The nightly duty: delete expired unconfirmed sign-ups, count who awaits review, record both."""
    deleted = delete_expired_sign_ups(actor=actor, now=now)
    awaiting = contacts_for_review(now).count()
    record_audit(actor=actor, action=RUN_ACTION, object_type="consent.retention",
                 changes={"deleted_unconfirmed": deleted, "awaiting_review": awaiting})
    return RetentionRun(deleted_unconfirmed=deleted, awaiting_review=awaiting)


def last_run() -> AuditEntry | None:
    return AuditEntry.objects.filter(action=RUN_ACTION).order_by("-id").first()
