"""Every write to the consent ledger goes through here.

Rules kept in one place (the shared core is ``consent.ledger``):
- events are appended, never edited; the state row is re-derived from the whole ledger in the same
  transaction, which first locks the contact row (then state rows, then the audit head, last);
- a withdrawal (or suppression) is lifted only by the person's own confirmed action (email
  confirmation link or preference centre reached from a link sent to their address), decided here
  from the actor and the method, never trusted from the caller;
- every write records an audit entry without personal data.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from consent import ledger
from consent.ledger import PERSONS_OWN_METHODS, ConsentRefused, ContactGone  # noqa: F401 - part of this API
from consent.models import ConsentEvent, ConsentState, ConsentStatement, Purpose
from consent.selectors import address_suppressed, current_statement
from consent.suppressions import (  # noqa: F401 - part of this API
    BulkConsentResult,
    record_consent_for_many,
    suppress_address,
    suppress_addresses,
)
from crm import services as crm_services
from crm.audit import Actor, record_audit
from crm.models import Contact, EqualityProfile, Topic
from crm.normalise import normalise_email, normalise_postcode

Action = ConsentEvent.Action
Method = ConsentEvent.Method
Status = ConsentState.Status


class AddressSuppressed(ValidationError):
    """Staff or an import tried to add an address that must not be re-added."""


# --- the ledger -----------------------------------------------------------------------------

def record_consent(*, contact: Contact, purpose: Purpose | str, action: str, method: str, actor: Actor,
                   statement: ConsentStatement | None = None, occurred_at=None,
                   evidence_reference: str = "") -> ConsentEvent:
    """Append one event and bring ConsentState and the suppression into step, in one transaction.

    The contact row is locked before anything is read to decide, so two events for one person are
    serialised; the checks see the state the event will really follow.
    """
    purpose = _purpose(purpose)
    statement = statement or current_statement(purpose)
    now = timezone.now()
    occurred_at = occurred_at or now
    ledger.check_request(purpose=purpose, action=action, method=method, statement=statement,
                         occurred_at=occurred_at, now=now, actor=actor)
    with transaction.atomic():
        ledger.lock_contact(contact)
        event = _append_locked(contact=contact, purpose=purpose, action=action, method=method, actor=actor,
                               statement=statement, occurred_at=occurred_at, now=now,
                               evidence_reference=evidence_reference)
        record_audit(actor=actor, action=f"consent.{action}", obj=contact,
                     changes={"purpose": purpose.code, "method": method, "statement_version": statement.version,
                              "event_id": event.pk})
    return event


def _append_locked(*, contact: Contact, purpose: Purpose, action: str, method: str, actor: Actor,
                   statement: ConsentStatement, occurred_at, now, evidence_reference: str = "") -> ConsentEvent:
    """Check, insert, fold, sync suppression. The caller holds the contact lock and audits afterwards."""
    state = ConsentState.objects.filter(contact=contact, purpose=purpose).values_list("status", flat=True).first()
    suppressed = bool(ledger.active_suppressions(hashes=[contact.email_hash], purpose_ids=[purpose.pk]))
    refusal = ledger.refusal_for(action=action, method=method, actor=actor, status=state, suppressed=suppressed)
    if refusal:
        raise ConsentRefused(refusal)
    event = ledger.new_event(contact_id=contact.pk, purpose=purpose, action=action, statement=statement,
                             method=method, actor=actor, occurred_at=occurred_at, now=now,
                             evidence_reference=evidence_reference)
    event.save(force_insert=True)
    folds = ledger.refold([(contact.pk, purpose.pk)])
    ledger.sync_suppressions(folds, {contact.pk: contact.email_hash}, now)
    return event


def _purpose(purpose: Purpose | str) -> Purpose:
    return purpose if isinstance(purpose, Purpose) else Purpose.objects.get(code=purpose)


def _audit_event(actor: Actor, contact: Contact, event: ConsentEvent) -> None:
    record_audit(actor=actor, action=f"consent.{event.action}", obj=contact,
                 changes={"purpose": event.purpose.code, "method": event.method,
                          "statement_version": event.statement.version, "event_id": event.pk})


# --- public journeys ------------------------------------------------------------------------

@dataclass(frozen=True)
class SignUpResult:
    """What happened, for the caller's logs and tests only. Never shown to the public."""

    outcome: str  # "queued" | "completed"; from complete_sign_up: "created" | "resent_confirmation" | …
    contact: Contact | None


