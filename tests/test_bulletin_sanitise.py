"""The bulletin sanitiser: Markdown from staff never carries script, event handlers or dangerous links.

Payloads are the classic ones (OWASP XSS filter evasion list) in Markdown and as raw HTML, checked
at both layers: markdown_to_safe_html (markdown-it without raw HTML, then nh3) and clean_html
(nh3 with the link filter alone, for HTML that did not come through Markdown).
"""

from html.parser import HTMLParser

import pytest

from bulletins.sanitise import clean_html, is_safe_url, link_scheme, markdown_to_safe_html

# Written by hand: each should leave no script element, no on* attribute, no dangerous href/src.
MARKDOWN_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](<java script:alert(1)>)",
    "[click](java&#x09;script:alert(1))",
    "[click](java&#9;script:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1))",
    "[click](&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1))",
    "[click](%6Aavascript:alert(1))",
    "[click](javascript%3Aalert(1))",
    "[click](jav%0Aascript:alert(1))",
    "[click](java\\script:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](DATA:text/html,<script>alert(1)</script>)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\" onclick=\"alert(2)\">x</a>",
    "<svg onload=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<body onload=alert(1)>",
    "[x](\" onmouseover=\"alert(1))",
    "[x](https://ok.example/\" onmouseover=\"alert(1))",
    "<<script>script>alert(1)<</script>/script>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<style>body{display:none}</style>",
]

RAW_HTML_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\"java&#x09;script:alert(1)\">x</a>",
    "<a href=\"java\tscript:alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<a href=\" &#14; javascript:alert(1)\">x</a>",
    "<a href=\"%6A%61%76%61%73%63%72%69%70%74:alert(1)\">x</a>",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
    "<a href=\"vbscript:x\">x</a>",
    "<img src=\"data:image/png;base64,AAAA\" alt=\"x\">",
    "<p onclick=\"alert(1)\" onmouseover=\"alert(2)\">x</p>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<form action=\"javascript:alert(1)\"><button>x</button></form>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<a href=\"\u0001javascript:alert(1)\">x</a>",
    "<a href=\"\u2028javascript:alert(1)\">x</a>",
]

ALLOWED_OUTPUT_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "code", "pre", "hr",
                       "h3", "h4", "h5", "h6", "img"}


class _Elements(HTMLParser):
    """Real elements and attributes in the output (text that merely looks like a tag is not one)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def assert_safe(html: str):
    parser = _Elements()
    parser.feed(html)
    for tag, attrs in parser.elements:
        assert tag in ALLOWED_OUTPUT_TAGS, f"<{tag}> survived in {html!r}"
        for name, value in attrs.items():
            assert not name.startswith("on") and name != "style", f"{name} survived in {html!r}"
            if name in ("href", "src"):
                assert link_scheme(value or "") in (None, "http", "https", "mailto"), \
                    f"dangerous URL survived: {value!r} in {html!r}"


@pytest.mark.parametrize("payload", MARKDOWN_PAYLOADS)
def test_markdown_payloads_come_out_harmless(payload):
    assert_safe(markdown_to_safe_html(payload))


@pytest.mark.parametrize("payload", RAW_HTML_PAYLOADS)
def test_nh3_layer_alone_strips_raw_html_payloads(payload):
    assert_safe(clean_html(payload))


def test_raw_html_in_markdown_is_shown_as_text_not_run():
    html = markdown_to_safe_html("Before <script>alert(1)</script> after")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("url, scheme", [
    ("javascript:alert(1)", "javascript"),
    ("JaVaScRiPt:alert(1)", "javascript"),
    (" \tjava\nscript:alert(1)", "javascript"),
    ("java&#x09;script:x", "javascript"),
    ("&#x6A;avascript:x", "javascript"),
    ("%6Aavascript:x", "javascript"),
    ("%256Aavascript:x", "javascript"),  # double percent-encoding
    ("\u00a0javascript:x", "javascript"),
    ("\ufeffjavascript:x", "javascript"),
    ("DaTa:text/html,x", "data"),
    ("https://www.nhs.uk/", "https"),
    ("mailto:team@example.org", "mailto"),
    ("/sign-up/", None),
    ("#item-3", None),
])
def test_link_scheme_sees_what_a_browser_sees(url, scheme):
    assert link_scheme(url) == scheme


def test_safe_links_and_formatting_survive(settings):
    settings.SITE_URL = "https://mynhs.example.nhs.uk"
    html = markdown_to_safe_html(
        "**Bold** and *italic*, [NHS website](https://www.nhs.uk/), [write to us](mailto:team@example.org), "
        "[sign up](/sign-up/).\n\n- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n`code`"
    )
    assert "<strong>Bold</strong>" in html and "<em>italic</em>" in html
    assert '<a href="https://www.nhs.uk/" rel="noopener noreferrer">NHS website</a>' in html
    assert '<a href="mailto:team@example.org" rel="noopener noreferrer">write to us</a>' in html
    # A relative link would lead nowhere from a mail client: it is made absolute against the site.
    assert '<a href="https://mynhs.example.nhs.uk/sign-up/" rel="noopener noreferrer">sign up</a>' in html
    assert "<ul>" in html and "<ol>" in html and "<blockquote>" in html and "<code>code</code>" in html


def test_headings_start_below_the_item_title():
    # The bulletin subject is h1 and each item title h2, so an item's "# Heading" becomes h3.
    html = markdown_to_safe_html("# Big\n\n## Smaller\n\n###### Smallest")
    assert "<h3>Big</h3>" in html and "<h4>Smaller</h4>" in html and "<h6>Smallest</h6>" in html
    assert "<h1" not in html and "<h2" not in html


@pytest.mark.parametrize("url, safe", [
    ("https://example.org/a.png", True), ("http://example.org", True), ("mailto:a@example.org", True),
    ("javascript:alert(1)", False), ("JAVASCRIPT:alert(1)", False), ("data:image/png;base64,AAAA", False),
    ("vbscript:x", False), ("file:///etc/passwd", False),
])
def test_is_safe_url(url, safe):
    assert is_safe_url(url) is safe
