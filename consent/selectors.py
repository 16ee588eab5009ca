"""Reads about consent that the rest of the system depends on."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet, Subquery

from consent.models import ConsentEvent, ConsentState, ConsentStatement, Purpose, Suppression
from crm.models import Contact
from crm.normalise import address_hashes

Status = ConsentState.Status


class NoPublishedStatement(LookupError):
    pass


def current_statement(purpose: Purpose | str) -> ConsentStatement:
    """The newest published wording for a purpose."""
    filters = {"purpose": purpose} if isinstance(purpose, Purpose) else {"purpose__code": purpose}
    statement = (
        ConsentStatement.objects.filter(published_at__isnull=False, **filters).order_by("-version").first()
    )
    if statement is None:
        raise NoPublishedStatement(f"No published consent statement for {purpose}")
    return statement


def current_statements(*, equality: bool) -> list[ConsentStatement]:
    """One current statement per purpose, for forms (sign-up: equality=False; about you: True)."""
    return [current_statement(p) for p in Purpose.objects.filter(is_equality=equality)]


def fold_status(events) -> tuple[str, ConsentEvent | None]:
    """Derive a status from events in occurrence order. Shared by 'now' and 'as of' questions."""
    status, last = None, None
    for event in events:
        if event.action == ConsentEvent.Action.GIVEN:
            status = Status.GRANTED if status == Status.GRANTED else Status.PENDING
        elif event.action == ConsentEvent.Action.CONFIRMED:
            status = Status.GRANTED
        elif event.action == ConsentEvent.Action.NEW_ADDRESS:
            # Consent given at the old address waits for the new one to be confirmed.
            status = Status.PENDING if status in {Status.GRANTED, Status.PENDING} else status
        else:
            status = Status.WITHDRAWN
        last = event
    return status, last


def is_suppressed(address_hash: str, purpose: Purpose | str) -> bool:
    filters = {"purpose": purpose} if isinstance(purpose, Purpose) else {"purpose__code": purpose}
    return Suppression.objects.filter(address_hash=address_hash, lifted_at__isnull=True, **filters).exists()


def address_suppressed(normalised_email: str, purpose: Purpose | str | None = None) -> bool:
    """Is this (normalised) address suppressed, for ``purpose`` or for any purpose, under any pepper?"""
    filters = {}
    if purpose is not None:
        filters = {"purpose": purpose} if isinstance(purpose, Purpose) else {"purpose__code": purpose}
    return Suppression.objects.filter(
        address_hash__in=address_hashes(normalised_email), lifted_at__isnull=True, **filters
    ).exists()


def _purpose_id(code: str) -> Subquery:
    """The purpose's id as an uncommitted scalar subquery: evaluated once per statement (an InitPlan on
    PostgreSQL), then used as the index key. No join to Purpose per row, and no cached id that a
    test flush or a re-created purpose could leave stale."""
    return Subquery(Purpose.objects.order_by().filter(code=code).values("pk")[:1])


def reachable_states(*, purpose: str) -> QuerySet[ConsentState]:
    """State rows of everyone reachable for ``purpose``: one range of consent_state_reach_idx
    (purpose, status, suppressed, contact), answered from the index alone."""
    return ConsentState.objects.order_by().filter(purpose_id=_purpose_id(purpose), status=Status.GRANTED,
                                                  suppressed=False)


class ReachableContacts(QuerySet):
    """Contacts reachable for one purpose.

    ``count()`` on the queryset exactly as ``contacts_reachable_for`` returns it counts the state
    rows instead of the contacts: the same number (each state row names exactly one contact, by a
    foreign key, and a contact has at most one row per purpose), without visiting a million contact
    rows. Any further filter, slice or ordering makes a plain queryset again, counted the usual way.
    """

    _reachable_states = None

    def count(self):
        if self._reachable_states is not None and self._result_cache is None:
            return self._reachable_states.count()
        return super().count()


def contacts_reachable_for(*, purpose: str) -> QuerySet[Contact]:
    """Contacts who may be contacted for ``purpose`` now: granted and their address not suppressed.

    No ordering, so it can be used inside INSERT … SELECT (a bulletin's fan-out); suppression is
    part of the state row (kept by database triggers), so nothing here reads the suppression table.
    """
    states = reachable_states(purpose=purpose)
    qs = ReachableContacts(model=Contact).order_by().filter(pk__in=states.values("contact_id"))
    qs._reachable_states = states
    return qs


def reachable_contact_ids(*, contact_ids: Iterable[int], purpose: str) -> set[int]:
    """Which of these contacts may be contacted for ``purpose`` now (one query per 5,000 ids).

    The bulletin sender re-checks a whole batch with this at send time: people unsubscribe mid-send.
    """
    ids = sorted({int(i) for i in contact_ids})
    reachable = set()
    for start in range(0, len(ids), 5000):
        reachable.update(reachable_states(purpose=purpose).filter(contact_id__in=ids[start:start + 5000])
                         .values_list("contact_id", flat=True))
    return reachable


def is_reachable(*, contact_id: int, purpose: str) -> bool:
    return reachable_states(purpose=purpose).filter(contact_id=contact_id).exists()


@dataclass(frozen=True)
class ReachabilityAt:
    reachable: bool
    status: str | None
    statement: ConsentStatement | None
    event: ConsentEvent | None


def reachability_at(*, contact: Contact, purpose: str, at: datetime) -> ReachabilityAt:
    """Was this contact reachable for ``purpose`` at ``at``, and on which wording?"""
    events = ConsentEvent.objects.filter(
        contact=contact, purpose__code=purpose, occurred_at__lte=at
    ).select_related("statement").order_by("occurred_at", "id")
    status, last = fold_status(events)
    return ReachabilityAt(
        reachable=status == Status.GRANTED,
        status=status,
        statement=last.statement if last else None,
        event=last,
    )


def consent_timeline(contact: Contact) -> QuerySet[ConsentEvent]:
    return (
        ConsentEvent.objects.filter(contact=contact)
        .select_related("purpose", "statement", "recorded_by")
        .order_by("-occurred_at", "-id")
    )


def consent_summary(contact: Contact) -> dict[str, str]:
    """purpose code → current status, for every purpose (missing = 'not asked')."""
    states = dict(ConsentState.objects.filter(contact=contact).values_list("purpose__code", "status"))
    return {code: states.get(code, "") for code in Purpose.Code.values}
