"""Turning claimed rows into OutgoingMessages: one rendering per distinct set of matching items,
then per-recipient links and headers filled in."""

import threading
from collections import OrderedDict

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.urls import reverse

from bulletins.channels.base import OutgoingMessage, message_id_domain
from bulletins.models import Bulletin
from bulletins.rendering import (
    RenderedVariant,
    render_variant,
    rsvp_url_for,
    unsubscribe_url_for,
    web_version_url,
)
from consent.tokens import personal_link_tokens
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


def with_plain_text_flag(contacts):
    """Annotate ``plain_text_only``: the person asked for plain-text email (a communication need)."""
    need = CommunicationNeed.objects.filter(contact=OuterRef("pk"), need=CommunicationNeed.Need.PLAIN_TEXT_EMAIL)
    return contacts.annotate(plain_text_only=Exists(need))


_SLOT = "TOKEN-SLOT"


class PersonalLinks:
    """Per-recipient links for one batch: the same URLs as ``rendering.merge_values_for`` (a test holds
    them equal), with the URL patterns reversed once per batch instead of four times per person."""

    def __init__(self, bulletin: Bulletin):
        site = settings.SITE_URL
        # Invitations and feedback: links of their own kind (other purposes, the RSVP link), built per person.
        self.bulletin = bulletin if bulletin.kind != Bulletin.Kind.BULLETIN else None
        self.unsubscribe = (site + reverse("consent:unsubscribe", args=[_SLOT])).split(_SLOT)
        self.preferences = (site + reverse("consent:preferences", args=[_SLOT])).split(_SLOT)
        self.comment = (site + reverse("bulletins:web_version_comment", args=[bulletin.public_id, _SLOT])).split(_SLOT)
        self.web_version = web_version_url(bulletin)

    def for_contact(self, contact: Contact) -> dict[str, str]:
        make = personal_link_tokens.make_token
        links = {
            "unsubscribe_url": make(contact, "unsubscribe").join(self.unsubscribe),
            "preferences_url": make(contact, "preferences").join(self.preferences),
            "web_version_url": self.web_version,
            "comment_url": make(contact, "comment").join(self.comment),
        }
        if self.bulletin is not None:
            links["unsubscribe_url"] = unsubscribe_url_for(self.bulletin, contact)
            if self.bulletin.kind == Bulletin.Kind.EVENT_INVITATION:
                links["rsvp_url"] = rsvp_url_for(self.bulletin, contact)
        return links


def build_message(*, links: PersonalLinks, delivery_id: int, bulletin: Bulletin, contact: Contact,
                  matching: frozenset[int], plain_text_only: bool) -> OutgoingMessage:
    merge = links.for_contact(contact)
    return OutgoingMessage(
        delivery_id=delivery_id,
        to=safe_header(contact.email),
        variant=variant_for(bulletin, matching),
        merge=merge,
        plain_text_only=plain_text_only,
        headers=list_headers(merge["unsubscribe_url"]),
    )
