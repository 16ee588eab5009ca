"""Erasure of a person, and deletion of unconfirmed sign-ups past their retention limit.

The one path that may delete ledger rows: everything about the person goes, only suppression
hashes and an audit entry without personal data remain.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from consent.models import ConsentEvent, ConsentState, ErasurePermit, Purpose, Suppression
from crm.audit import Actor, record_audit
from crm.models import Contact


def erase_contact(*, contact: Contact, actor: Actor, reason: str = "request") -> str:
    """Delete the person and everything about them; keep only suppression hashes and an audit entry.

    Returns the internal reference (the former primary key) for the case record.
    """
    reference = str(contact.pk)
    now = timezone.now()
    with transaction.atomic():
        for purpose in Purpose.objects.all():
            Suppression.objects.filter(address_hash=contact.email_hash, purpose=purpose,
                                       lifted_at__isnull=True).delete()
            Suppression.objects.create(address_hash=contact.email_hash, purpose=purpose,
                                       reason=Suppression.Reason.ERASURE, created_at=now)
        _delete_person(contact)
        record_audit(actor=actor, action="contact.erased", object_type="crm.contact", object_id=reference,
                     changes={"reason": reason})
    return reference


def delete_expired_sign_ups(*, actor: Actor, now=None) -> int:
    """Unconfirmed web/API sign-ups older than the limit are deleted (no consent was ever confirmed)."""
    cutoff = (now or timezone.now()) - timezone.timedelta(days=settings.UNCONFIRMED_SIGNUP_DAYS)
    expired = Contact.objects.filter(
        confirmed_at__isnull=True, created_at__lt=cutoff, source__in=[Contact.Source.WEB, Contact.Source.API]
    )
    count = 0
    for contact in expired.iterator(chunk_size=500):
        with transaction.atomic():
            reference = contact.pk
            _delete_person(contact)
            record_audit(actor=actor, action="contact.unconfirmed_expired", object_type="crm.contact",
                         object_id=str(reference))
        count += 1
    return count


def _delete_person(contact: Contact) -> None:
    """The one path that may delete ledger rows: the trigger checks for this permit."""
    contact_id = contact.pk
    ErasurePermit.objects.create(contact_id=contact_id)
    ConsentState.objects.filter(contact_id=contact_id).delete()
    ConsentEvent.objects.filter(contact_id=contact_id).delete()
    contact.delete()
    ErasurePermit.objects.filter(contact_id=contact_id).delete()
