"""Who are we missing? The people we reach, invite and hear from, against the population baseline.

Only people whose ``equality_monitoring`` consent allows it are counted at all. For each
characteristic: the count per category, its share of those who answered, the population's share
from the census baseline (rolled up to the baseline's categories), and the ratio of the two; a ratio
under ``UNDER_REPRESENTED`` marks a group we are missing.

Small numbers are suppressed: a count from 1 to 4 is shown as "<5", and where a table would then
have exactly one hidden cell (recoverable as the total minus the others), the smallest other
non-zero cell is hidden too — so no hidden count can be worked out by subtraction.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from consent.models import ConsentState, Purpose
from crm.bulk_sql import large_read
from crm.census import report_baseline
from crm.models import Contact, EqualityProfile, Locality
from segments.models import ActivityParticipant, Invitation

SMALL = 5  # counts 1..4 are hidden
UNDER_REPRESENTED = 0.8  # a share below 80% of the population's share
POPULATIONS = {
    "reachable": "People we can contact",
    "invited": "People invited to events",
    "attended": "People who came to events",
    "took_part": "People who came to events or took part in an activity",
}
NOT_ANSWERED = "Not answered or prefer not to say"

# Our answers (ONS 2021 detailed categories) rolled up to the baseline's published categories.
AGE_ROLL_UP = {"0-15": "Under 20", "16-19": "Under 20", "20-29": "20-29", "30-39": "30-39", "40-49": "40-49",
               "50-59": "50-59", "60-69": "60-69", "70-79": "70-79", "80+": "80+"}
BASELINE_AGE_ROLL_UP = {"0-9": "Under 20", "10-19": "Under 20"}
ETHNIC_ROLL_UP = {"other_arab": "Arab", "other_any": "Other ethnic group"}
ETHNIC_PREFIX = {"asian_": "Asian", "black_": "Black", "mixed_": "Mixed or multiple", "white_": "White"}
RELIGION_ROLL_UP = {
    "none": "No religion", "christian": "Christian", "buddhist": "Buddhist", "hindu": "Hindu", "jewish": "Jewish",
    "muslim": "Muslim", "sikh": "Sikh", "other": "Other religion",
}
CHARACTERISTICS = {
    # name: (label, EqualityProfile field or None for locality, baseline characteristic or None)
    "locality": ("Locality", None, None),
    "age": ("Age band", "age_band", "age"),
    "sex": ("Sex", "sex", "sex"),
    "ethnic_group": ("Ethnic group", "ethnic_group", "ethnic_group"),
    "religion": ("Religion", "religion", "religion"),
    "disability": ("Disability", "disability", None),
}


@dataclass
class Cell:
    category: str
    count: int
    hidden: bool = False
    share: float | None = None
    population_share: float | None = None

    @property
    def shown(self) -> str:
        return f"<{SMALL}" if self.hidden else f"{self.count:,}"

    @property
    def ratio(self) -> float | None:
        if self.hidden or self.share is None or not self.population_share:
            return None
        return self.share / self.population_share

    @property
    def under_represented(self) -> bool:
        return self.ratio is not None and self.ratio < UNDER_REPRESENTED


@dataclass
class Table:
    characteristic: str
    label: str
    cells: list[Cell] = field(default_factory=list)
    not_answered: Cell | None = None
    total: int = 0
    total_hidden: bool = False

    @property
    def total_shown(self) -> str:
        return f"<{SMALL}" if self.total_hidden else f"{self.total:,}"

    @property
    def has_baseline(self) -> bool:
        return any(c.population_share is not None for c in self.cells)


def people(*, population: str, start: datetime | None = None, end: datetime | None = None,
           event_ids=None, activity=None, programme=None) -> QuerySet[Contact]:
    """The people a report counts: the chosen population, only those whose monitoring consent allows it.

    ``activity`` or ``programme`` narrows the event populations to the events linked to it; "took part"
    adds the people recorded as taking part in an activity (as ``segments.activities.participants``).
    """
    if population == "reachable":
        base = Contact.objects.filter(pk__in=_reachable_ids(Purpose.Code.BULLETIN, Purpose.Code.EVENTS,
                                                            Purpose.Code.INVOLVEMENT))
    elif population in ("invited", "attended", "took_part"):
        invitations = Invitation.objects.all()
        if population == "invited":
            invitations = invitations.exclude(source=Invitation.Source.WALK_IN)
        else:
            invitations = invitations.filter(attended=True)
        if start:
            invitations = invitations.filter(event__starts_at__gte=start)
        if end:
            invitations = invitations.filter(event__starts_at__lt=end)
        if event_ids:
            invitations = invitations.filter(event_id__in=list(event_ids))
        if activity is not None:
            invitations = invitations.filter(event__activities=activity)
        if programme is not None:
            invitations = invitations.filter(event__activities__programme=programme)
        included = Q(pk__in=invitations.values("contact_id"))
        if population == "took_part" and not event_ids:
            included |= Q(pk__in=_recorded_participants(start, end, activity, programme).values("contact_id"))
        base = Contact.objects.filter(included)
    else:
        raise ValueError(f"Unknown population {population!r}; choose one of {', '.join(POPULATIONS)}")
    monitored = _reachable_ids(Purpose.Code.EQUALITY_MONITORING)
    return base.order_by().filter(pk__in=monitored)


def _recorded_participants(start, end, activity, programme) -> QuerySet[ActivityParticipant]:
    """Participants recorded on activities that ran in the period (an activity without dates counts)."""
    recorded = ActivityParticipant.objects.all()
    if activity is not None:
        recorded = recorded.filter(activity=activity)
    if programme is not None:
        recorded = recorded.filter(activity__programme=programme)
    if start:
        recorded = recorded.filter(Q(activity__ends_on__isnull=True) | Q(activity__ends_on__gte=start.date()))
    if end:
        recorded = recorded.filter(Q(activity__starts_on__isnull=True) | Q(activity__starts_on__lt=end.date()))
    return recorded


def _reachable_ids(*codes: str) -> QuerySet[ConsentState]:
    """Ids of people reachable for any of these purposes (as ``contacts_reachable_for``: granted, not
    suppressed), read from the state rows alone: one range of consent_state_reach_idx per purpose and
    one IN for them all. (An OR of ``pk IN contacts_reachable_for(...)``, each joining the contacts
    again, read 1,000,000 contacts once per purpose.)"""
    return ConsentState.objects.order_by().filter(
        purpose_id__in=Purpose.objects.order_by().filter(code__in=codes).values("pk"),
        status=ConsentState.Status.GRANTED, suppressed=False).values("contact_id")


def representation(*, population: str = "reachable", start=None, end=None, event_ids=None, activity=None,
                   programme=None) -> list[Table]:
    counted = people(population=population, start=start, end=end, event_ids=event_ids, activity=activity,
                     programme=programme)
    baseline = report_baseline()
    raw = _raw_counts(counted)
    return [_table(name, raw[name], baseline) for name in CHARACTERISTICS]


def _table(name: str, raw: dict[str, int], baseline: dict) -> Table:
    label, profile_field, baseline_name = CHARACTERISTICS[name]
    labels = _labels(name, profile_field)
    grouped: dict[str, int] = {}
    unanswered = 0
    for value, count in raw.items():
        if not value or value == EqualityProfile.PREFER_NOT[0]:
            unanswered += count
            continue
        category = _roll_up(name, value, labels)
        grouped[category] = grouped.get(category, 0) + count
    population_shares = _population_shares(baseline.get(baseline_name)) if baseline_name else {}
    categories = list(population_shares) or sorted(grouped)
    categories += [c for c in sorted(grouped) if c not in categories]
    answered = sum(grouped.values())
    cells = [Cell(category=c, count=grouped.get(c, 0), share=(grouped.get(c, 0) / answered) if answered else None,
                  population_share=population_shares.get(c)) for c in categories]
    table = Table(characteristic=name, label=label, cells=cells, total=answered + unanswered,
                  not_answered=Cell(category=NOT_ANSWERED, count=unanswered))
    _suppress(table)
    return table


def _raw_counts(counted: QuerySet[Contact]) -> dict[str, dict[str, int]]:
    """{characteristic: {stored answer ("" for none): people}} for every table, from ONE grouped query.

    The chosen people are read once, grouped by locality and all five answers together (their
    profile joined on: a few thousand combinations), and the combinations are added up here per
    characteristic. Reading the people is what costs over 1,000,000 contacts; the eleven queries this
    replaced (one per characteristic and a count for each) read them eleven times. People without a
    profile come back with blank answers: not answered.
    """
    fields = {name: spec[1] for name, spec in CHARACTERISTICS.items() if spec[1] is not None}
    columns = ["locality_id", *(f"equality_profile__{f}" for f in fields.values())]
    raw: dict[str, dict[str, int]] = {name: {} for name in CHARACTERISTICS}
    grouped = counted.values(*columns).annotate(n=Count("pk")).values_list(*columns, "n")
    # PostgreSQL's default 4 MB work_mem sorted and hashed a million people in temp files: 3.4 s -> 2.6 s at 1M.
    with large_read(work_mem="64MB"):
        rows = list(grouped)
    for locality_id, *answers, n in rows:
        key = str(locality_id or "")
        raw["locality"][key] = raw["locality"].get(key, 0) + n
        for name, answer in zip(fields, answers, strict=True):
            answer = answer or ""  # NULL: no profile at all
            raw[name][answer] = raw[name].get(answer, 0) + n
    return raw


def _labels(name: str, profile_field: str | None) -> dict[str, str]:
    if profile_field is None:
        return {str(pk): n for pk, n in Locality.objects.values_list("pk", "name")}
    return {k: str(v) for k, v in EqualityProfile._meta.get_field(profile_field).choices}


def _roll_up(name: str, value: str, labels: dict[str, str]) -> str:
    if name == "age":
        return AGE_ROLL_UP.get(value, value)
    if name == "sex":
        return labels.get(value, value)
    if name == "ethnic_group":
        for prefix, group in ETHNIC_PREFIX.items():
            if value.startswith(prefix):
                return group
        return ETHNIC_ROLL_UP.get(value, labels.get(value, value))
    if name == "religion":
        return RELIGION_ROLL_UP.get(value, labels.get(value, value))
    return labels.get(value, value)


def _population_shares(counts: dict[str, int] | None) -> dict[str, float]:
    if not counts:
        return {}
    rolled: dict[str, int] = {}
    for category, residents in counts.items():
        if category == "Not stated":
            continue  # compared with those who answered, on both sides
        key = BASELINE_AGE_ROLL_UP.get(category, category)
        rolled[key] = rolled.get(key, 0) + residents
    total = sum(rolled.values())
    return {k: v / total for k, v in rolled.items()} if total else {}


def _suppress(table: Table) -> None:
    """Primary: hide 1..4. Secondary: never leave exactly one hidden cell among the parts of the total."""
    parts = [*table.cells, table.not_answered]
    for cell in parts:
        cell.hidden = 0 < cell.count < SMALL
    hidden = [c for c in parts if c.hidden]
    table.total_hidden = 0 < table.total < SMALL
    if len(hidden) == 1:
        candidates = sorted((c for c in parts if not c.hidden and c.count > 0), key=lambda c: c.count)
        if candidates:
            candidates[0].hidden = True
        else:
            table.total_hidden = True  # the one hidden cell is the whole total
    for cell in parts:
        if cell.hidden:
            cell.share = None


def as_csv_rows(tables: list[Table]):
    """The report as CSV rows, with exactly the page's suppression."""
    yield ["Characteristic", "Group", "People", "Share of those who answered", "Population share", "Ratio",
           "Under-represented"]
    for table in tables:
        for cell in [*table.cells, table.not_answered]:
            yield [
                table.label, cell.category, cell.shown,
                "" if cell.share is None else f"{cell.share:.1%}",
                "" if cell.population_share is None else f"{cell.population_share:.1%}",
                "" if cell.ratio is None else f"{cell.ratio:.2f}",
                "Yes" if cell.under_represented else "",
            ]
