"""Engagement activity reports (issue 10): for governance and for the annual report. Reads only.

Every table is one grouped query (or one query with subqueries), never a loop over activities asking the
database about each. The definitions a governance lead would use, also stated on the pages:

- By locality: an activity held in two localities counts in each, so the localities' numbers add up to
  more than the number of activities; activities with no locality recorded have a row of their own.
- Lacking an equality analysis: ``equality_analysis_done`` is not ticked, whatever the status.
- Feedback given: the "you said, we did" feedback was published (``feedback_published_on``) or emailed to
  the people who took part (``feedback_sent_at``). Writing the text on the record is a draft, not feedback
  given: nobody who took part has been told. A completed activity without either is "feedback due", and
  "overdue" when it was completed more than ``MYNHS_FEEDBACK_OVERDUE_WEEKS`` weeks ago (default 12).
- The NHS reporting year runs 1 April to 31 March. An activity belongs to a year if it ran during it: it
  started (``starts_on``, or the day it was recorded if no start date was given) on or before 31 March and,
  if it is completed, was completed on or after 1 April. Its status is the status today.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from crm.models import Contact
from segments.models import Activity, ActivityHeadcount, ActivityParticipant, Invitation

Status = Activity.Status
STATUSES = tuple(Status)  # planned, in progress, completed: the order work goes in


def overdue_weeks() -> int:
    return int(getattr(settings, "MYNHS_FEEDBACK_OVERDUE_WEEKS", 12))


def feedback_given() -> Q:
    return Q(feedback_published_on__isnull=False) | Q(feedback_sent_at__isnull=False)


# --- governance tables (all activities, as they are today) -------------------------------------------

@dataclass
class Row:
    label: str
    counts: dict  # status value -> number
    total: int = 0


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    totals: Row | None = None


def _table(grouped, label_key: str, empty_label: str) -> Table:
    rows: dict[str, Row] = {}
    for item in grouped:
        label = item[label_key] or empty_label
        row = rows.setdefault(label, Row(label, dict.fromkeys(Status.values, 0)))
        row.counts[item["status"]] += item["n"]
        row.total += item["n"]
    ordered = sorted(rows.values(), key=lambda row: (row.label == empty_label, row.label.casefold()))
    totals = Row("All", {value: sum(row.counts[value] for row in ordered) for value in Status.values})
    totals.total = sum(totals.counts.values())
    return Table(ordered, totals)


def by_programme_and_status(activities: QuerySet[Activity] | None = None) -> Table:
    """Activities per programme and status. One grouped query."""
    activities = Activity.objects.all() if activities is None else activities
    grouped = (activities.order_by().values("programme__name", "status").annotate(n=Count("pk", distinct=True)))
    return _table(grouped, "programme__name", "No programme")


NO_LOCALITY = "No locality recorded"


def by_locality_and_status(activities: QuerySet[Activity] | None = None) -> Table:
    """Activities per locality and status; an activity in two localities counts in each. One grouped query.

    The totals row is NOT the sum of the rows: it counts each activity once (a second grouped query)."""
    activities = Activity.objects.all() if activities is None else activities
    grouped = activities.order_by().values("localities__name", "status").annotate(n=Count("pk", distinct=True))
    table = _table(grouped, "localities__name", NO_LOCALITY)
    each_once = activities.order_by().values("status").annotate(n=Count("pk", distinct=True))
    table.totals = Row("All activities, each counted once", dict.fromkeys(Status.values, 0))
    for item in each_once:
        table.totals.counts[item["status"]] = item["n"]
    table.totals.total = sum(table.totals.counts.values())
    return table


def lacking_equality_analysis() -> QuerySet[Activity]:
    """Activities with no equality analysis recorded: completed first (those went ahead without one)."""
    order = {Status.COMPLETED: 0, Status.IN_PROGRESS: 1, Status.PLANNED: 2}
    return (Activity.objects.filter(equality_analysis_done=False).select_related("programme")
            .annotate(status_rank=Case(*(When(status=s, then=Value(rank)) for s, rank in order.items()),
                                       output_field=IntegerField()))
            .order_by("status_rank", "programme__name", "title", "pk"))


def feedback_due(today: date | None = None) -> QuerySet[Activity]:
    """Completed activities whose feedback has not been given, oldest completion first (most overdue on
    top); each annotated ``overdue`` (completed more than the configured weeks ago) and ``drafted``
    (the "what we did" text is written)."""
    today = today or timezone.localdate()
    cutoff = today - timedelta(weeks=overdue_weeks())
    return (Activity.objects.filter(status=Status.COMPLETED).exclude(feedback_given()).select_related("programme")
            .annotate(drafted=ExpressionWrapper(Q(we_did__gt=""), output_field=BooleanField()),
                      overdue=ExpressionWrapper(Q(completed_on__lt=cutoff), output_field=BooleanField()))
            .order_by("completed_on", "title", "pk"))


def weeks_since(day: date, today: date | None = None) -> int:
    return ((today or timezone.localdate()) - day).days // 7


# --- the NHS reporting year --------------------------------------------------------------------------

def financial_year_of(day: date) -> int:
    """The year the financial year starts in: 31 March 2027 is in 2026 (to 2027), 1 April 2027 in 2027."""
    return day.year if day.month >= 4 else day.year - 1


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 4, 1), date(year + 1, 3, 31)


def year_label(year: int) -> str:
    return f"April {year} to March {year + 1}"


def years_on_record(today: date | None = None) -> list[int]:
    """Financial years from the earliest activity's to this one (newest first): the year picker's choices."""
    current = financial_year_of(today or timezone.localdate())
    earliest = (Activity.objects.annotate(began_on=Coalesce("starts_on", TruncDate("created_at")))
                .aggregate(first=Min("began_on"))["first"])
    first = min(current, financial_year_of(earliest)) if earliest else current
    return list(range(current, first - 1, -1))


def activities_in_year(year: int) -> QuerySet[Activity]:
    """Activities that ran during the financial year (see the module docstring)."""
    start, end = year_bounds(year)
    return (Activity.objects
            .annotate(began_on=Coalesce("starts_on", TruncDate("created_at")))
            .filter(began_on__lte=end)
            .filter(~Q(status=Status.COMPLETED) | Q(completed_on__gte=start)))


def _named_people(activities: QuerySet[Activity]) -> QuerySet[Contact]:
    """Everyone named as taking part in any of ``activities``, each person once (as activities.participants)."""
    ids = activities.values("pk")
    return Contact.objects.filter(
        Q(pk__in=Invitation.objects.filter(attended=True, event__activities__in=ids).values("contact_id"))
        | Q(pk__in=ActivityParticipant.objects.filter(activity__in=ids).values("contact_id")))


@dataclass
class YearSummary:
    year: int
    start: date
    end: date
    total: int
    by_kind: list  # [(kind label, {status: n}, total)] for the kinds that occur
    status_totals: dict
    completed: int
    with_equality_analysis: int
    named_people: int
    anonymous_people: int
    completed_with_feedback: int
    feedback_emailed: int  # completed activities whose feedback was emailed to participants
    feedback_recipients: int  # the people those emails went to
    changes: list  # completed activities, each with title, programme, we_did

    @property
    def label(self) -> str:
        return year_label(self.year)

    @property
    def people(self) -> int:
        return self.named_people + self.anonymous_people


def year_summary(year: int) -> YearSummary:
    start, end = year_bounds(year)
    in_year = activities_in_year(year)
    grouped = in_year.order_by().values("kind", "status").annotate(n=Count("pk", distinct=True))
    kinds: dict[str, dict] = {}
    for item in grouped:
        kinds.setdefault(item["kind"], dict.fromkeys(Status.values, 0))[item["status"]] += item["n"]
    by_kind = [(label, kinds[value], sum(kinds[value].values())) for value, label in Activity.Kind.choices
               if value in kinds]
    status_totals = {value: sum(counts[value] for counts in kinds.values()) for value in Status.values}
    completed_in_year = in_year.filter(status=Status.COMPLETED, completed_on__range=(start, end))
    figures = in_year.aggregate(equality=Count("pk", filter=Q(equality_analysis_done=True), distinct=True))
    completed = completed_in_year.aggregate(
        n=Count("pk"), given=Count("pk", filter=feedback_given()),
        emailed=Count("pk", filter=Q(feedback_sent_at__isnull=False)),
        recipients=Coalesce(Sum("feedback_sent_count"), 0))
    anonymous = (ActivityHeadcount.objects.filter(activity__in=in_year.values("pk"))
                 .aggregate(n=Coalesce(Sum("count"), 0))["n"])
    return YearSummary(
        year=year, start=start, end=end, total=sum(status_totals.values()), by_kind=by_kind,
        status_totals=status_totals, completed=completed["n"], with_equality_analysis=figures["equality"],
        named_people=_named_people(in_year).count(), anonymous_people=anonymous,
        completed_with_feedback=completed["given"], feedback_emailed=completed["emailed"],
        feedback_recipients=completed["recipients"],
        changes=list(completed_in_year.select_related("programme").order_by("programme__name", "completed_on", "pk")),
    )


def year_activity_rows(year: int) -> QuerySet[Activity]:
    """Every activity of the year with its own numbers, for the year's CSV: one query (subqueries per column).

    ``named`` counts each person once per activity (attended a linked event or recorded), as
    ``segments.activities.participant_numbers`` does; ``anonymous`` is the headcounts' sum."""
    people = Contact.objects.filter(
        Q(pk__in=Invitation.objects.filter(attended=True, event__activities=OuterRef(OuterRef("pk")))
          .values("contact_id"))
        | Q(pk__in=ActivityParticipant.objects.filter(activity=OuterRef(OuterRef("pk"))).values("contact_id")))
    named = people.order_by().values(n=Func(F("pk"), function="COUNT"))
    anonymous = (ActivityHeadcount.objects.filter(activity=OuterRef("pk")).order_by().values("activity")
                 .annotate(n=Sum("count")).values("n"))
    return (activities_in_year(year).select_related("programme")
            .annotate(named=Coalesce(Subquery(named, output_field=IntegerField()), 0),
                      anonymous=Coalesce(Subquery(anonymous, output_field=IntegerField()), 0))
            .order_by("programme__name", "title", "pk"))
