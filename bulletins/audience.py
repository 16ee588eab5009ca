"""Who a bulletin goes to, and which of its items match each person's topics.

One definition, used both for the count shown before approval and by the fan-out at send time
(bulletins.sending), so the number staff approve is the number of rows the send creates.
Segments (a sibling issue) are not wired in yet: when they land, ``audience_for`` narrows by one.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, QuerySet

from bulletins.models import Bulletin
from consent.selectors import contacts_reachable_for
from crm.models import Contact

PURPOSE = "bulletin"


def item_topic_ids(bulletin: Bulletin) -> set[int]:
    return set(bulletin.items.values_list("topic_id", flat=True))


def audience_for(*, bulletin: Bulletin) -> QuerySet[Contact]:
    """Reachable for ``bulletin`` now; for a topics audience, also interested in any item's topic."""
    reachable = contacts_reachable_for(purpose=PURPOSE)
    if bulletin.audience == Bulletin.Audience.EVERYONE:
        return reachable
    interested = Contact.topics.through.objects.filter(
        contact_id=OuterRef("pk"), topic_id__in=bulletin.items.values("topic_id")
    )
    return reachable.filter(Exists(interested))


def audience_count(*, bulletin: Bulletin) -> int:
    return audience_for(bulletin=bulletin).count()


def matching_item_ids(*, bulletin: Bulletin, contact_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """contact id → ids of the bulletin's items on that person's topics (one query for the batch).

    Contacts with no matching item are absent; read a missing key as ``frozenset()``.
    """
    items_by_topic = defaultdict(set)
    for item_id, topic_id in bulletin.items.values_list("id", "topic_id"):
        items_by_topic[topic_id].add(item_id)
    matches = defaultdict(set)
    links = Contact.topics.through.objects.filter(contact_id__in=list(contact_ids), topic_id__in=items_by_topic)
    for contact_id, topic_id in links.values_list("contact_id", "topic_id"):
        matches[contact_id] |= items_by_topic[topic_id]
    return {contact_id: frozenset(ids) for contact_id, ids in matches.items()}
