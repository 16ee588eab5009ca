"""A bulletin as an email: HTML built for mail clients (tables, inlined CSS) and a plain-text part.

``render_variant`` renders once per distinct set of matching items and holds no personal data:
per-recipient links are markers (``[[unsubscribe_url]]`` ...) that ``personalise`` fills in for
each message. The sender caches variants by their matching set, so a send of 100,000 people with
five distinct topic mixes renders five times.
"""

import re
from dataclasses import dataclass

import css_inline
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

from bulletins.models import Bulletin, Item
from bulletins.plaintext import html_to_text
from bulletins.sanitise import markdown_to_safe_html
from consent.tokens import personal_link_tokens, unsubscribe_link_purpose
from crm.organisation import current as current_organisation
from segments.models import Invitation
from segments.rsvp import rsvp_tokens

MARKERS = ("unsubscribe_url", "preferences_url", "web_version_url", "comment_url")
INVITATION_MARKERS = ("rsvp_url",)  # only an event invitation's copies carry (and fill) these
_MARKER = re.compile(r"\[\[([a-z_]+)\]\]")
# <style> rules move onto the elements (mail clients drop <style>); media queries stay in <head>.
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


@dataclass(frozen=True)
class RenderedVariant:
    subject: str
    preheader: str
    html: str
    text: str


@dataclass(frozen=True)
class RenderedItem:
    item: Item
    body_html: str
    body_text: str
    matches: bool

    @property
    def anchor(self) -> str:
        return f"item-{self.item.pk}"


def ordered_items(bulletin: Bulletin, matching_item_ids: frozenset[int]) -> list[Item]:
    """Every item; those in ``matching_item_ids`` first, position order within each group."""
    items = list(bulletin.items.select_related("topic").order_by("position"))
    return [i for i in items if i.pk in matching_item_ids] + [i for i in items if i.pk not in matching_item_ids]


def rendered_items(bulletin: Bulletin, matching_item_ids: frozenset[int] = frozenset()) -> list[RenderedItem]:
    rendered = []
    for item in ordered_items(bulletin, matching_item_ids):
        body_html = markdown_to_safe_html(item.body_markdown)
        rendered.append(RenderedItem(item=item, body_html=mark_safe(body_html),  # noqa: S308 - sanitised by nh3
                                     body_text=html_to_text(body_html), matches=item.pk in matching_item_ids))
    return rendered


def render_variant(*, bulletin: Bulletin, matching_item_ids: frozenset[int] = frozenset()) -> RenderedVariant:
    items = rendered_items(bulletin, frozenset(matching_item_ids))
    introduction_html = markdown_to_safe_html(bulletin.introduction)
    context = {
        "bulletin": bulletin,
        "items": items,
        "any_match": any(i.matches for i in items),
        "introduction_html": mark_safe(introduction_html),  # noqa: S308 - sanitised by nh3
        "introduction_text": html_to_text(introduction_html),
        "comments_open": any(i.item.comments_enabled for i in items),
        "organisation": current_organisation().name,  # from the organisation file (crm/organisation.py)
        "site_url": settings.SITE_URL,
        "event": bulletin.event if bulletin.kind == Bulletin.Kind.EVENT_INVITATION else None,
        "event_url": event_page_url(bulletin),
        "rsvp_answers": RSVP_ANSWERS,
        **{name: f"[[{name}]]" for name in (*MARKERS, *INVITATION_MARKERS)},
    }
    html = _INLINER.inline(render_to_string("bulletins/email/bulletin.html", context))
    text = render_to_string("bulletins/email/bulletin.txt", context)
    return RenderedVariant(subject=bulletin.subject, preheader=bulletin.preheader, html=html, text=text)


def personalise(text_or_html: str, merge: dict[str, str], *, html: bool = False) -> str:
    """Fill the ``[[marker]]`` slots from ``merge`` (values HTML-escaped when ``html``).

    A marker with no value is left as it is, so a missing link shows in tests instead of vanishing.
    """
    def value(match):
        name = match.group(1)
        if name not in merge:
            return match.group(0)
        return escape(merge[name]) if html else merge[name]

    return _MARKER.sub(value, text_or_html)


def web_version_url(bulletin: Bulletin) -> str:
    return settings.SITE_URL + reverse("bulletins:web_version", args=[bulletin.public_id])


# The answer links in an invitation open the RSVP page with that answer chosen; only the page's
# button records it (mail scanners follow links).
RSVP_ANSWERS = (("yes", "Yes, I will come"), ("maybe", "Maybe"), ("no", "No, I cannot come"))


def event_page_url(bulletin: Bulletin) -> str:
    if bulletin.kind != Bulletin.Kind.EVENT_INVITATION:
        return ""
    return settings.SITE_URL + reverse("segments:public_event", args=[bulletin.event.public_id])


def unsubscribe_url_for(bulletin: Bulletin, contact) -> str:
    """One-click unsubscribe that withdraws the purposes this kind of email is sent under."""
    link_purpose = unsubscribe_link_purpose(bulletin.purposes)
    token = personal_link_tokens.make_token(contact, link_purpose)
    if link_purpose == "unsubscribe":
        return settings.SITE_URL + reverse("consent:unsubscribe", args=[token])
    scope = link_purpose.removeprefix("unsubscribe-")
    return settings.SITE_URL + reverse("consent:unsubscribe_from", args=[scope, token])


def rsvp_url_for(bulletin: Bulletin, contact) -> str:
    """The person's signed RSVP link (their Invitation row is made at fan-out; the token needs only the pair)."""
    token = rsvp_tokens.make_token(Invitation(contact=contact, event=bulletin.event))
    return settings.SITE_URL + reverse("segments:rsvp", args=[token])


def merge_values_for(*, bulletin: Bulletin, contact) -> dict[str, str]:
    """The real per-recipient links for one person's copy (signed, purpose-bound tokens)."""
    make = personal_link_tokens.make_token
    values = {
        "unsubscribe_url": unsubscribe_url_for(bulletin, contact),
        "preferences_url": settings.SITE_URL + reverse("consent:preferences", args=[make(contact, "preferences")]),
        "web_version_url": web_version_url(bulletin),
        "comment_url": settings.SITE_URL + reverse(
            "bulletins:web_version_comment", args=[bulletin.public_id, make(contact, "comment")]),
    }
    if bulletin.kind == Bulletin.Kind.EVENT_INVITATION:
        values["rsvp_url"] = rsvp_url_for(bulletin, contact)
    return values


def preview_merge_values(bulletin: Bulletin) -> dict[str, str]:
    """Links for previews and test sends: they lead to public pages and act for nobody."""
    return {
        "unsubscribe_url": settings.SITE_URL + reverse("consent:preferences_request"),
        "preferences_url": settings.SITE_URL + reverse("consent:preferences_request"),
        "web_version_url": web_version_url(bulletin),
        "comment_url": web_version_url(bulletin),
        "rsvp_url": event_page_url(bulletin) or web_version_url(bulletin),
    }
