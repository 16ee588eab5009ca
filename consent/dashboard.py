"""The team's one-page monthly dashboard. Each figure is one GROUP BY month query, not a loop over rows."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, DateTimeField, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncMonth
from django.utils import timezone

from consent import cases, retention
from consent.models import ConsentEvent, Suppression
from crm.models import AuditEntry, Contact

MONTHS = 12
# Every way a contact row leaves the database writes one of these audit actions.
DELETION_ACTIONS = ("contact.erased", "contact.unconfirmed_expired", "contact.merged_away")


@dataclass(frozen=True)
class MonthRow:
    month: date
    contacts: int  # held at the month's end (now, for the current month)
    sign_ups: int
    confirmations: int
    withdrawals: int
    suppressions: int
    expired_deleted: int


def month_starts(today: date, months: int = MONTHS) -> list[date]:
    """First day of each of the last ``months`` months, oldest first, ending with the current one."""
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day))


def _per_month(qs: QuerySet, field: str, since: datetime) -> dict[date, int]:
    rows = (
        qs.filter(**{f"{field}__gte": since})
        .annotate(month=TruncMonth(field))
        .order_by()
        .values("month")
        .annotate(n=Count("pk"))
    )
    return {_month(row["month"]): row["n"] for row in rows}


def _month(value) -> date:
    return timezone.localtime(value).date() if isinstance(value, datetime) else value


def monthly_figures(today: date | None = None) -> list[MonthRow]:
    today = today or timezone.localdate()
    starts = month_starts(today)
    since = _start_of(starts[0])
    created = _per_month(Contact.objects.all(), "created_at", since)
    confirmed = _per_month(Contact.objects.filter(confirmed_at__isnull=False), "confirmed_at", since)
    withdrawn = _per_month(ConsentEvent.objects.filter(action=ConsentEvent.Action.WITHDRAWN), "occurred_at", since)
    suppressed = _per_month(Suppression.objects.all(), "created_at", since)
    expired = _per_month(AuditEntry.objects.filter(action="contact.unconfirmed_expired"), "created_at", since)
    held = _held_at_month_ends(starts, since, created)
    return [
        MonthRow(month=start, contacts=held[start], sign_ups=created.get(start, 0),
                 confirmations=confirmed.get(start, 0), withdrawals=withdrawn.get(start, 0),
                 suppressions=suppressed.get(start, 0), expired_deleted=expired.get(start, 0))
        for start in starts
    ]


def _held_at_month_ends(starts: list[date], since: datetime, created: dict[date, int]) -> dict[date, int]:
    """Contacts held at each month's end: those still held, plus those deleted later.

    Deleted people leave no row, but their deletion and their creation are both in the audit log
    (same object id), so one grouped query gives (month created, month deleted) pairs. A deletion
    whose creation entry is missing (bulk-loaded records) counts as created before the window.
    """
    creation = AuditEntry.objects.filter(
        action="contact.created", object_type="crm.contact", object_id=OuterRef("object_id")
    ).order_by("id").values("created_at")[:1]
    pairs = (
        AuditEntry.objects.filter(action__in=DELETION_ACTIONS, object_type="crm.contact", created_at__gte=since)
        .annotate(made=TruncMonth(Subquery(creation, output_field=DateTimeField())), gone=TruncMonth("created_at"))
        .order_by()
        .values("made", "gone")
        .annotate(n=Count("pk"))
    )
    deletions = [(_month(row["made"]) if row["made"] else None, _month(row["gone"]), row["n"]) for row in pairs]
    held_before = Contact.objects.filter(created_at__lt=since).count()
    held, running = {}, held_before
    for start in starts:
        running += created.get(start, 0)
        gone_later = sum(n for made, gone, n in deletions if gone > start and (made is None or made <= start))
        held[start] = running + gone_later
    return held


# The month-by-month series drawn as bars, in the table's column order: (field, label).
CHART_SERIES = (
    ("sign_ups", "New contacts"),
    ("confirmations", "Confirmations"),
    ("withdrawals", "Withdrawals"),
    ("suppressions", "New suppressions"),
    ("expired_deleted", "Expired sign-ups deleted"),
)


def chart_data(months: list[MonthRow]) -> dict:
    """The same figures as the table, shaped for the dashboard's charts (crm/static/mynhs/dashboard.js)."""
    return {
        "months": [row.month.strftime("%b %Y") for row in months],
        "contacts": [row.contacts for row in months],
        "series": [{"label": label, "values": [getattr(row, name) for row in months]} for name, label in CHART_SERIES],
    }


@dataclass(frozen=True)
class RetentionFigures:
    unconfirmed: int
    unconfirmed_expired: int
    awaiting_review: int
    last_run: AuditEntry | None


def retention_figures() -> RetentionFigures:
    return RetentionFigures(
        unconfirmed=retention.unconfirmed_sign_ups().count(),
        unconfirmed_expired=retention.expired_unconfirmed_sign_ups().count(),
        awaiting_review=retention.contacts_for_review().count(),
        last_run=retention.last_run(),
    )


@dataclass(frozen=True)
class Dashboard:
    months: list[MonthRow]
    open_subject_access: list  # [cases.CaseDue]
    retention: RetentionFigures


def dashboard(today: date | None = None) -> Dashboard:
    today = today or timezone.localdate()
    return Dashboard(
        months=monthly_figures(today),
        open_subject_access=cases.open_subject_access_cases(today),
        retention=retention_figures(),
    )
