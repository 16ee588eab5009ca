"""Reads about consent that the rest of the system depends on."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet

from consent.models import ConsentEvent, ConsentState, ConsentStatement, Purpose, Suppression
from crm.models import Contact

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
        else:
            status = Status.WITHDRAWN
        last = event
    return status, last


def is_suppressed(address_hash: str, purpose: Purpose | str) -> bool:
    filters = {"purpose": purpose} if isinstance(purpose, Purpose) else {"purpose__code": purpose}
    return Suppression.objects.filter(address_hash=address_hash, lifted_at__isnull=True, **filters).exists()


def contacts_reachable_for(*, purpose: str) -> QuerySet[Contact]:
    """Contacts who may be contacted for ``purpose`` now: granted and not suppressed. One indexed query."""
    granted = ConsentState.objects.filter(contact=OuterRef("pk"), purpose__code=purpose, status=Status.GRANTED)
    suppressed = Suppression.objects.filter(
        address_hash=OuterRef("email_hash"), purpose__code=purpose, lifted_at__isnull=True
    )
    return Contact.objects.filter(Exists(granted)).exclude(Exists(suppressed))


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