def sign_up(*, email: str, name: str, purposes: list[str], actor: Actor, postcode: str = "",
            topic_ids=(), method: str = Method.WEB_FORM) -> SignUpResult:
    """A public sign-up. Answers the same way, in the same time, whether the address is new, pending,
    known or withdrawn: the request only checks what was typed (the same work for every address)
    and queues the rest (``complete_sign_up``), which is where the cases differ. Looking the address
    up in the request made a new address 4-5 ms slower than a known one: a membership oracle.

    With Huey in-process (tests; HUEY_IMMEDIATE) the rest has run when this returns, and the result
    names the contact; otherwise the outcome is "queued" and there is no contact yet.
    """
    normalised = normalise_email(email)
    postcode = normalise_postcode(postcode)
    if not (name or "").strip():
        raise ValidationError({"name": "Enter your name"})
    codes = sorted(Purpose.objects.filter(code__in=purposes, is_equality=False).values_list("code", flat=True))
    if not codes:
        raise ValidationError({"purposes": "Choose at least one thing you would like to hear from us about"})
    payload = {"email": email, "name": name, "postcode": postcode, "purposes": codes,
               "topic_ids": [int(t) for t in topic_ids], "method": method, "actor": actor}
    if not HUEY.immediate:
        # After commit, so a request that fails later signs nobody up; the task reads nothing it wrote.
        transaction.on_commit(lambda: signup_tasks.complete_sign_up(**payload))
        return SignUpResult("queued", None)
    signup_tasks.complete_sign_up(**payload)
    return SignUpResult("completed", Contact.objects.filter(email_normalised=normalised).first())


def complete_sign_up(*, email: str, name: str, purposes: list[str], actor: Actor, postcode: str = "",
                     topic_ids=(), method: str = Method.WEB_FORM) -> SignUpResult:
    """The part of a sign-up that depends on the address, run by the queue (``sign_up`` checked the input).

    Two sign-ups of one new address at once give one contact: the loser of the race meets the
    unique address constraint inside a savepoint and carries on as a sign-up of a known address.
    """
    from consent import notifications  # noqa: PLC0415 - avoids a cycle with notifications → tokens

    normalised = normalise_email(email)
    chosen = list(Purpose.objects.filter(code__in=purposes, is_equality=False))
    if not chosen:
        raise ValidationError({"purposes": "Choose at least one thing you would like to hear from us about"})
    topics = list(Topic.objects.filter(pk__in=topic_ids, is_active=True))
    with transaction.atomic():
        contact, created = _locked_contact_by_address(normalised), False
        if contact is None:
            contact, created = _create_or_find(normalised, email=email, name=name, postcode=postcode, topics=topics,
                                               method=method, actor=actor)
        if contact.confirmed_at and not created:
            record_audit(actor=actor, action="signup.known_address", obj=contact)
            notifications.send_preferences_link_on_commit(contact)
            return SignUpResult("sent_preferences_link", contact)
        _give_pending(contact, chosen, method, actor)
        notifications.send_confirmation_on_commit(contact)
    return SignUpResult("created" if created else "resent_confirmation", contact)


def _locked_contact_by_address(normalised: str) -> Contact | None:
    return Contact.objects.select_for_update().filter(email_normalised=normalised).first()


def _create_or_find(normalised: str, *, email, name, postcode, topics, method, actor) -> tuple[Contact, bool]:
    source = Contact.Source.API if method == Method.API else Contact.Source.WEB
    try:
        with transaction.atomic():  # a savepoint: the duplicate case rolls back to here, not the whole request
            return crm_services.create_contact(email=email, name=name, postcode=postcode, source=source,
                                               topics=topics, actor=actor), True
    except (IntegrityError, crm_services.DuplicateContact):
        contact = _locked_contact_by_address(normalised)  # the other sign-up committed first
        if contact is None:
            raise
        return contact, False


