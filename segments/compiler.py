"""Segment rules to one SQL query over contacts: no per-contact Python anywhere.

Each condition becomes a correlated EXISTS (or NOT EXISTS, or a plain column test; a topic condition
drives the search with ``pk IN`` its links), so the whole segment is a single statement the database
plans as semi-joins, usable as a subquery by bulletins
and exports (``contacts_in_segment(...).values("pk")``). Values that name rows (localities,
topics, events, organisations) are resolved to ids first; a name that does not exist is an error,
never silently nothing.

A protected-characteristic condition only ever matches people who gave ``equality_targeting``
consent (and are reachable for it now), whatever group it sits in.
"""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, QuerySet

from consent.models import ConsentState, Purpose
from consent.selectors import reachable_states
from crm.models import CommunicationNeed, Contact, EqualityProfile, Locality, Organisation, Topic
from segments.models import Event, Invitation
from segments.rules import Condition, Group, RuleSet, RulesInvalid, conditions

LONDON = ZoneInfo("Europe/London")
TopicLink = Contact.topics.through


def contacts_matching(rules: RuleSet) -> QuerySet[Contact]:
    """Every contact the rules select (no consent filter of its own: callers add the purpose)."""
    _check_references(rules)
    return Contact.objects.order_by().filter(_group(rules))


def _group(group: Group) -> Q:
    parts = [_condition(r) if isinstance(r, Condition) else _group(r) for r in group.rules]
    if not parts:
        return Q()
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if group.match == "all" else combined | part
    return combined


def _in(rows, column: str = "contact_id") -> Q:
    """The contact has a row in ``rows``: a correlated EXISTS, probed through the rows' index on
    ``column`` for each contact the other conditions leave. (``pk IN (subquery)`` made SQLite build a
    temporary index of the whole subquery first: 700,000 ids for "reachable" at a million contacts.)"""
    return Q(Exists(rows.order_by().filter(**{column: OuterRef("pk")})))


def reachable(purpose: str) -> Q:
    """Reachable for ``purpose`` now, as ``contacts_reachable_for`` defines it (the same state rows)."""
    return _in(reachable_states(purpose=purpose))


def _condition(c: Condition) -> Q:
    build = _BUILDERS.get(c.field, _protected)  # every other field is a protected characteristic
    return build(c)


def _locality(c: Condition) -> Q:
    ids = list(Locality.objects.filter(slug__in=c.value).values_list("pk", flat=True))
    q = Q(locality_id__in=ids)
    return q if c.op == "in" else ~q


def _postcode_district(c: Condition) -> Q:
    q = Q()
    for code in c.value:  # "L20" matches "L20 3NJ", never "L2 0.." (the space ends the outward code)
        q |= Q(postcode__startswith=f"{code} ")
    return q if c.op == "in" else ~q


def _topics(c: Condition) -> Q:
    ids = list(Topic.objects.filter(slug__in=c.value).values_list("pk", flat=True))
    if c.op == "all":
        q = Q()
        # The first topic as ``pk IN``: the database walks that topic's links and looks each person up
        # (a topic is a small part of everyone); the other topics are probed for those people alone.
        for n, topic_id in enumerate(ids):
            links = TopicLink.objects.order_by().filter(topic_id=topic_id)
            q &= Q(pk__in=links.values("contact_id")) if n == 0 else _in(links)
        return q
    if c.op == "any":
        return Q(pk__in=TopicLink.objects.order_by().filter(topic_id__in=ids).values("contact_id"))
    return ~_in(TopicLink.objects.filter(topic_id__in=ids))  # "none"


def _kind(c: Condition) -> Q:
    q = Q(kind__in=c.value)
    return q if c.op == "in" else ~q


def _organisation(c: Condition) -> Q:
    q = Q(organisation_id__in=c.value)
    return q if c.op == "in" else ~q


def _organisation_kind(c: Condition) -> Q:
    q = Q(organisation__kind__in=c.value)
    return q if c.op == "in" else ~q


def _purpose(c: Condition) -> Q:
    if c.op in ("reachable", "not_reachable"):
        q = reachable(c.value)
        return q if c.op == "reachable" else ~q
    states = ConsentState.objects.filter(purpose__code=c.value)
    if c.op == "not_asked":
        return ~_in(states)
    return _in(states.filter(status=c.op))


def _signed_up(c: Condition) -> Q:
    day = datetime.fromisoformat(c.value).date()
    start = datetime.combine(day, time(0), tzinfo=LONDON)  # a day in the office's time, not UTC
    return Q(created_at__lt=start) if c.op == "before" else Q(created_at__gte=start)


def _communication_need(c: Condition) -> Q:
    q = _in(CommunicationNeed.objects.filter(need__in=c.value))
    return q if c.op == "any" else ~q


def _event(c: Condition) -> Q:
    invitations = Invitation.objects.filter(event_id__in=c.value)
    if c.op in ("invited", "not_invited"):
        q = _in(invitations.exclude(source=Invitation.Source.WALK_IN))
        return q if c.op == "invited" else ~q
    if c.op == "responded_yes":
        return _in(invitations.filter(response=Invitation.Response.YES))
    q = _in(invitations.filter(attended=True))
    return q if c.op == "attended" else ~q


def _protected(c: Condition) -> Q:
    """Only people who agreed to be invited because of a protected characteristic ever match."""
    targeting = reachable(Purpose.Code.EQUALITY_TARGETING)
    answered = EqualityProfile.objects.filter(**{f"{c.field}__in": c.value})
    if c.op == "in":
        return targeting & _in(answered)
    # not_in: people who answered this question with something else (a blank answer says nothing).
    others = EqualityProfile.objects.exclude(**{f"{c.field}__in": c.value}).exclude(**{c.field: ""})
    return targeting & _in(others)


_BUILDERS = {
    "locality": _locality, "postcode_district": _postcode_district, "topics": _topics, "kind": _kind,
    "organisation": _organisation, "organisation_kind": _organisation_kind, "purpose": _purpose,
    "signed_up": _signed_up, "communication_need": _communication_need, "event": _event,
}
_REFERENCES = {
    "locality": (Locality, "slug"), "topics": (Topic, "slug"), "event": (Event, "pk"),
    "organisation": (Organisation, "pk"),
}


def _check_references(rules: RuleSet) -> None:
    """Names that must exist now: an unknown locality or topic is an error, not an empty match."""
    errors = []
    for index, c in enumerate(conditions(rules)):
        if c.field not in _REFERENCES:
            continue
        model, key = _REFERENCES[c.field]
        found = set(model.objects.filter(**{f"{key}__in": c.value}).values_list(key, flat=True))
        missing = [v for v in c.value if v not in found]
        if missing:
            errors.append({"loc": ["condition", str(index + 1), "value"],
                           "msg": f"{c.field!r}: no such {model._meta.verbose_name}: {', '.join(map(str, missing))}"})
    if errors:
        raise RulesInvalid(errors)
