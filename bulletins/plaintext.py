"""Sanitised bulletin HTML → readable plain text for the text/plain part of every email.

Paragraphs become blank-line separated wrapped text, list items start with "- " (numbered for
ordered lists), links read "text (address)", images give their alt text, headings stand alone.
"""

import textwrap
from html.parser import HTMLParser

WIDTH = 72
BLOCKS = {"p", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ul", "ol"}


def _fill(text: str, **indents) -> str:
    # Never break inside a word or at a hyphen: a web address split over two lines stops working.
    return textwrap.fill(text, WIDTH, break_long_words=False, break_on_hyphens=False, **indents)


class _TextBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.lists: list[list] = []  # each open list: [ordered, next number]
        self.href_stack: list[tuple[str | None, int]] = []
        self.in_pre = False
        self.quote_depth = 0

    # --- blocks -------------------------------------------------------------------------
    def _flush(self):
        text = "".join(self.current)
        self.current = []
        if self.in_pre:
            if text.strip("\n"):
                self.blocks.append(textwrap.indent(text.strip("\n"), "    "))
            return
        text = " ".join(text.split())
        if not text:
            return
        prefix = "> " * self.quote_depth
        if self.lists and self._list_marker:
            marker, self._list_marker = self._list_marker, ""
            indent = "  " * (len(self.lists) - 1)
            wrapped = _fill(text, initial_indent=prefix + indent + marker,
                            subsequent_indent=prefix + indent + " " * len(marker))
        else:
            wrapped = _fill(text, initial_indent=prefix, subsequent_indent=prefix)
        self.blocks.append(wrapped)

    _list_marker = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in BLOCKS or tag == "br":
            if tag == "br":
                self.current.append("\n" if self.in_pre else " ")
                return
            self._flush()
        if tag in ("ul", "ol"):
            start = attrs.get("start") or "1"
            self.lists.append([tag == "ol", int(start) if start.isdigit() else 1])
        elif tag == "li" and self.lists:
            ordered, number = self.lists[-1]
            self._list_marker = f"{number}. " if ordered else "- "
            self.lists[-1][1] += 1
        elif tag == "pre":
            self.in_pre = True
        elif tag == "blockquote":
            self.quote_depth += 1
        elif tag == "hr":
            self.blocks.append("-" * 20)
        elif tag == "a":
            self.href_stack.append((attrs.get("href"), len(self.current)))
        elif tag == "img":
            alt = (attrs.get("alt") or "").strip()
            if alt:
                self.current.append(f"[Image: {alt}]")

    def handle_endtag(self, tag):
        if tag == "a":
            href, start = self.href_stack.pop() if self.href_stack else (None, 0)
            address = (href or "").removeprefix("mailto:")
            if address and "".join(self.current[start:]).strip() != address:
                self.current.append(f" ({address})")
            return
        if tag in BLOCKS:
            self._flush()
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "pre":
            self.in_pre = False
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)

    def handle_data(self, data):
        self.current.append(data)

    def text(self) -> str:
        self._flush()
        return "\n\n".join(self.blocks)


def html_to_text(fragment: str) -> str:
    builder = _TextBuilder()
    builder.feed(fragment or "")
    builder.close()
    return builder.text()
