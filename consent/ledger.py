"""The ledger's core, shared by the one-person and the many-people services.

Lock order, everywhere: the contact row(s) first (ascending id when there are several), then
consent state and suppression rows, then the audit head LAST (crm.audit.record_audit takes an
advisory lock on PostgreSQL that is held until commit). A transaction that held the audit lock and
then waited for a state row deadlocked against one holding the state row and waiting for the
audit lock; with the contact lock taken first, nobody holds a person's state rows without also
holding that person's contact row, so that wait cannot happen.

The policy about who may do what is decided here, from the actor and the method together, so no
caller can talk its way round it by passing a different method string.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from consent.models import ConsentEvent, ConsentState, ConsentStatement, Purpose, Suppression
from consent.selectors import fold_status
from crm.audit import Actor
from crm.bulk_sql import in_list
from crm.models import Contact

Action = ConsentEvent.Action
Method = ConsentEvent.Method
Status = ConsentState.Status

# Only these methods prove the person themself acted, from their own mailbox: the confirmation link
# and the preference centre are reached from a link sent to the address. Only they may lift a
# suppression or override a withdrawal, and only when the actor is the person (Actor.public()).
PERSONS_OWN_METHODS = frozenset({Method.EMAIL_CONFIRMATION, Method.PREFERENCE_CENTRE})
# A person signing up (web form, public API) gives consent pending confirmation: allowed even after
# a withdrawal, because "given" is not a grant and nothing but the confirmation email follows.
PERSONS_SIGN_UP_METHODS = frozenset({Method.WEB_FORM, Method.API})
WITHDRAWAL_SUPPRESSION_REASON = {
    Method.COMPLAINT: Suppression.Reason.COMPLAINT,
    Method.HARD_BOUNCE: Suppression.Reason.HARD_BOUNCE,
}
CHUNK = 5000  # ids per IN (...) list: well under SQLite's variable limit


class ConsentRefused(ValidationError):
    """The ledger will not accept this event (e.g. a withdrawal would be overridden)."""


class ContactGone(ValidationError):
    """The person's record was erased or merged away while this request was on its way."""


def is_the_person(actor: Actor) -> bool:
    return actor.user is None and actor.label == "public"


def recorder_label(actor: Actor) -> str:
    if actor.user is not None:
        return actor.label
    return "the person" if is_the_person(actor) else "system"


def lock_contact(contact: Contact) -> Contact:
    """Take the person's row lock (first, before anything else) and refresh what consent reads from it."""
    row = Contact.objects.select_for_update().filter(pk=contact.pk).values("email_hash", "confirmed_at").first()
    if row is None:
        raise ContactGone("This person's record no longer exists")
    contact.email_hash, contact.confirmed_at = row["email_hash"], row["confirmed_at"]
    return contact


def lock_contacts(contact_ids: Iterable[int]) -> dict[int, str]:
    """Lock many people at once, in ascending id order (so two batches never deadlock); id → email hash."""
    ids = sorted(set(contact_ids))
    locked = {}
    for start in range(0, len(ids), CHUNK):
        rows = Contact.objects.select_for_update().filter(
            in_list(Contact, "id", ids[start:start + CHUNK])).order_by("pk")
        locked.update(rows.values_list("pk", "email_hash"))
    return locked


def check_request(*, purpose: Purpose, action: str, method: str, statement: ConsentStatement, occurred_at,
                  now, actor: Actor) -> None:
    """What can be refused before looking at the person: unknown codes, wording, dates, who claims what."""
    if action not in Action.values or method not in Method.values:
        raise ConsentRefused("Unknown consent action or method")
    if statement.purpose_id != purpose.pk or not statement.is_published:
        raise ConsentRefused("Consent must be recorded against a published statement for this purpose")
    if occurred_at > now + timezone.timedelta(minutes=5):
        raise ConsentRefused("Consent cannot be recorded as happening in the future")
    if method in PERSONS_OWN_METHODS and not is_the_person(actor):
        raise ConsentRefused("Only the person themself, from a link sent to their address, can record consent "
                             "by email confirmation or the preference centre")
    if is_the_person(actor) and action == Action.CONFIRMED and method not in PERSONS_OWN_METHODS:
        raise ConsentRefused("A person confirms by the link in their confirmation email or their preference centre")


