"""Reads about segments: who matches, how many, a sample. Protected rules are checked and audited here too,
because counting or previewing on a protected characteristic is itself a use of special-category data."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from consent.models import Purpose
from consent.selectors import reachable_states
from crm.audit import Actor
from crm.bulk_sql import large_read
from crm.models import Contact
from segments import services
from segments.compiler import contacts_matching, reachable
from segments.models import Segment
from segments.rules import RuleSet, parse_rules

PREVIEW_SIZE = 20


def segment_rules(segment: Segment) -> RuleSet:
    return parse_rules(segment.rules)


def contacts_in_segment(*, rules, actor: Actor, use: str, segment: Segment | None = None,
                        reachable_for: str | None = None) -> QuerySet[Contact]:
    """The contacts the rules select (optionally only those reachable for a purpose), as one query.

    Refuses protected-characteristic rules to staff without the equality permission, and audits
    their use. Usable as a subquery: ``.values("pk")``.
    """
    parsed = parse_rules(rules)
    fields = services.check_equality_use(actor=actor, rules=parsed)
    queryset = contacts_matching(parsed)
    if reachable_for:
        queryset = queryset.filter(reachable(reachable_for))
    services.record_equality_use(actor=actor, fields=fields, use=use, segment=segment)
    return queryset


@dataclass(frozen=True)
class SegmentCount:
    matching: int
    reachable_for_events: int
    reachable_for_bulletin: int


def count_segment(*, rules, actor: Actor, segment: Segment | None = None) -> SegmentCount:
    """The three numbers the rule builder shows, from one pass over the matching people.

    Each purpose's reachable state rows are LEFT JOINed to the matching people (a contact has at most
    one state row per purpose, so a join never repeats anyone) and counted where present. As two
    correlated EXISTS, PostgreSQL probed the index twice per matching person: 1.0 s for one locality
    of 250,000 people at a million contacts, against 0.35 s joined (in ``large_read``: JIT compiling
    took 0.4 s of a 1.0 s count).
    """
    matching = contacts_in_segment(rules=rules, actor=actor, use="count", segment=segment)
    matching_sql, matching_params = matching.order_by().values("pk").query.sql_with_params()
    joins, params = [], list(matching_params)
    for alias, purpose in (("events", Purpose.Code.EVENTS), ("bulletin", Purpose.Code.BULLETIN)):
        states_sql, states_params = reachable_states(purpose=purpose).values("contact_id").query.sql_with_params()
        joins.append(f"LEFT JOIN ({states_sql}) {alias} ON {alias}.contact_id = matching.pk")
        params.extend(states_params)
    # Both parts are the ORM's own SQL with every value a parameter.
    sql = (f"SELECT COUNT(*), COUNT(events.contact_id), COUNT(bulletin.contact_id) "  # noqa: S608
           f"FROM ({matching_sql}) matching {' '.join(joins)}")
    with large_read(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        total, events, bulletin = cursor.fetchone()
    return SegmentCount(matching=total, reachable_for_events=events, reachable_for_bulletin=bulletin)


def preview_segment(*, rules, actor: Actor, segment: Segment | None = None, limit: int = PREVIEW_SIZE) -> list[Contact]:
    """A sample of matching people (newest first), for staff to check the rules do what they meant."""
    matching = contacts_in_segment(rules=rules, actor=actor, use="preview", segment=segment)
    return list(matching.select_related("locality", "organisation").order_by("-id")[:limit])


def segments_visible_to(user) -> QuerySet[Segment]:
    """Every segment; those built on protected characteristics only for staff with the equality permission."""
    queryset = Segment.objects.select_related("created_by", "updated_by")
    if not user.has_perm(services.EQUALITY_PERMISSION):
        queryset = queryset.filter(uses_equality=False)
    return queryset
