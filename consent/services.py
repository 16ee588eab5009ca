"""Every write to the consent ledger goes through here.

Rules kept in one place:
- events are appended, never edited; the state row is re-derived in the same transaction;
- a withdrawal (or suppression) is lifted only by the person's own confirmed action
  (email confirmation link or preference centre reached from a link sent to their address);
- every write records an audit entry without personal data.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from consent.models import (
    ConsentEvent,
    ConsentState,
    ConsentStatement,
    Purpose,
    Suppression,
)
from consent.selectors import current_statement, fold_status, is_suppressed
from crm import services as crm_services
from crm.audit import Actor, record_audit
from crm.models import Contact, EqualityProfile, Topic
from crm.normalise import address_hash, normalise_email

Action = ConsentEvent.Action
Method = ConsentEvent.Method

# Only these methods prove the person themself acted, from their own mailbox.
PERSONS_OWN_METHODS = {Method.EMAIL_CONFIRMATION, Method.PREFERENCE_CENTRE}
WITHDRAWAL_SUPPRESSION_REASON = {
    Method.COMPLAINT: Suppression.Reason.COMPLAINT,
    Method.HARD_BOUNCE: Suppression.Reason.HARD_BOUNCE,
}


class ConsentRefused(ValidationError):
    """The ledger will not accept this event (e.g. a withdrawal would be overridden)."""


class AddressSuppressed(ValidationError):
    """Staff or an import tried to add an address that must not be re-added."""


# --- the ledger -----------------------------------------------------------------------------

def record_consent(*, contact: Contact, purpose: Purpose | str, action: str, method: str, actor: Actor,
                   statement: ConsentStatement | None = None, occurred_at=None,
                   evidence_reference: str = "") -> ConsentEvent:
    """Append one event and bring ConsentState into step, in one transaction."""
    purpose = _purpose(purpose)
    statement = statement or current_statement(purpose)
    now = timezone.now()
    occurred_at = occurred_at or now
    _check_event(contact=contact, purpose=purpose, action=action, method=method, statement=statement,
                 occurred_at=occurred_at, now=now)
    with transaction.atomic():
        event = ConsentEvent.objects.create(
            contact=contact, purpose=purpose, action=action, statement=statement, method=method,
            recorded_by=actor.user, recorded_by_label=_recorder_label(actor, method),
            occurred_at=occurred_at, recorded_at=now, evidence_reference=evidence_reference[:200],
        )
        _sync_state(contact=contact, purpose=purpose)
        _sync_suppression(contact=contact, purpose=purpose, action=action, method=method, now=now)
        record_audit(actor=actor, action=f"consent.{action}", obj=contact,
                     changes={"purpose": purpose.code, "method": method, "statement_version": statement.version,
                              "event_id": event.pk})
    return event


def _check_event(*, contact, purpose, action, method, statement, occurred_at, now) -> None:
    if action not in Action.values or method not in Method.values:
        raise ConsentRefused("Unknown consent action or method")
    if statement.purpose_id != purpose.pk or not statement.is_published:
        raise ConsentRefused("Consent must be recorded against a published statement for this purpose")
    if occurred_at > now + timezone.timedelta(minutes=5):
        raise ConsentRefused("Consent cannot be recorded as happening in the future")
    if action == Action.WITHDRAWN or method in PERSONS_OWN_METHODS:
        return
    state = ConsentState.objects.filter(contact=contact, purpose=purpose).first()
    if (state and state.status == ConsentState.Status.WITHDRAWN) or is_suppressed(contact.email_hash, purpose):
        raise ConsentRefused(
            "This person has withdrawn consent or is suppressed for this purpose. Only their own new, "
            "confirmed sign-up can restore it."
        )


def _recorder_label(actor: Actor, method: str) -> str:
    if actor.user is not None:
        return actor.label
    return "the person" if actor.label == "public" else "system"


def _sync_state(*, contact: Contact, purpose: Purpose) -> None:
    events = list(
        ConsentEvent.objects.filter(contact=contact, purpose=purpose).order_by("occurred_at", "id")
    )
    status, last = fold_status(events)
    ConsentState.objects.update_or_create(
        contact=contact, purpose=purpose,
        defaults={"status": status, "statement_id": last.statement_id, "since": last.occurred_at, "last_event": last},
    )


def _sync_suppression(*, contact: Contact, purpose: Purpose, action: str, method: str, now) -> None:
    active = Suppression.objects.filter(address_hash=contact.email_hash, purpose=purpose, lifted_at__isnull=True)
    if action == Action.WITHDRAWN:
        if not active.exists():
            reason = WITHDRAWAL_SUPPRESSION_REASON.get(method, Suppression.Reason.WITHDRAWAL)
            Suppression.objects.create(address_hash=contact.email_hash, purpose=purpose, reason=reason, created_at=now)
    elif action == Action.CONFIRMED and method in PERSONS_OWN_METHODS:
        active.update(lifted_at=now)


def _purpose(purpose: Purpose | str) -> Purpose:
    return purpose if isinstance(purpose, Purpose) else Purpose.objects.get(code=purpose)


# --- public journeys ------------------------------------------------------------------------

@dataclass(frozen=True)
class SignUpResult:
    """What happened, for the caller's logs and tests only. Never shown to the public."""

    outcome: str  # "created" | "resent_confirmation" | "sent_preferences_link"
    contact: Contact


