"""Contact search for staff: filters, and keyset ("seek") pagination that stays fast at a million rows.

Why keyset and not OFFSET: ``OFFSET 500000`` makes the database walk and throw away half a million
rows; ``WHERE id < :last_seen ORDER BY id DESC LIMIT 51`` costs the same on every page. For the same
reason nothing here runs ``COUNT(*)`` over the whole table: callers get "there are more" (one extra
row fetched) and, if they want a figure, ``capped_count`` stops counting at a ceiling.

Each filter can be answered two ways: tested row by row while walking the primary key newest
first (fast when many contacts match: the walk stops after one page), or fetched from its own
index and sorted (fast when few match). A capped count on the index, a millisecond or so, picks
the way per search; the database's own planner guesses badly here without help. For the same
reason a page's ids are chosen before anything is joined for display (``page_queryset``).
"""

from dataclasses import dataclass, fields
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from consent.models import ConsentState, Purpose
from crm.models import CommunicationNeed, Contact
from crm.normalise import normalise_email

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
COUNT_CAP = 1000
NO_STATE = "none"  # purpose state filter: never asked for this purpose (no state row)
PURPOSE_STATES = (*ConsentState.Status.values, NO_STATE)


@dataclass(frozen=True)
class ContactFilters:
    """What staff asked for. Empty strings mean "any". Values are already validated by the form/schema."""

    name: str = ""
    name_match: str = "contains"  # "contains" | "prefix" (start of the whole name: can use an index)
    email: str = ""
    postcode: str = ""
    locality: int | None = None
    topic: int | None = None
    purpose: str = ""
    purpose_state: str = ""
    kind: str = ""
    organisation: int | None = None
    need: str = ""

    def is_empty(self) -> bool:
        defaults = ContactFilters()
        return all(getattr(self, f.name) == getattr(defaults, f.name) for f in fields(self) if f.name != "name_match")


# A filter whose matches number fewer than this is answered from its index and the few rows
# sorted; a broader one is answered by walking contacts newest first until a page is full. At a
# million contacts the two costs cross over at a few thousand matches (benchmarks/contact_search_bench.py).
DRIVING_LIMIT = 5000
# Expression index a name prefix is driven from (crm migration 0004). Without it (SQLite loses it
# if Django ever rebuilds crm_contact) names are only ever scanned: still right, slower.
NAME_INDEX = "contact_name_lower_idx"


@dataclass(frozen=True)
class _Condition:
    """One filter in two equivalent forms.

    ``scan`` tests each contact while the query walks the primary key newest first: cheap when
    many match, because the walk stops after one page. ``driver`` fetches the matching contacts
    from an index and sorts them: cheap when few match. ``probe`` counts (up to DRIVING_LIMIT)
    how many match, from the index alone, to choose between them.
    """

    scan: Q
    driver: Q | None = None
    probe: QuerySet | None = None


def _base() -> QuerySet[Contact]:
    return Contact.objects.alias(name_lower=Lower("name"))


