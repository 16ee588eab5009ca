"""Rendering a bulletin for mail clients: order by the reader's topics, tables and inlined CSS in
NHS.UK colours, a readable plain-text part, markers instead of personal data, and the email's
accessibility check."""

import re
from html.parser import HTMLParser

import pytest

from bulletins import services
from bulletins.accessibility import check_email_html, contrast_ratio, parse_colour
from bulletins.plaintext import html_to_text
from bulletins.rendering import MARKERS, merge_values_for, personalise, render_variant
from tests.bulletin_fixtures import *  # noqa: F403 - the shared fixtures, found by pytest by name

pytestmark = pytest.mark.django_db


class _Outline(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.h2, self._in_h2, self.styles = [], [], False, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self.styles.setdefault(tag, attrs.get("style", ""))
        self._in_h2 = tag == "h2"
        if tag == "h2":
            self.h2.append("")

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2[-1] += data


def outline(html) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


@pytest.fixture
def four_items(make_bulletin):
    # Topics by index: A, B, A, C. Positions 1..4 in this order.
    return make_bulletin(items=[("One", 0, {}), ("Two", 1, {}), ("Three", 0, {}), ("Four", 2, {})])


def ids_by_title(bulletin):
    return dict(bulletin.items.values_list("title", "pk"))


def test_matching_items_come_first_in_position_order(four_items):
    ids = ids_by_title(four_items)
    variant = render_variant(bulletin=four_items, matching_item_ids=frozenset({ids["Four"], ids["Two"]}))
    # Matching (Two, Four) first in position order, then the rest (One, Three) in position order.
    assert outline(variant.html).h2 == ["Two", "Four", "One", "Three"]
    positions = [variant.text.index(f"\n{title}\n") for title in ("Two", "Four", "One", "Three")]
    assert positions == sorted(positions)
    assert "The items on the topics you chose come first." in variant.text


def test_no_match_keeps_the_order_staff_set(four_items):
    variant = render_variant(bulletin=four_items, matching_item_ids=frozenset())
    assert outline(variant.html).h2 == ["One", "Two", "Three", "Four"]
    assert "come first" not in variant.text


def test_email_html_is_table_layout_with_inlined_nhs_styles(four_items):
    html = render_variant(bulletin=four_items).html
    parsed = outline(html)
    tables = [attrs for tag, attrs in parsed.tags if tag == "table"]
    assert tables and all(attrs.get("role") == "presentation" for attrs in tables)
    # css_inline moved the rules onto the elements: NHS blue header, NHS text colour, Frutiger then Arial.
    header = next(attrs for tag, attrs in parsed.tags if tag == "td" and "header" in attrs.get("class", ""))
    assert "background-color: #005eb8" in header["style"]
    assert "color: #212b32" in parsed.styles["h1"]
    assert "Frutiger" in parsed.styles["body"] and "Arial" in parsed.styles["body"]
    link = next(attrs for tag, attrs in parsed.tags if tag == "a")
    assert "color: #005eb8" in link["style"]
    # Only the media query is left in <style> (mail clients that support it use it); no class rules.
    style_blocks = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert all(block.strip().startswith("@media") for block in style_blocks)


def test_plain_text_part_is_readable(make_bulletin):
    bulletin = make_bulletin(items=[("Flu jabs", 0, {"body": (
        "Book at your **GP practice** or a [pharmacy](https://www.nhs.uk/pharmacy/).\n\n- Over 65s\n- Carers")})])
    text = render_variant(bulletin=bulletin).text
    assert "<" not in text.replace("<https", "")  # no tags
    assert "Winter health news\n==================" in text
    assert "Flu jabs\n--------" in text
    assert "Book at your GP practice or a pharmacy (https://www.nhs.uk/pharmacy/)." in text
    assert "- Over 65s\n\n- Carers" in text or "- Over 65s\n- Carers" in text
    assert "Unsubscribe from the e-bulletin: [[unsubscribe_url]]" in text
    assert "Read this bulletin on the web: [[web_version_url]]" in text


def test_plain_text_never_breaks_a_web_address():
    address = "https://www.nhs.uk/service-search/pharmacy/find-a-pharmacy-open-late-in-south-sefton"
    text = html_to_text(f'<p>Some words before the link so that it falls at the end of a line: <a href="{address}">'
                        "find a pharmacy</a>.</p>")
    assert any(address in line for line in text.splitlines()), text


def test_html_to_text_lists_links_and_images():
    text = html_to_text('<h3>Dates</h3><ol><li>First</li><li>Second</li></ol>'
                        '<p>Mail <a href="mailto:team@example.org">team@example.org</a> or '
                        '<a href="https://example.org/">our site</a>.</p><p><img src="x" alt="A map"></p>')
    assert text == ("Dates\n\n1. First\n\n2. Second\n\nMail team@example.org or our site (https://example.org/)."
                    "\n\n[Image: A map]")


def test_variant_holds_markers_and_no_personal_data(four_items, make_contact, topics):
    contact = make_contact(email="rosa.reader@example.org", name="Rosa Reader", topics=[topics[0]])
    variant = render_variant(bulletin=four_items, matching_item_ids=frozenset({ids_by_title(four_items)["One"]}))
    for part in (variant.html, variant.text):
        assert "rosa" not in part.lower() and contact.email not in part
        for marker in ("unsubscribe_url", "preferences_url", "web_version_url"):
            assert f"[[{marker}]]" in part
    merge = merge_values_for(bulletin=four_items, contact=contact)
    assert set(merge) == set(MARKERS)
    filled = personalise(variant.html, merge, html=True)
    assert "[[" not in filled
    assert f"/bulletins/{four_items.public_id}/" in filled


def test_personalise_escapes_for_html_only():
    merge = {"unsubscribe_url": 'https://x.example/u?a=1&b="2"'}
    assert personalise('<a href="[[unsubscribe_url]]">', merge, html=True) == \
        '<a href="https://x.example/u?a=1&amp;b=&quot;2&quot;">'
    assert personalise("Go: [[unsubscribe_url]]", merge) == 'Go: https://x.example/u?a=1&b="2"'
    # A marker with no value stays visible rather than silently disappearing.
    assert personalise("[[comment_url]]", merge) == "[[comment_url]]"


def test_comment_link_only_on_items_that_take_comments(make_bulletin):
    bulletin = make_bulletin(items=[("Open", 0, {"comments_enabled": True}), ("Closed", 1, {})])
    variant = render_variant(bulletin=bulletin)
    assert variant.html.count("[[comment_url]]") == 1
    assert "Comment on “Open”" in variant.html and "Comment on “Closed”" not in variant.html
    open_id = ids_by_title(bulletin)["Open"]
    assert f"Comment on this item: [[comment_url]]#item-{open_id}" in variant.text


def test_item_image_has_its_alt_text(make_bulletin):
    bulletin = make_bulletin(items=[("Clinic", 0, {"image_url": "https://example.org/clinic.jpg",
                                                   "image_alt": "The new clinic entrance"})])
    variant = render_variant(bulletin=bulletin)
    img = next(attrs for tag, attrs in outline(variant.html).tags if tag == "img")
    assert img["src"] == "https://example.org/clinic.jpg" and img["alt"] == "The new clinic entrance"
    assert "[Image: The new clinic entrance]" in variant.text


# --- accessibility check ---------------------------------------------------------------------

def test_the_template_passes_the_check(four_items):
    report = check_email_html(render_variant(bulletin=four_items).html)
    assert report.passed, [f.message for f in report.findings]
    assert report.headings == 5  # h1 subject + four h2 titles
    assert report.links >= 3 and report.text_colours > 10


@pytest.mark.parametrize("body, check, expected", [
    ("[click here](https://www.nhs.uk/)", "links", "Link text “click here” does not say where the link goes"),
    ("Read [here](https://www.nhs.uk/).", "links", "Link text “here” does not say where the link goes"),
    ("[https://www.nhs.uk/flu](https://www.nhs.uk/flu)", "links", "Link text is a bare web address"),
    ("![](https://example.org/a.png)", "images", "An image has no alt text"),
    ("### Too deep", "headings", "A level 5 heading follows a level 2 heading, skipping a level"),
])
def test_content_problems_are_found(make_bulletin, body, check, expected):
    bulletin = make_bulletin(items=[("Item", 0, {"body": body})])
    report = check_email_html(render_variant(bulletin=bulletin).html)
    messages = [f.message for f in report.by_check(check)]
    assert any(message.startswith(expected) for message in messages), messages


def test_contrast_failures_are_found():
    html = ('<html><body><table><tr><td style="background-color: #ffffff">'
            '<p style="color: #aeb7bd">Pale grey text</p><p style="color: #212b32">Fine</p>'
            '</td></tr></table></body></html>')
    report = check_email_html(html)
    assert [f.check for f in report.findings] == ["contrast"]
    assert "#aeb7bd on #ffffff" in report.findings[0].message


@pytest.mark.parametrize("fg, bg, ratio", [
    # Worked by hand from WCAG 2's relative-luminance formula, to one decimal place
    # (#005eb8: L = 0.7152 x 0.1119 + 0.0722 x 0.4793 = 0.1146, (1 + 0.05) / (0.1146 + 0.05) = 6.38).
    ("#212b32", "#ffffff", 14.4), ("#005eb8", "#ffffff", 6.4), ("#ffffff", "#005eb8", 6.4),
    ("#4c6272", "#ffffff", 6.4), ("#000000", "#ffffff", 21.0), ("#777777", "#ffffff", 4.5),
])
def test_contrast_ratio(fg, bg, ratio):
    assert round(contrast_ratio(parse_colour(fg), parse_colour(bg)), 1) == ratio


def test_editing_changes_what_renders(make_bulletin, author_actor):
    bulletin = make_bulletin(items=[("Old title", 0, {})])
    item = bulletin.items.get()
    services.update_item(item=item, content=services.ItemContent(
        title="New title", body_markdown="New text", topic=item.topic), actor=author_actor)
    bulletin.refresh_from_db()
    assert outline(render_variant(bulletin=bulletin).html).h2 == ["New title"]


def test_a_send_renders_once_per_distinct_set_of_matching_items(make_bulletin, make_contact, topics,
                                                                send_bulletin, monkeypatch):
    """60 recipients in 3 topic mixes (A only, B only, A and B): 3 renderings, not 60."""
    from bulletins.sending import messages

    bulletin = make_bulletin(items=[("A", 0, {}), ("B", 1, {}), ("C", 2, {})])
    for mix in ([topics[0]], [topics[1]], [topics[0], topics[1]]):
        for _ in range(20):
            make_contact(topics=mix)
    calls = []
    real = messages.render_variant

    def counting(*, bulletin, matching_item_ids):
        calls.append(matching_item_ids)
        return real(bulletin=bulletin, matching_item_ids=matching_item_ids)

    messages._VARIANTS.clear()
    monkeypatch.setattr(messages, "render_variant", counting)
    sent = send_bulletin(bulletin)
    assert sent.deliveries.filter(status="sent").count() == 60
    ids = ids_by_title(bulletin)
    assert sorted(calls, key=sorted) == sorted(
        [frozenset({ids["A"]}), frozenset({ids["B"]}), frozenset({ids["A"], ids["B"]})], key=sorted)
