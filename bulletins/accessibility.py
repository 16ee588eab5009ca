"""Accessibility check of a rendered bulletin email, shown to staff before approval.

Reads the final (CSS-inlined) HTML a mail client gets, so it checks what people will receive:
- every image has alt text (decorative images must say so with role="presentation");
- link text says where it goes (not "click here", "here", "read more", nor a bare address);
- headings do not skip a level (h1, then h2, then h3...);
- text colour against its background meets WCAG 2.2 AA contrast (4.5:1; 3:1 for large text).
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VAGUE_LINK_TEXT = {
    "click here", "here", "click", "read more", "more", "link", "this link", "find out more", "learn more",
    "go", "this", "continue", "details", "more info", "more information",
}
AA_NORMAL, AA_LARGE = 4.5, 3.0
VOID = {"img", "br", "hr", "meta", "link", "input", "col", "area", "base", "source", "wbr"}
_HEX = re.compile(r"^#([0-9a-f]{3}|[0-9a-f]{6})$")
_URL_LIKE = re.compile(r"^(https?://|www\.|mailto:)\S*$|^\S+\.(uk|com|org|net)(/\S*)?$", re.IGNORECASE)


@dataclass
class Finding:
    check: str  # "images", "links", "headings", "contrast"
    message: str


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    images: int = 0
    links: int = 0
    headings: int = 0
    text_colours: int = 0

    @property
    def passed(self) -> bool:
        return not self.findings

    def by_check(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]


def parse_colour(value: str) -> tuple[int, int, int] | None:
    value = value.strip().lower()
    if value in ("white", "#fff"):
        return 255, 255, 255
    if value == "black":
        return 0, 0, 0
    match = _HEX.match(value)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)
        return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
    match = re.match(r"^rgb\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)$", value)
    return tuple(int(part) for part in match.groups()) if match else None


def _luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground, background) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _declarations(style: str) -> dict[str, str]:
    result = {}
    for part in (style or "").split(";"):
        if ":" in part:
            name, value = part.split(":", 1)
            result[name.strip().lower()] = value.replace("!important", "").strip().lower()
    return result


def _font_px(value: str | None) -> float | None:
    match = re.match(r"^([\d.]+)px$", value or "")
    return float(match.group(1)) if match else None


@dataclass
class _Frame:
    tag: str
    colour: tuple
    background: tuple
    font_px: float
    bold: bool
    hidden: bool


class _Checker(HTMLParser):
    def __init__(self, report: Report):
        super().__init__(convert_charrefs=True)
        self.report = report
        self.stack = [_Frame("root", (0, 0, 0), (255, 255, 255), 16.0, False, False)]
        self.last_heading = 0
        self.link_text: list[str] | None = None
        self.link_href = ""
        self.link_has_image_alt = False
        self.seen_pairs: set = set()

    def _push(self, tag, attrs):
        parent = self.stack[-1]
        style = _declarations(attrs.get("style", ""))
        colour = parse_colour(style.get("color", "")) or parent.colour
        background = parse_colour(style.get("background-color", style.get("background", ""))) or parent.background
        if attrs.get("bgcolor"):
            background = parse_colour(attrs["bgcolor"]) or background
        size = _font_px(style.get("font-size")) or (
            {"h1": 32.0, "h2": 24.0, "h3": 18.72}.get(tag, parent.font_px))
        bold = style.get("font-weight") in ("bold", "700", "800", "900") or tag in ("h1", "h2", "h3", "h4", "strong", "b") \
            or parent.bold
        hidden = parent.hidden or style.get("display") == "none" or tag in ("head", "title", "style", "script")
        self.stack.append(_Frame(tag, colour, background, size, bold, hidden))

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag not in VOID:
            self._push(tag, attrs)
        if self.stack[-1].hidden and tag != "img":
            return
        if tag == "img":
            self._image(attrs)
        elif tag == "a":
            self.link_text, self.link_href, self.link_has_image_alt = [], attrs.get("href", ""), False
        elif re.fullmatch(r"h[1-6]", tag):
            self._heading(int(tag[1]))

    def handle_endtag(self, tag):
        if tag == "a" and self.link_text is not None:
            self._link("".join(self.link_text))
            self.link_text = None
        if tag in VOID:
            return
        for index in range(len(self.stack) - 1, 0, -1):  # tolerate unclosed elements
            if self.stack[index].tag == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        frame = self.stack[-1]
        if frame.hidden or not data.strip():
            return
        if self.link_text is not None:
            self.link_text.append(data)
        self._contrast(frame, data.strip())

    # --- the checks -----------------------------------------------------------------------
    def _image(self, attrs):
        self.report.images += 1
        alt = attrs.get("alt")
        if attrs.get("role") == "presentation" and alt == "":
            return
        if alt is None or not alt.strip():
            self.report.findings.append(Finding("images", f"An image has no alt text: {attrs.get('src', '')[:80]}"))
        elif self.link_text is not None:
            self.link_has_image_alt = True
            self.link_text.append(alt)

    def _link(self, text):
        self.report.links += 1
        words = " ".join(text.split())
        if not words:
            self.report.findings.append(Finding("links", f"A link has no text: {self.link_href[:80]}"))
        elif words.lower().strip(".!:") in VAGUE_LINK_TEXT:
            self.report.findings.append(Finding("links", f"Link text “{words}” does not say where the link goes"))
        elif _URL_LIKE.match(words):
            self.report.findings.append(Finding("links", f"Link text is a bare web address ({words[:80]}): "
                                                         "say where it goes instead"))

    def _heading(self, level):
        self.report.headings += 1
        if self.last_heading == 0 and level != 1:
            self.report.findings.append(Finding("headings", f"The first heading is level {level}, not level 1"))
        elif level > self.last_heading + 1 and self.last_heading:
            self.report.findings.append(Finding(
                "headings", f"A level {level} heading follows a level {self.last_heading} heading, skipping a level"))
        self.last_heading = level

    def _contrast(self, frame, text):
        self.report.text_colours += 1
        large = frame.font_px >= 24 or (frame.bold and frame.font_px >= 18.66)
        needed = AA_LARGE if large else AA_NORMAL
        ratio = contrast_ratio(frame.colour, frame.background)
        key = (frame.colour, frame.background, needed)
        if ratio < needed and key not in self.seen_pairs:
            self.seen_pairs.add(key)
            self.report.findings.append(Finding(
                "contrast", f"Text “{text[:40]}” is {_hex(frame.colour)} on {_hex(frame.background)}: contrast "
                            f"{ratio:.1f}:1, needs at least {needed}:1"))


def _hex(rgb) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def check_email_html(html: str) -> Report:
    report = Report()
    checker = _Checker(report)
    checker.feed(html)
    checker.close()
    return report