def _prefix_condition(column: str, prefix: str, *, scan: Q | None = None, indexed: bool = True) -> _Condition:
    """``column`` starts with ``prefix``. The driver is a half-open range, which a B-tree index can
    answer (LIKE 'x%' cannot on SQLite, nor on PostgreSQL outside the C locale); it keeps the
    LIKE too, so the result is exact whatever the collation does at the range's edges.
    """
    like = Q(**{f"{column}__startswith": prefix})
    if not indexed:
        return _Condition(scan=scan or like)
    span = {f"{column}__gte": prefix, f"{column}__lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)}
    # Ordered by the column so the planner reads the index (and stops at the limit) rather than
    # guessing that a scan of the table is cheaper.
    probe = _base().filter(**span).order_by(column).values("pk")
    return _Condition(scan=scan or like, driver=Q(**span) & like, probe=probe)


def _related_condition(related: QuerySet) -> _Condition:
    """Contacts with a matching row in ``related`` (a table with a ``contact_id`` column)."""
    ids = related.values("contact_id")
    return _Condition(scan=Q(Exists(related.filter(contact_id=OuterRef("pk")))), driver=Q(pk__in=ids), probe=ids)


def _exact_email(raw: str) -> str | None:
    if "@" not in raw:
        return None
    try:
        return normalise_email(raw)
    except ValidationError:
        return None  # a partial address like "ann@exa": searched as a prefix


def _postcode_prefix(raw: str) -> str:
    compact = "".join(raw.upper().split())
    # A whole postcode typed without its space ("L203NJ") is stored as "L20 3NJ".
    if len(compact) >= 5 and compact[-3].isdigit():
        return f"{compact[:-3]} {compact[-3:]}"
    return " ".join(raw.upper().split())


@lru_cache(maxsize=8)
def _has_index(alias: str, table: str, name: str) -> bool:
    with connections[alias].cursor() as cursor:
        return name in connections[alias].introspection.get_constraints(cursor, table)


def _conditions(filters: ContactFilters) -> list[_Condition]:
    conditions = []
    name = filters.name.strip().lower()
    # Scans test the column itself (case-insensitively), not LOWER(name): given the expression
    # index, SQLite would otherwise walk that whole index and sort, instead of stopping early.
    if name and filters.name_match == "prefix":
        indexed = _has_index(DEFAULT_DB_ALIAS, Contact._meta.db_table, NAME_INDEX)
        conditions.append(_prefix_condition("name_lower", name, scan=Q(name__istartswith=name), indexed=indexed))
    elif name:
        conditions.append(_Condition(scan=Q(name__icontains=name)))
    if filters.email.strip():
        exact = _exact_email(filters.email.strip())
        conditions.append(_Condition(scan=Q(email_normalised=exact)) if exact
                          else _prefix_condition("email_normalised", filters.email.strip().lower()))
    if filters.postcode.strip():
        conditions.append(_prefix_condition("postcode", _postcode_prefix(filters.postcode)))
    # Locality, kind and organisation have (column, id) indexes: already in page order.
    for field in ("locality", "kind", "organisation"):
        value = getattr(filters, field)
        if value:
            conditions.append(_Condition(scan=Q(**{f"{field}_id" if field != "kind" else field: value})))
    if filters.topic:
        conditions.append(_related_condition(Contact.topics.through.objects.filter(topic_id=filters.topic)))
    if filters.need:
        conditions.append(_related_condition(CommunicationNeed.objects.filter(need=filters.need)))
    if filters.purpose and filters.purpose_state:
        purpose_id = Purpose.objects.filter(code=filters.purpose).values_list("pk", flat=True).first()
        states = ConsentState.objects.filter(purpose_id=purpose_id)
        if filters.purpose_state == NO_STATE:
            conditions.append(_Condition(scan=~Q(Exists(states.filter(contact_id=OuterRef("pk"))))))
        else:
            conditions.append(_related_condition(states.filter(status=filters.purpose_state)))
    return conditions


def _most_selective(conditions: list[_Condition]) -> _Condition | None:
    best, fewest = None, DRIVING_LIMIT
    for condition in conditions:
        if condition.probe is not None:
            found = condition.probe[:DRIVING_LIMIT].count()
            if found < fewest:
                best, fewest = condition, found
    return best


def filtered_contacts(filters: ContactFilters) -> QuerySet[Contact]:
    """All contacts matching ``filters`` (unordered; pagination adds the order).

    The most selective filter with an index, if it matches few enough, drives the query; every
    other filter is tested row by row.
    """
    conditions = _conditions(filters)
    driver = _most_selective(conditions)
    qs = _base()
    for condition in conditions:
        qs = qs.filter(condition.driver if condition is driver else condition.scan)
    return qs


@dataclass(frozen=True)
class Page:
    rows: list
    next_after: int | None  # pass as ?after= for the next (older) page
    prev_before: int | None  # pass as ?before= for the previous (newer) page

    @property
    def has_more(self) -> bool:
        return self.next_after is not None


def page_queryset(qs: QuerySet, *, after: int | None = None, before: int | None = None, size: int = PAGE_SIZE,
                  rows_from: QuerySet | None = None) -> QuerySet:
    """The query ``keyset_page`` runs: ``size`` + 1 rows of ``qs`` seeking from ``after`` (newest
    first) or ``before`` (oldest first).

    ``rows_from``: when given, ``qs`` only picks the page's ids (its filters, the order, the limit)
    and the rows, with whatever ``rows_from`` joins for display, are read for those ids alone, in
    the same statement. Joins made before the limit cost as many rows as the filters match, and a
    planner that misjudges the filters may choose them badly: PostgreSQL estimated a name prefix's
    range and LIKE (it multiplies the two) at one row, not 2,982, and joined each match to a full
    read of the organisations before sorting: 30 ms a page instead of 9 at a million contacts.
    """
    size = max(1, min(size, MAX_PAGE_SIZE))
    if before is not None:
        window = qs.filter(pk__gt=before).order_by("pk")[: size + 1]
    else:
        window = (qs if after is None else qs.filter(pk__lt=after)).order_by("-pk")[: size + 1]
    if rows_from is None:
        return window
    return rows_from.filter(pk__in=window.values("pk")).order_by(*window.query.order_by)


def keyset_page(qs: QuerySet, *, after: int | None = None, before: int | None = None,
                size: int = PAGE_SIZE, rows_from: QuerySet | None = None) -> Page:
    """One page of ``qs`` in id-descending order, seeking from a known id rather than an offset.

    ``after``: rows older than this id (the "next" link). ``before``: rows newer than this id
    (the "previous" link), fetched ascending and turned round. ``rows_from``: see ``page_queryset``.
    """
    size = max(1, min(size, MAX_PAGE_SIZE))
    rows = list(page_queryset(qs, after=after, before=before, size=size, rows_from=rows_from))
    if before is not None:
        newer_exist = len(rows) > size
        rows = rows[:size][::-1]
        return Page(rows=rows, next_after=rows[-1].pk if rows else None,
                    prev_before=rows[0].pk if rows and newer_exist else None)
    older_exist = len(rows) > size
    rows = rows[:size]
    return Page(rows=rows, next_after=rows[-1].pk if rows and older_exist else None,
                prev_before=rows[0].pk if rows and after is not None else None)


def _with_related() -> QuerySet[Contact]:
    return Contact.objects.select_related("locality", "organisation")  # what the result lists show


def search_queryset(filters: ContactFilters, *, after: int | None = None, before: int | None = None,
                    size: int = PAGE_SIZE) -> QuerySet[Contact]:
    """The query ``search_contacts`` runs (for EXPLAIN in benchmarks/contact_search_bench.py)."""
    return page_queryset(filtered_contacts(filters), after=after, before=before, size=size, rows_from=_with_related())


def search_contacts(filters: ContactFilters, *, after: int | None = None, before: int | None = None,
                    size: int = PAGE_SIZE) -> Page:
    return keyset_page(filtered_contacts(filters), after=after, before=before, size=size, rows_from=_with_related())


def count_queryset(filters: ContactFilters, cap: int = COUNT_CAP) -> QuerySet:
    """The ids ``capped_count`` counts: at most ``cap`` + 1 of them."""
    # Newest first, as the page reads them: unordered, SQLite may walk some other index and probe
    # the filters' tables in random order, several times slower.
    return filtered_contacts(filters).order_by("-pk").values("pk")[: cap + 1]


def capped_count(filters: ContactFilters, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, capped): stop counting at ``cap`` so a broad filter never scans the whole table."""
    # COUNT(*) over a LIMITed subquery: the database stops after cap + 1 matches.
    n = count_queryset(filters, cap).count()
    return min(n, cap), n > cap
