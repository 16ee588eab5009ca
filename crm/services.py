"""Writes to people records. Keyword-only, one transaction, one audit entry each.

Anything that depends on consent or suppression (adding a person, erasing one) lives in
``consent.services``, which calls these.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from crm.audit import Actor, record_audit
from crm.models import CommunicationNeed, Contact, EqualityProfile, Locality, Organisation, Topic
from crm.normalise import address_hash, normalise_email, normalise_postcode, outward_code


class DuplicateContact(ValidationError):
    """The address already belongs to a contact (compared after normalisation)."""


def locality_for_postcode(postcode: str) -> Locality | None:
    code = outward_code(postcode)
    if not code:
        return None
    return Locality.objects.filter(postcode_districts__code=code).first()


def create_contact(*, email: str, name: str, postcode: str = "", kind: str = Contact.Kind.PUBLIC,
                   organisation: Organisation | None = None, preferred_language: str = "English",
                   source: str = Contact.Source.WEB, topics=(), actor: Actor, confirmed_at=None) -> Contact:
    normalised = normalise_email(email)
    postcode = normalise_postcode(postcode)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter your name"})
    with transaction.atomic():
        if Contact.objects.filter(email_normalised=normalised).exists():
            raise DuplicateContact({"email": "A contact with this email address already exists"})
        contact = Contact.objects.create(
            email=email.strip(), email_normalised=normalised, email_hash=address_hash(normalised), name=name,
            postcode=postcode, locality=locality_for_postcode(postcode), kind=kind, organisation=organisation,
            preferred_language=preferred_language or "English", source=source, confirmed_at=confirmed_at,
        )
        if topics:
            contact.topics.set(topics)
        record_audit(actor=actor, action="contact.created", obj=contact, changes={"source": source, "kind": kind})
    return contact


EDITABLE_DETAILS = ("name", "postcode", "kind", "organisation", "preferred_language")


def update_contact_details(*, contact: Contact, actor: Actor, **details) -> Contact:
    """Correct a contact's details. The email address is changed with ``consent.addresses.change_email_address``."""
    unknown = set(details) - set(EDITABLE_DETAILS)
    if unknown:
        raise ValueError(f"Not editable here: {sorted(unknown)}")
    if "postcode" in details:
        details["postcode"] = normalise_postcode(details["postcode"])
        details["locality"] = locality_for_postcode(details["postcode"])
    if "name" in details and not (details["name"] or "").strip():
        raise ValidationError({"name": "Enter a name"})
    changed = [field for field, value in details.items() if getattr(contact, field) != value]
    if not changed:
        return contact
    with transaction.atomic():
        for field in changed:
            setattr(contact, field, details[field])
        contact.save(update_fields=[*changed, "updated_at"])
        # Field names only: values may be personal data and the audit log outlives the person.
        record_audit(actor=actor, action="contact.details_changed", obj=contact, changes={"fields": sorted(changed)})
    return contact


def change_contact_email(*, contact: Contact, email: str, actor: Actor) -> Contact:
    """Only the address columns. Staff change an address with ``consent.addresses.change_email_address``,
    which refuses a suppressed address and makes consent wait for confirmation from the new one."""
    normalised = normalise_email(email)
    with transaction.atomic():
        if Contact.objects.filter(email_normalised=normalised).exclude(pk=contact.pk).exists():
            raise DuplicateContact({"email": "A contact with this email address already exists"})
        contact.email, contact.email_normalised, contact.email_hash = email.strip(), normalised, address_hash(normalised)
        contact.save(update_fields=["email", "email_normalised", "email_hash", "updated_at"])
        record_audit(actor=actor, action="contact.email_changed", obj=contact)
    return contact


def set_contact_topics(*, contact: Contact, topics, actor: Actor) -> None:
    wanted = {topic.pk for topic in topics}
    current = set(contact.topics.values_list("pk", flat=True))
    if wanted == current:
        return
    with transaction.atomic():
        contact.topics.set(Topic.objects.filter(pk__in=wanted))
        record_audit(actor=actor, action="contact.topics_changed", obj=contact,
                     changes={"added": sorted(wanted - current), "removed": sorted(current - wanted)})


def set_communication_needs(*, contact: Contact, needs: dict[str, str], actor: Actor) -> None:
    """``needs`` maps a Need code to an optional detail (e.g. the language)."""
    invalid = set(needs) - set(CommunicationNeed.Need.values)
    if invalid:
        raise ValidationError(f"Unknown communication needs: {sorted(invalid)}")
    current = {n.need: n.detail for n in contact.communication_needs.all()}
    if current == needs:
        return
    with transaction.atomic():
        contact.communication_needs.exclude(need__in=needs).delete()
        for need, detail in needs.items():
            CommunicationNeed.objects.update_or_create(contact=contact, need=need, defaults={"detail": detail[:200]})
        record_audit(actor=actor, action="contact.communication_needs_changed", obj=contact,
                     changes={"needs": sorted(needs)})


def save_equality_answers(*, contact: Contact, answers: dict[str, str], actor: Actor) -> EqualityProfile:
    """Store 'about you' answers. Blank means not answered; each field must be one of its choices."""
    errors = {}
    clean = {}
    for field in EqualityProfile.ANSWER_FIELDS:
        value = (answers.get(field) or "").strip()
        choices = {c[0] for c in EqualityProfile._meta.get_field(field).choices}
        if value and value not in choices:
            errors[field] = "Select one of the options"
        clean[field] = value
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        profile, _ = EqualityProfile.objects.update_or_create(contact=contact, defaults=clean)
        record_audit(actor=actor, action="equality.answers_saved", obj=contact,
                     changes={"answered": sorted(f for f, v in clean.items() if v)})
    return profile


def record_equality_view(*, contact: Contact, actor: Actor) -> None:
    """Every read of one person's equality answers by staff is audited."""
    record_audit(actor=actor, action="equality.answers_viewed", obj=contact)