def _give_pending(contact: Contact, purposes, method: str, actor: Actor) -> None:
    """Record 'given' (pending confirmation) for each purpose not already given on the current wording.

    Safe after a withdrawal: it is not a grant. A repeated sign-up on the same wording adds nothing.
    """
    now = timezone.now()
    ledger.lock_contact(contact)
    states = dict(ConsentState.objects.filter(contact=contact).values_list("purpose_id", "status"))
    statements = dict(ConsentState.objects.filter(contact=contact).values_list("purpose_id", "statement_id"))
    given = []
    for purpose in purposes:
        statement = current_statement(purpose)
        status = states.get(purpose.pk)
        if status == Status.GRANTED or (status == Status.PENDING and statements[purpose.pk] == statement.pk):
            continue
        ledger.check_request(purpose=purpose, action=Action.GIVEN, method=method, statement=statement,
                             occurred_at=now, now=now, actor=actor)
        _append_locked(contact=contact, purpose=purpose, action=Action.GIVEN, method=method, actor=actor,
                       statement=statement, occurred_at=now, now=now)
        given.append(purpose.code)
    if given:
        record_audit(actor=actor, action="consent.given", obj=contact,
                     changes={"purposes": sorted(given), "method": method})
    else:
        record_audit(actor=actor, action="signup.repeated", obj=contact, changes={"method": method})


def confirm_sign_up(*, contact: Contact, actor: Actor) -> list[str]:
    """The person followed the emailed link and pressed the button: confirm what they asked for."""
    now = timezone.now()
    confirmed = []
    with transaction.atomic():
        ledger.lock_contact(contact)  # first: the pending states are read under the lock
        pending = ConsentState.objects.filter(contact=contact, status=Status.PENDING).select_related(
            "purpose", "statement")
        for state in pending:
            # Confirm on the wording the person saw when they signed up.
            ledger.check_request(purpose=state.purpose, action=Action.CONFIRMED, method=Method.EMAIL_CONFIRMATION,
                                 statement=state.statement, occurred_at=now, now=now, actor=actor)
            event = _append_locked(contact=contact, purpose=state.purpose, action=Action.CONFIRMED,
                                   method=Method.EMAIL_CONFIRMATION, actor=actor, statement=state.statement,
                                   occurred_at=now, now=now)
            _audit_event(actor, contact, event)
            confirmed.append(state.purpose.code)
        if contact.confirmed_at is None:
            contact.confirmed_at = now
            contact.save(update_fields=["confirmed_at", "updated_at"])
    return confirmed


def update_purposes_from_preference_centre(*, contact: Contact, wanted: set[str], offered: set[str],
                                           actor: Actor) -> None:
    """Grant or withdraw each offered purpose so that exactly ``wanted`` is granted."""
    with transaction.atomic():
        ledger.lock_contact(contact)
        states = dict(ConsentState.objects.filter(contact=contact).values_list("purpose__code", "status"))
        for purpose in Purpose.objects.filter(code__in=offered):
            status = states.get(purpose.code)
            if purpose.code in wanted and status != Status.GRANTED:
                record_consent(contact=contact, purpose=purpose, action=Action.CONFIRMED,
                               method=Method.PREFERENCE_CENTRE, actor=actor)
            elif purpose.code not in wanted and status in {Status.GRANTED, Status.PENDING}:
                record_consent(contact=contact, purpose=purpose, action=Action.WITHDRAWN,
                               method=Method.PREFERENCE_CENTRE, actor=actor)


