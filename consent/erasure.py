"""Erasure of a person: the one path that may delete ledger rows.

Everything about the person goes, in one transaction: the rows of higher layers (through the erasure
steps they registered in ``consent.registry``), consent state and events, then the contact and what
cascades from it. Only suppression hashes and audit entries without personal data remain; the
audit entry records the anonymous counts each step returns.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from consent import registry
from consent.models import ConsentEvent, ConsentState, ErasurePermit, Purpose, Suppression
from crm.audit import Actor, record_audit
from crm.models import Contact


def erase_contact(*, contact: Contact, actor: Actor, reason: str = "request") -> str:
    """Delete the person and everything about them; keep only suppression hashes and an audit entry.

    ``reason`` must not identify the person (e.g. "preference_centre", "erasure case ER-2026-0001").
    Returns the internal reference (the former primary key) for the case record.
    """
    reference = str(contact.pk)
    with transaction.atomic():
        contact = _locked(contact)
        _suppress_everywhere(contact.email_hash)
        erased = delete_person(contact)
        record_audit(actor=actor, action="contact.erased", object_type="crm.contact", object_id=reference,
                     changes={"reason": reason, "erased": erased})
    return reference


def _locked(contact: Contact) -> Contact:
    """The contact row, locked first (the one lock order: contact, consent state, audit head last)."""
    locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
    if locked is None:
        raise ValidationError("This person's record no longer exists")
    return locked


def _suppress_everywhere(email_hash: str) -> None:
    """An erased address is never emailed again, for any purpose, until the person signs up anew."""
    now = timezone.now()
    for purpose in Purpose.objects.all():
        Suppression.objects.filter(address_hash=email_hash, purpose=purpose, lifted_at__isnull=True).delete()
        Suppression.objects.create(address_hash=email_hash, purpose=purpose,
                                   reason=Suppression.Reason.ERASURE, created_at=now)


def delete_person(contact: Contact) -> dict[str, dict[str, int]]:
    """Delete every row about ``contact`` (higher layers' first), in its own transaction.

    Used by erasure, retention deletion and merging away a duplicate; each records its own audit
    entry with the anonymous counts returned here (step name → counts).
    """
    contact_id = contact.pk
    with transaction.atomic():
        erased = registry.run_erasure_steps(contact)
        ErasurePermit.objects.create(contact_id=contact_id)  # the ledger trigger checks for this permit
        states = ConsentState.objects.filter(contact_id=contact_id).delete()[0]
        events = ConsentEvent.objects.filter(contact_id=contact_id).delete()[0]
        contact.delete()
        ErasurePermit.objects.filter(contact_id=contact_id).delete()
    return {**erased, "consent": {"events": events, "states": states}}
