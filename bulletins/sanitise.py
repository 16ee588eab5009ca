"""Markdown written by staff → HTML safe to put in an email and on the public web version.

Two layers, so one mistake is not enough: markdown-it renders CommonMark with raw HTML turned off
(any ``<script>`` typed is shown as text), then nh3 (ammonia) keeps only a short list of tags and
attributes and only http, https and mailto links. An extra attribute filter re-checks every link
after undoing what browsers undo (entities, percent-encoding, case, whitespace and control
characters inside the scheme), so ``JaVa&#x53;cript:``, ``java\\tscript:`` and friends never survive.
"""

import html
import re
from urllib.parse import unquote

import nh3
from django.conf import settings
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "code", "pre", "hr",
    "h3", "h4", "h5", "h6", "img",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
URL_ATTRIBUTES = {"href", "src"}
# Item titles are h2 in the email (the subject is h1), so a body's "# Heading" becomes h3.
HEADING_OFFSET = 2

_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# What a browser ignores inside or before a scheme: C0 controls, space, DEL, and Unicode spaces.
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]")


def _shift_headings(state) -> None:
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_OFFSET)}"


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.core.ruler.push("shift_headings", _shift_headings)
    return md


_MD = _markdown()


def link_scheme(url: str) -> str | None:
    """The scheme a browser would see in ``url``, lower case (None for a relative URL)."""
    value = url
    for _ in range(3):  # entities and percent-escapes may be nested: undo until stable
        decoded = unquote(html.unescape(value))
        if decoded == value:
            break
        value = decoded
    match = _SCHEME.match(_IGNORED_IN_SCHEME.sub("", value).lower())
    return match.group(1) if match else None


def is_safe_url(url: str) -> bool:
    """True for http(s) and mailto links and for relative links; anything else is refused."""
    scheme = link_scheme(url)
    return scheme is None or scheme in ALLOWED_SCHEMES


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute in URL_ATTRIBUTES and not is_safe_url(value):
        return None
    return value


def clean_html(fragment: str) -> str:
    """nh3 with the bulletin allow-list; relative links are made absolute against the site."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=ALLOWED_SCHEMES,
        url_relative=("rewrite_with_base", settings.SITE_URL + "/"),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def markdown_to_safe_html(md: str) -> str:
    """Staff Markdown → sanitised HTML (markdown-it commonmark, raw HTML off, then nh3)."""
    return clean_html(_MD.render(md or ""))