def sign_up(*, email: str, name: str, purposes: list[str], actor: Actor, postcode: str = "",
            topic_ids=(), method: str = Method.WEB_FORM) -> SignUpResult:
    """A public sign-up. Answers the same way to the caller whether the address is known or not."""
    from consent import notifications  # noqa: PLC0415 - avoids a cycle with notifications → tokens

    normalised = normalise_email(email)
    chosen = list(Purpose.objects.filter(code__in=purposes, is_equality=False))
    if not chosen:
        raise ValidationError({"purposes": "Choose at least one thing you would like to hear from us about"})
    topics = list(Topic.objects.filter(pk__in=topic_ids, is_active=True))
    with transaction.atomic():
        existing = Contact.objects.select_for_update().filter(email_normalised=normalised).first()
        if existing and existing.confirmed_at:
            record_audit(actor=actor, action="signup.known_address", obj=existing)
            notifications.send_preferences_link_on_commit(existing)
            return SignUpResult("sent_preferences_link", existing)
        if existing:
            _give_pending(existing, chosen, method, actor)
            notifications.send_confirmation_on_commit(existing)
            return SignUpResult("resent_confirmation", existing)
        source = Contact.Source.API if method == Method.API else Contact.Source.WEB
        contact = crm_services.create_contact(
            email=email, name=name, postcode=postcode, source=source, topics=topics, actor=actor,
        )
        _give_pending(contact, chosen, method, actor)
        notifications.send_confirmation_on_commit(contact)
    return SignUpResult("created", contact)


def _give_pending(contact: Contact, purposes, method: str, actor: Actor) -> None:
    """Record 'given' (pending confirmation). Safe after a withdrawal: it is not a grant."""
    for purpose in purposes:
        ConsentEvent.objects.create(
            contact=contact, purpose=purpose, action=Action.GIVEN, statement=current_statement(purpose),
            method=method, recorded_by=None, recorded_by_label="the person",
            occurred_at=timezone.now(), recorded_at=timezone.now(),
        )
        _sync_state(contact=contact, purpose=purpose)
    record_audit(actor=actor, action="consent.given", obj=contact,
                 changes={"purposes": sorted(p.code for p in purposes), "method": method})


