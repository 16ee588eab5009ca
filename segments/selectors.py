"""Reads about segments: who matches, how many, a sample. Protected rules are checked and audited here too,
because counting or previewing on a protected characteristic is itself a use of special-category data."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from consent.models import Purpose
from crm.audit import Actor
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
    """The three numbers the rule builder shows, from one pass over the matching people."""
    matching = contacts_in_segment(rules=rules, actor=actor, use="count", segment=segment)
    counts = matching.aggregate(
        matching=Count("pk"),
        events=Count("pk", filter=reachable(Purpose.Code.EVENTS)),
        bulletin=Count("pk", filter=reachable(Purpose.Code.BULLETIN)),
    )
    return SegmentCount(matching=counts["matching"], reachable_for_events=counts["events"],
                        reachable_for_bulletin=counts["bulletin"])


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
