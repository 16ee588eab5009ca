"""A staff change of someone's email address.

Consent was given and confirmed from the old mailbox, not the new one: a mistyped or out-of-date
address must not inherit it. So the change is refused for a suppressed address; otherwise every
granted purpose becomes pending (a ledger event, never an edit), every personal link made so far
dies (the link epoch goes up, so changing the address back revives nothing), and a confirmation
email goes to the new address. Only the person confirming from there grants again.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from consent import notifications, services
from consent.models import ConsentEvent, ConsentState, Suppression
from consent.selectors import address_suppressed
from crm import services as crm_services
from crm.audit import Actor, record_audit
from crm.models import Contact
from crm.normalise import normalise_email
from crm.personal_links import invalidate_personal_links

Status = ConsentState.Status
NEW_ADDRESS_EVIDENCE = "email address changed by staff: awaiting confirmation from the new address"


class AddressRefused(ValidationError):
    """The new address may not be given to this person (suppressed)."""


def change_email_address(*, contact: Contact, email: str, actor: Actor) -> Contact:
    """Give ``contact`` a new address; consent waits for confirmation from it."""
    try:
        normalised = normalise_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from error
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if normalised == contact.email_normalised:  # same mailbox, only written differently
            return _respell(contact, email, actor)
        _refuse_if_suppressed(normalised)
        # Lock order: contact, consent state, then the audit head (taken by every audited write below).
        granted = list(ConsentState.objects.select_for_update(of=("self",)).filter(contact=contact, status=Status.GRANTED)
                       .select_related("purpose", "statement").order_by("purpose__code"))
        crm_services.change_contact_email(contact=contact, email=email, actor=actor)
        invalidate_personal_links(contact=contact, actor=actor, reason="email_changed")
        awaiting = _await_new_confirmation(contact, granted, actor)
        _suppress_new_address_where_withdrawn(contact)
        if ConsentState.objects.filter(contact=contact, status=Status.PENDING).exists():
            notifications.send_confirmation_on_commit(contact)
        record_audit(actor=actor, action="contact.email_change_needs_confirmation", obj=contact,
                     changes={"purposes_awaiting_confirmation": awaiting})
    return contact


def _respell(contact: Contact, email: str, actor: Actor) -> Contact:
    if contact.email != email.strip():
        crm_services.change_contact_email(contact=contact, email=email, actor=actor)
    return contact


def _refuse_if_suppressed(normalised: str) -> None:
    if address_suppressed(normalised):  # for any purpose, under any pepper key
        raise AddressRefused({"email": "This address is suppressed (its owner withdrew, complained, bounced "
                                       "or was erased), so it cannot be given to a contact by staff."})


def _await_new_confirmation(contact: Contact, granted: list[ConsentState], actor: Actor) -> list[str]:
    """Each granted purpose becomes pending, by an event in the ledger. Returns the purpose codes."""
    for state in granted:
        services.record_consent(
            contact=contact, purpose=state.purpose, statement=state.statement, action=ConsentEvent.Action.NEW_ADDRESS,
            method=ConsentEvent.Method.STAFF_ON_REQUEST, actor=actor, evidence_reference=NEW_ADDRESS_EVIDENCE,
        )
    return [state.purpose.code for state in granted]


def _suppress_new_address_where_withdrawn(contact: Contact) -> None:
    """The person said no from the old address: the new one is not emailed for it either."""
    now = timezone.now()
    withdrawn = ConsentState.objects.filter(contact=contact, status=Status.WITHDRAWN)
    Suppression.objects.bulk_create([
        Suppression(address_hash=contact.email_hash, purpose_id=purpose_id, reason=Suppression.Reason.WITHDRAWAL,
                    created_at=now)
        for purpose_id in withdrawn.values_list("purpose_id", flat=True)
    ])