def confirm_sign_up(*, contact: Contact, actor: Actor) -> list[str]:
    """The person followed the emailed link and pressed the button: confirm what they asked for."""
    pending = ConsentState.objects.filter(contact=contact, status=ConsentState.Status.PENDING).select_related(
        "purpose", "statement"
    )
    confirmed = []
    with transaction.atomic():
        for state in pending:
            # Confirm on the wording the person saw when they signed up.
            record_consent(contact=contact, purpose=state.purpose, action=Action.CONFIRMED,
                           method=Method.EMAIL_CONFIRMATION, statement=state.statement, actor=actor)
            confirmed.append(state.purpose.code)
        if contact.confirmed_at is None:
            contact.confirmed_at = timezone.now()
            contact.save(update_fields=["confirmed_at", "updated_at"])
    return confirmed


def update_purposes_from_preference_centre(*, contact: Contact, wanted: set[str], offered: set[str],
                                           actor: Actor) -> None:
    """Grant or withdraw each offered purpose so that exactly ``wanted`` is granted."""
    states = {s.purpose.code: s.status for s in ConsentState.objects.filter(contact=contact).select_related("purpose")}
    with transaction.atomic():
        for purpose in Purpose.objects.filter(code__in=offered):
            granted = states.get(purpose.code) == ConsentState.Status.GRANTED
            if purpose.code in wanted and not granted:
                record_consent(contact=contact, purpose=purpose, action=Action.CONFIRMED,
                               method=Method.PREFERENCE_CENTRE, actor=actor)
            elif purpose.code not in wanted and states.get(purpose.code) in {
                ConsentState.Status.GRANTED, ConsentState.Status.PENDING
            }:
                record_consent(contact=contact, purpose=purpose, action=Action.WITHDRAWN,
                               method=Method.PREFERENCE_CENTRE, actor=actor)


def withdraw(*, contact: Contact, purpose: Purpose | str, method: str, actor: Actor,
             evidence_reference: str = "") -> ConsentEvent | None:
    """Withdraw one purpose. Idempotent: already withdrawn (or never given) records nothing new."""
    purpose = _purpose(purpose)
    state = ConsentState.objects.filter(contact=contact, purpose=purpose).first()
    if state is None or state.status == ConsentState.Status.WITHDRAWN:
        if state is None:
            return None
        # Still make sure the address is suppressed (e.g. a complaint after an earlier withdrawal).
        _sync_suppression(contact=contact, purpose=purpose, action=Action.WITHDRAWN, method=method,
                          now=timezone.now())
        return None
    return record_consent(contact=contact, purpose=purpose, action=Action.WITHDRAWN, method=method, actor=actor,
                          evidence_reference=evidence_reference)


def withdraw_everything(*, contact: Contact, method: str, actor: Actor) -> int:
    with transaction.atomic():
        events = [
            withdraw(contact=contact, purpose=state.purpose, method=method, actor=actor)
            for state in ConsentState.objects.filter(contact=contact).select_related("purpose")
        ]
    return sum(1 for e in events if e)


def unsubscribe_one_click(*, contact: Contact, actor: Actor, purpose: str = Purpose.Code.BULLETIN) -> None:
    withdraw(contact=contact, purpose=purpose, method=Method.ONE_CLICK_UNSUBSCRIBE, actor=actor)


# --- staff entry ----------------------------------------------------------------------------

def add_contact_with_consent(*, email: str, name: str, actor: Actor, method: str, purposes: list[str],
                             evidence_reference: str, occurred_at=None, postcode: str = "",
                             kind: str = Contact.Kind.PUBLIC, organisation=None, topics=(),
                             source: str = Contact.Source.STAFF) -> Contact:
    """Staff add a person from a paper form, call or event, with evidence. Suppressed addresses are refused."""
    normalised = normalise_email(email)
    if Suppression.objects.filter(address_hash=address_hash(normalised), lifted_at__isnull=True).exists():
        raise AddressSuppressed({"email": "This address is suppressed (the person withdrew, complained, "
                                          "bounced or was erased) and cannot be added by staff or import."})
    if not evidence_reference.strip():
        raise ValidationError({"evidence_reference": "Record where the consent evidence is kept"})
    with transaction.atomic():
        contact = crm_services.create_contact(
            email=email, name=name, postcode=postcode, kind=kind, organisation=organisation, source=source,
            topics=topics, actor=actor, confirmed_at=timezone.now(),
        )
        for code in purposes:
            record_consent(contact=contact, purpose=code, action=Action.CONFIRMED, method=method, actor=actor,
                           occurred_at=occurred_at, evidence_reference=evidence_reference)
    return contact


