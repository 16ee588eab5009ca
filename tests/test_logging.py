"""Personal links are credentials: they never reach the logs, whichever logger writes the path."""

import io
import logging

import pytest
from django.test import Client

from consent.tokens import personal_link_tokens
from crm.logging import redact


@pytest.mark.parametrize(("line", "expected"), [
    ("Not Found: /preferences/ab12:1xY:sig/about-you/", "Not Found: /preferences/[redacted]/about-you/"),
    ('"GET /confirm/ab12:1xY:sig/ HTTP/1.1" 200', '"GET /confirm/[redacted]/ HTTP/1.1" 200'),
    ('"POST /unsubscribe/ab12:1xY:sig HTTP/1.1" 200', '"POST /unsubscribe/[redacted] HTTP/1.1" 200'),
    ("GET /preferences/check-your-email/", "GET /preferences/check-your-email/"),
    ("GET /sign-up/", "GET /sign-up/"),
])
def test_tokens_are_blanked_and_other_paths_kept(line, expected):
    assert redact(line) == expected


@pytest.fixture
def console_output():
    """What the console handler configured by settings.LOGGING writes, captured."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


@pytest.mark.django_db
def test_request_and_server_logs_carry_no_token(make_contact, console_output):
    contact = make_contact()
    token = personal_link_tokens.make_token(contact, "preferences")
    # A path under a token that does not exist: Django's request logger reports the 404 with the path.
    Client().get(f"/preferences/{token}/no-such-page/")
    # The development server's access line for a one-click unsubscribe.
    logging.getLogger("django.server").info('"%s" %s', f"POST /unsubscribe/{token} HTTP/1.1", 200)
    written = console_output.getvalue()
    assert "Not Found: /preferences/[redacted]/no-such-page/" in written
    assert '"POST /unsubscribe/[redacted] HTTP/1.1" 200' in written
    assert token.split(":")[0] not in written and contact.public_id.hex not in written
