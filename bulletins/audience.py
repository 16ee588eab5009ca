"""Who a bulletin goes to, and which of its items match each person's topics.

One definition, used both for the count shown before approval and by the fan-out at send time
(bulletins.sending), so the number staff approve is the number of rows the send creates.

- Reachable for the kind's purposes (``Bulletin.purposes``: ``bulletin`` for a bulletin, ``events``
  for an event invitation, ``events`` or ``involvement`` for activity feedback), not suppressed.
- A bulletin with a topics audience: interested in any item's topic.
- Narrowed by a saved segment when one is chosen (an invitation always has one): while a draft, by
  the segment's current rules; once approved, by the copy of the rules taken at approval
  (``Bulletin.segment_rules``), so an edit to the segment afterwards cannot change who it goes to.
  Protected-characteristic rules go through ``segments.selectors.contacts_in_segment``, which refuses
  them to staff without the equality permission and audits every use.
Every step is a subquery: the result is one SQL statement, usable inside the fan-out's INSERT … SELECT.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from bulletins.models import Bulletin
from consent.selectors import contacts_reachable_for
from crm.audit import Actor
from crm.models import Contact
from segments.activities import participants
from segments.selectors import contacts_in_segment

PURPOSE = "bulletin"


def item_topic_ids(bulletin: Bulletin) -> set[int]:
    return set(bulletin.items.values_list("topic_id", flat=True))


def reachable_for_any(purposes: Iterable[str]) -> QuerySet[Contact]:
    """Reachable for at least one of ``purposes`` (one query; one purpose keeps the fast count)."""
    purposes = tuple(purposes)
    if len(purposes) == 1:
        return contacts_reachable_for(purpose=purposes[0])
    condition = Q()
    for purpose in purposes:
        condition |= Q(pk__in=contacts_reachable_for(purpose=purpose).values("pk"))
    return Contact.objects.order_by().filter(condition)


def segment_rules_in_effect(bulletin: Bulletin):
    """The rules that narrow the audience: the approved copy if there is one, else the segment's own."""
    if bulletin.segment_rules is not None:
        return bulletin.segment_rules
    return bulletin.segment.rules if bulletin.segment_id else None


def segment_actor(bulletin: Bulletin) -> Actor:
    """Whose authority a send without a person at the keyboard (a schedule) uses for the segment: the
    approver's, who read the audience and approved it (and, for protected rules, had the permission)."""
    user = bulletin.approved_by or bulletin.created_by
    return Actor.staff(user)


def audience_for(*, bulletin: Bulletin, actor: Actor | None = None, use: str = "bulletin audience") -> QuerySet[Contact]:
    """Everyone this bulletin goes to if sent now (see the module docstring)."""
    people = reachable_for_any(bulletin.purposes)
    if bulletin.kind == Bulletin.Kind.BULLETIN and bulletin.audience == Bulletin.Audience.TOPICS:
        interested = Contact.topics.through.objects.filter(
            contact_id=OuterRef("pk"), topic_id__in=bulletin.items.values("topic_id"))
        people = people.filter(Exists(interested))
    if bulletin.kind == Bulletin.Kind.ACTIVITY_FEEDBACK:
        people = people.filter(pk__in=participants(bulletin.activity).values("pk"))
    rules = segment_rules_in_effect(bulletin)
    if rules is not None:
        in_segment = contacts_in_segment(rules=rules, actor=actor or segment_actor(bulletin), use=use,
                                         segment=bulletin.segment)
        people = people.filter(pk__in=in_segment.values("pk"))
    return people


def audience_count(*, bulletin: Bulletin, actor: Actor | None = None) -> int:
    return audience_for(bulletin=bulletin, actor=actor, use="bulletin count").count()


def describe_audience(bulletin: Bulletin) -> str:
    """Who it goes to, as a sentence for staff pages (count, approval, progress, report)."""
    if bulletin.kind == Bulletin.Kind.EVENT_INVITATION:
        base = "People who agreed to hear about events"
    elif bulletin.kind == Bulletin.Kind.ACTIVITY_FEEDBACK:
        base = f"People who took part in “{bulletin.activity.title}” and agreed to hear about events or involvement"
    elif bulletin.audience == Bulletin.Audience.EVERYONE:
        base = "Everyone who receives bulletins"
    else:
        base = "People who receive bulletins and are interested in an item's topic"
    if bulletin.segment_id:
        base += f", in the segment “{bulletin.segment.name}”"
        if bulletin.segment_rules is not None:
            base += " (its rules as they were when it was approved)"
    return base


def matching_item_ids(*, bulletin: Bulletin, contact_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """contact id → ids of the bulletin's items on that person's topics (one query for the batch).

    Contacts with no matching item are absent; read a missing key as ``frozenset()``.
    """
    items_by_topic = defaultdict(set)
    for item_id, topic_id in bulletin.items.values_list("id", "topic_id"):
        items_by_topic[topic_id].add(item_id)
    if not items_by_topic:
        return {}
    matches = defaultdict(set)
    links = Contact.topics.through.objects.filter(contact_id__in=list(contact_ids), topic_id__in=items_by_topic)
    for contact_id, topic_id in links.values_list("contact_id", "topic_id"):
        matches[contact_id] |= items_by_topic[topic_id]
    return {contact_id: frozenset(ids) for contact_id, ids in matches.items()}
