"""Helpers shared by the tests/test_public_*.py files (public journeys)."""

import re
import time
from html.parser import HTMLParser
from unittest import mock

from django.conf import settings
from django.core import mail
from django.db import connection

from consent.tokens import personal_link_tokens

CSRF_INPUT = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')


def strip_csrf(html: str) -> str:
    return CSRF_INPUT.sub("", html)


def sign_up_data(**overrides) -> dict:
    data = {
        "name": "Ann Example",
        "email": "ann@example.org",
        "postcode": "L20 3NJ",
        "purposes": ["bulletin"],
        "topics": ["cancer"],
    }
    data.update(overrides)
    return data


def links_in(message, kind: str) -> list[str]:
    """Site-relative paths of the ``kind`` links (confirm, preferences…) in an email's text body."""
    pattern = re.escape(settings.SITE_URL) + rf"(/{kind}/[^\s/]+/)"
    return re.findall(pattern, message.body)


def last_link(kind: str) -> str:
    """The path of the ``kind`` link in the most recent email that has one."""
    for message in reversed(mail.outbox):
        found = links_in(message, kind)
        if found:
            return found[0]
    raise AssertionError(f"No {kind} link in {len(mail.outbox)} emails")


def old_token(contact, purpose: str, *, days: float) -> str:
    """A genuine token, signed as if ``days`` ago (TimestampSigner reads time.time())."""
    with mock.patch("django.core.signing.time.time", return_value=time.time() - days * 86400):
        return personal_link_tokens.make_token(contact, purpose)


def tampered(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def database_dump() -> str:
    """Every row of every table as text (SQLite: iterdump; PostgreSQL: SELECT * of each table)."""
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        return "\n".join(connection.connection.iterdump())
    lines = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from introspection
            lines += [f"{table}: {row!r}" for row in cursor.fetchall()]
    return "\n".join(lines)


class PageAudit(HTMLParser):
    """Collects what the page-structure tests check: headings, ids, labels, inputs, inline style/script."""

    def __init__(self):
        super().__init__()
        self.h1_count = 0
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.inputs: list[dict] = []
        self.inline_styles = 0
        self.inline_scripts = 0
        self.landmarks: set[str] = set()
        self._in_script_without_src = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h1":
            self.h1_count += 1
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if "style" in attrs:
            self.inline_styles += 1
        if tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])
        if tag in {"input", "select", "textarea"} and attrs.get("type") not in {"hidden", "submit"}:
            self.inputs.append(attrs)
        if tag in {"main", "header", "footer"}:
            self.landmarks.add(tag)
        # A JSON data block (Django's json_script) is never run, so CSP allows it; anything else inline is code.
        if tag == "script" and not attrs.get("src") and attrs.get("type") != "application/json":
            self._in_script_without_src = True

    def handle_data(self, data):
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script_without_src = False


def audit_page(html: str) -> PageAudit:
    parser = PageAudit()
    parser.feed(html)
    return parser


def open_data_session(client, contact) -> None:
    """Give ``client`` a data-access session for ``contact``, as following an emailed data link does."""
    from consent.tokens import DATA_ACCESS

    token = personal_link_tokens.make_token(contact, DATA_ACCESS)
    response = client.post(f"/your-data/open/{token}/")
    assert response.status_code == 302 and response["Location"] == "/your-data/view/", response.status_code