# --- the person's own pages (preference centre, reached from a link sent to their address) ----

def request_preferences_link(*, email: str, actor: Actor) -> bool:
    """Email a preference-centre link if the address belongs to a confirmed contact.

    Callers answer the same way whatever this returns (no address enumeration); the result is
    for tests only.
    """
    from consent import notifications  # noqa: PLC0415 - avoids a cycle with notifications → tokens

    try:
        normalised = normalise_email(email)
    except ValidationError:
        return False
    contact = Contact.objects.filter(email_normalised=normalised, confirmed_at__isnull=False).first()
    if contact is None:
        return False
    with transaction.atomic():
        record_audit(actor=actor, action="preferences.link_requested", obj=contact)
        notifications.send_preferences_link_on_commit(contact)
    return True


def save_preference_centre(*, contact: Contact, details: dict, topics, needs: dict[str, str],
                           wanted_purposes: set[str], offered_purposes: set[str], actor: Actor) -> None:
    """Everything the preference centre form changes, in one transaction."""
    with transaction.atomic():
        crm_services.update_contact_details(contact=contact, actor=actor, **details)
        crm_services.set_contact_topics(contact=contact, topics=topics, actor=actor)
        crm_services.set_communication_needs(contact=contact, needs=needs, actor=actor)
        update_purposes_from_preference_centre(contact=contact, wanted=wanted_purposes & offered_purposes,
                                               offered=offered_purposes, actor=actor)


def _equality_purpose_codes() -> set[str]:
    return set(Purpose.objects.filter(is_equality=True).values_list("code", flat=True))


def save_about_you(*, contact: Contact, answers: dict[str, str], wanted_purposes: set[str], actor: Actor) -> None:
    """Store 'about you' answers with the person's explicit choices about their use.

    Special-category answers need explicit consent to be kept at all (UK GDPR 9(2)(a)), so an
    answer other than "prefer not to say" is refused unless at least one equality purpose is wanted.
    """
    offered = _equality_purpose_codes()
    wanted = wanted_purposes & offered
    prefer_not = EqualityProfile.PREFER_NOT[0]
    if not wanted and any(value and value != prefer_not for value in answers.values()):
        raise ValidationError({"purposes": "To keep your answers, tick at least one box to say how we may use "
                                           "them, or choose 'Delete my answers'"})
    with transaction.atomic():
        crm_services.save_equality_answers(contact=contact, answers=answers, actor=actor)
        update_purposes_from_preference_centre(contact=contact, wanted=wanted, offered=offered, actor=actor)


def forget_about_you(*, contact: Contact, actor: Actor) -> None:
    """Blank every 'about you' answer and withdraw both equality purposes."""
    with transaction.atomic():
        if EqualityProfile.objects.filter(contact=contact).exists():
            crm_services.save_equality_answers(contact=contact, answers={}, actor=actor)
        update_purposes_from_preference_centre(contact=contact, wanted=set(), offered=_equality_purpose_codes(),
                                               actor=actor)


def withdraw_everything_by_person(*, contact: Contact, actor: Actor) -> int:
    """The person withdraws every consent; their 'about you' answers go too (no basis remains to keep them)."""
    with transaction.atomic():
        count = withdraw_everything(contact=contact, method=Method.PREFERENCE_CENTRE, actor=actor)
        forget_about_you(contact=contact, actor=actor)
    return count