def withdraw(*, contact: Contact, purpose: Purpose | str, method: str, actor: Actor,
             evidence_reference: str = "") -> ConsentEvent | None:
    """Withdraw one purpose. Idempotent: already withdrawn (or never given) records nothing new."""
    purpose = _purpose(purpose)
    statement = current_statement(purpose)
    now = timezone.now()
    ledger.check_request(purpose=purpose, action=Action.WITHDRAWN, method=method, statement=statement,
                         occurred_at=now, now=now, actor=actor)
    with transaction.atomic():
        ledger.lock_contact(contact)
        status = ConsentState.objects.filter(contact=contact, purpose=purpose).values_list("status", flat=True).first()
        if status is None:
            return None
        if status == Status.WITHDRAWN:
            # Still make sure the address is suppressed, as its ledger says it must be.
            ledger.sync_suppressions(ledger.refold([(contact.pk, purpose.pk)]), {contact.pk: contact.email_hash}, now)
            return None
        event = _append_locked(contact=contact, purpose=purpose, action=Action.WITHDRAWN, method=method, actor=actor,
                               statement=statement, occurred_at=now, now=now, evidence_reference=evidence_reference)
        _audit_event(actor, contact, event)
    return event


def withdraw_everything(*, contact: Contact, method: str, actor: Actor) -> int:
    with transaction.atomic():
        ledger.lock_contact(contact)
        events = [
            withdraw(contact=contact, purpose=state.purpose, method=method, actor=actor)
            for state in ConsentState.objects.filter(contact=contact).select_related("purpose")
        ]
    return sum(1 for e in events if e)


def unsubscribe_one_click(*, contact: Contact, actor: Actor, purpose: str = Purpose.Code.BULLETIN,
                          purposes: tuple[str, ...] | None = None) -> None:
    """Withdraw what the email was sent for: ``purpose``, or every one of ``purposes`` (one transaction)."""
    with transaction.atomic():
        for code in purposes or (purpose,):
            withdraw(contact=contact, purpose=code, method=Method.ONE_CLICK_UNSUBSCRIBE, actor=actor)


# --- staff entry ----------------------------------------------------------------------------

def add_contact_with_consent(*, email: str, name: str, actor: Actor, method: str, purposes: list[str],
                             evidence_reference: str, occurred_at=None, postcode: str = "",
                             kind: str = Contact.Kind.PUBLIC, organisation=None, topics=(),
                             source: str = Contact.Source.STAFF) -> Contact:
    """Staff add a person from a paper form, call or event, with evidence. Suppressed addresses are refused."""
    normalised = normalise_email(email)
    if address_suppressed(normalised):
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
# Each locks the contact row before its first write: those writes record audit entries (the audit
# lock is held to commit), so the consent state rows they touch later must already be theirs.

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
        ledger.lock_contact(contact)
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
        ledger.lock_contact(contact)
        crm_services.save_equality_answers(contact=contact, answers=answers, actor=actor)
        update_purposes_from_preference_centre(contact=contact, wanted=wanted, offered=offered, actor=actor)


def forget_about_you(*, contact: Contact, actor: Actor) -> None:
    """Blank every 'about you' answer and withdraw both equality purposes."""
    with transaction.atomic():
        ledger.lock_contact(contact)
        if EqualityProfile.objects.filter(contact=contact).exists():
            crm_services.save_equality_answers(contact=contact, answers={}, actor=actor)
        update_purposes_from_preference_centre(contact=contact, wanted=set(), offered=_equality_purpose_codes(),
                                               actor=actor)


def withdraw_everything_by_person(*, contact: Contact, actor: Actor) -> int:
    """The person withdraws every consent; their 'about you' answers go too (no basis remains to keep them)."""
    with transaction.atomic():
        ledger.lock_contact(contact)
        count = withdraw_everything(contact=contact, method=Method.PREFERENCE_CENTRE, actor=actor)
        forget_about_you(contact=contact, actor=actor)
    return count


def _sync_state(*, contact: Contact, purpose: Purpose) -> None:
    """Re-derive one state row from its ledger (used by merging, with both contacts locked)."""
    ledger.refold([(contact.pk, purpose.pk)])


# Registers the queued half of sign_up with Huey wherever this module is imported (the consumer too).
from consent import signup_tasks  # noqa: E402, F401