def refusal_for(*, action: str, method: str, actor: Actor, status: str | None, suppressed: bool) -> str | None:
    """Why this person's event must be refused now, or None. Called with the contact row locked."""
    if action == Action.WITHDRAWN:
        return None
    if action == Action.NEW_ADDRESS:
        if status not in {Status.GRANTED, Status.PENDING}:
            return "Only granted or pending consent waits for a new address to be confirmed"
        return None
    if method in PERSONS_OWN_METHODS:  # check_request has made sure the actor is the person
        return None
    if action == Action.GIVEN and is_the_person(actor) and method in PERSONS_SIGN_UP_METHODS:
        return None
    if status == Status.WITHDRAWN or suppressed:
        return ("This person has withdrawn consent or is suppressed for this purpose. Only their own new, "
                "confirmed sign-up can restore it.")
    return None


def active_suppressions(*, hashes: Iterable[str], purpose_ids: Iterable[int]) -> set[tuple[str, int]]:
    hashes, purpose_ids = list(set(hashes)), list(set(purpose_ids))
    found = set()
    for start in range(0, len(hashes), CHUNK):
        found.update(Suppression.objects.filter(
            in_list(Suppression, "address_hash", hashes[start:start + CHUNK]), purpose_id__in=purpose_ids,
            lifted_at__isnull=True,
        ).values_list("address_hash", "purpose_id"))
    return found


def refold(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], tuple[str | None, "FoldedEvent | None"]]:
    """Re-derive ConsentState for each (contact id, purpose id) from its whole ledger, in bulk.

    Returns the fold per pair. The same fold (``fold_status``) answers "now" and "as of".
    """
    pairs = set(pairs)
    by_purpose = defaultdict(list)
    for contact_id, purpose_id in pairs:
        by_purpose[purpose_id].append(contact_id)
    folds = {}
    for purpose_id, contact_ids in by_purpose.items():
        for start in range(0, len(contact_ids), CHUNK):
            folds.update(_refold_chunk(purpose_id, contact_ids[start:start + CHUNK]))
    return folds


class FoldedEvent(NamedTuple):
    """The columns of a ledger event the fold and the suppression sync read (no model instance)."""

    pk: int
    contact_id: int
    action: str
    method: str
    statement_id: int
    occurred_at: datetime


STATE_FIELDS = ("status", "statement_id", "since", "last_event_id")


def _refold_chunk(purpose_id: int, contact_ids: list[int]) -> dict:
    """Fold each person's events for one purpose and write only the state rows that differ.

    Set-based on purpose: one read of the events, one of the states, then one executemany INSERT
    for the new rows and one executemany ``UPDATE ... WHERE id = %s`` for the changed ones. (Django's
    ``bulk_update`` wrote one CASE WHEN per column over the whole batch: milliseconds a row.)
    """
    events = defaultdict(list)
    rows = ConsentEvent.objects.filter(
        in_list(ConsentEvent, "contact_id", contact_ids), purpose_id=purpose_id).order_by(
        "contact_id", "occurred_at", "id").values_list("id", "contact_id", "action", "method", "statement_id",
                                                       "occurred_at")
    for row in rows:
        events[row[1]].append(FoldedEvent._make(row))
    states = {row[1]: row for row in ConsentState.objects.filter(
        in_list(ConsentState, "contact_id", contact_ids, purpose_id=purpose_id)).values_list(
        "id", "contact_id", *STATE_FIELDS)}
    adapt = connection.ops.adapt_datetimefield_value
    created, changed, folds = [], [], {}
    for contact_id in contact_ids:
        status, last = fold_status(events[contact_id])
        folds[(contact_id, purpose_id)] = (status, last)
        if last is None:
            continue
        values = (status, last.statement_id, last.occurred_at, last.pk)
        state = states.get(contact_id)
        if state is None:
            created.append((contact_id, purpose_id, status, last.statement_id, adapt(last.occurred_at), last.pk))
        elif state[2:] != values:
            changed.append((status, last.statement_id, adapt(last.occurred_at), last.pk, state[0]))
    with connection.cursor() as cursor:
        if created:
            # ``suppressed`` is left to its database default and then set by the insert trigger.
            cursor.executemany("INSERT INTO consent_consentstate (contact_id, purpose_id, status, statement_id, since, "
                               "last_event_id) VALUES (%s, %s, %s, %s, %s, %s)", created)
        if changed:
            cursor.executemany("UPDATE consent_consentstate SET status = %s, statement_id = %s, since = %s, "
                               "last_event_id = %s WHERE id = %s", changed)
    return folds


