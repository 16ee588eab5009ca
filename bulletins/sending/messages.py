"""Turning claimed rows into OutgoingMessages: one rendering per distinct set of matching items,
then per-recipient links and headers filled in."""

import threading
from collections import OrderedDict

from django.conf import settings

from bulletins.channels.base import OutgoingMessage, message_id_domain
from bulletins.models import Bulletin
from bulletins.rendering import RenderedVariant, merge_values_for, render_variant
from crm.models import CommunicationNeed, Contact

_VARIANTS: OrderedDict = OrderedDict()
_VARIANTS_LOCK = threading.Lock()
_VARIANTS_KEPT = 64


class UnsafeHeader(ValueError):
    pass


def variant_for(bulletin: Bulletin, matching: frozenset[int]) -> RenderedVariant:
    """Rendered once per (bulletin version, matching set) in this process, whatever the number of batches."""
    key = (bulletin.pk, bulletin.version, matching)
    with _VARIANTS_LOCK:
        if key in _VARIANTS:
            _VARIANTS.move_to_end(key)
            return _VARIANTS[key]
    variant = render_variant(bulletin=bulletin, matching_item_ids=matching)
    with _VARIANTS_LOCK:
        _VARIANTS[key] = variant
        while len(_VARIANTS) > _VARIANTS_KEPT:
            _VARIANTS.popitem(last=False)
    return variant


def unsubscribe_mailto() -> str:
    return settings.BULLETIN_UNSUBSCRIBE_MAILTO or f"unsubscribe@{message_id_domain()}"


def safe_header(value: str) -> str:
    """Header values built from anything a person typed must not carry a line break (header injection)."""
    if "\r" in value or "\n" in value:
        raise UnsafeHeader("A header value contains a line break")
    return value


def list_headers(unsubscribe_url: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058: one-click https unsubscribe first, mailto as the fallback."""
    return {
        "List-Unsubscribe": safe_header(f"<{unsubscribe_url}>, <mailto:{unsubscribe_mailto()}?subject=unsubscribe>"),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def plain_text_only_ids(contact_ids: list[int]) -> set[int]:
    return set(
        CommunicationNeed.objects.filter(contact_id__in=contact_ids, need=CommunicationNeed.Need.PLAIN_TEXT_EMAIL)
        .values_list("contact_id", flat=True)
    )


def build_message(*, bulletin: Bulletin, delivery_id: int, contact: Contact, matching: frozenset[int],
                  plain_text_only: bool) -> OutgoingMessage:
    merge = merge_values_for(bulletin=bulletin, contact=contact)
    return OutgoingMessage(
        delivery_id=delivery_id,
        to=safe_header(contact.email),
        variant=variant_for(bulletin, matching),
        merge=merge,
        plain_text_only=plain_text_only,
        headers=list_headers(merge["unsubscribe_url"]),
    )