def sync_suppressions(folds: dict, hashes: dict[int, str], now) -> tuple[int, int]:
    """Make each address's suppression follow its folded ledger, never the event just recorded.

    Withdrawn at the end of the ledger: suppressed. Granted, and the newest event is the person's own
    confirmation: lifted. Anything else (pending, or granted on staff evidence): left as it is. So an
    older confirmation that arrives after a newer withdrawal never lifts that withdrawal's suppression.
    Returns (suppressions added, suppressions lifted).
    """
    to_add, to_lift = [], defaultdict(list)
    for (contact_id, purpose_id), (status, last) in folds.items():
        if last is None:
            continue
        if status == Status.WITHDRAWN:
            method = last.method if last.action == Action.WITHDRAWN else ""
            reason = WITHDRAWAL_SUPPRESSION_REASON.get(method, Suppression.Reason.WITHDRAWAL)
            to_add.append(Suppression(address_hash=hashes[contact_id], purpose_id=purpose_id, reason=reason,
                                      created_at=now))
        elif status == Status.GRANTED and last.action == Action.CONFIRMED and last.method in PERSONS_OWN_METHODS:
            to_lift[purpose_id].append(hashes[contact_id])
    added = len(add_suppressions(to_add))
    lifted = 0
    for purpose_id, lift_hashes in to_lift.items():
        for start in range(0, len(lift_hashes), CHUNK):
            lifted += Suppression.objects.filter(
                in_list(Suppression, "address_hash", lift_hashes[start:start + CHUNK]), purpose_id=purpose_id,
                lifted_at__isnull=True,
            ).update(lifted_at=now)
    return added, lifted


def add_suppressions(rows: list[Suppression]) -> list[tuple[str, int]]:
    """Insert the active suppressions not already there; returns the (hash, purpose id) pairs added.

    Racing inserts of one address (two provider webhooks, or a webhook and an erasure) meet the
    partial unique index; ``ignore_conflicts`` makes the loser a no-op instead of an error.
    """
    if not rows:
        return []
    existing = active_suppressions(hashes=[r.address_hash for r in rows], purpose_ids=[r.purpose_id for r in rows])
    new, seen = [], set(existing)
    for row in rows:
        key = (row.address_hash, row.purpose_id)
        if key not in seen:
            seen.add(key)
            new.append(row)
    Suppression.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    return [(r.address_hash, r.purpose_id) for r in new]


def insert_events(*, contact_ids: list[int], purpose: Purpose, action: str, statement: ConsentStatement, method: str,
                  actor: Actor, occurred_at, now, evidence_reference: str) -> None:
    """The same event for many people, as ``new_event`` would build it, in one executemany INSERT.

    No model instances and no ids come back: the callers only need who got one, and ``refold``
    reads the ledger again. (``bulk_create`` spent most of a large import preparing each field.)
    """
    if not contact_ids:
        return
    adapt = connection.ops.adapt_datetimefield_value
    user_id, label = (actor.user.pk if actor.user is not None else None), recorder_label(actor)
    fixed = (purpose.pk, str(action), statement.pk, str(method), user_id, label, adapt(occurred_at), adapt(now),
             (evidence_reference or "")[:200])
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO consent_consentevent (contact_id, purpose_id, action, statement_id, method, recorded_by_id, "
            "recorded_by_label, occurred_at, recorded_at, evidence_reference) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", [(contact_id, *fixed) for contact_id in contact_ids])


def new_event(*, contact_id: int, purpose: Purpose, action: str, statement: ConsentStatement, method: str,
              actor: Actor, occurred_at, now, evidence_reference: str) -> ConsentEvent:
    return ConsentEvent(
        contact_id=contact_id, purpose=purpose, action=action, statement=statement, method=method,
        recorded_by=actor.user, recorded_by_label=recorder_label(actor), occurred_at=occurred_at, recorded_at=now,
        evidence_reference=(evidence_reference or "")[:200],
    )
