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


@pytest.mark.django_db
def test_a_refused_staff_request_logs_one_line_without_a_traceback(staff_client, console_output):
    from crm.roles import COMMUNICATIONS

    response = staff_client(COMMUNICATIONS).get("/staff/subject-access/")
    assert response.status_code == 403
    lines = [line for line in console_output.getvalue().splitlines() if line.strip()]
    refused = [line for line in lines if "Forbidden" in line]
    assert len(refused) == 1, lines
    assert refused[0].endswith("WARNING django.request Forbidden (Permission denied): /staff/subject-access/")
    assert "Traceback" not in console_output.getvalue()
    assert "PermissionDenied" not in console_output.getvalue()


def test_a_server_error_still_logs_its_traceback():
    # Only refusals lose the traceback: a real fault keeps it.
    from crm.logging import OneLineForRefusals

    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: /x/",
                                   None, sys.exc_info())
    record.status_code = 500
    assert OneLineForRefusals().filter(record) is True
    assert record.exc_info is not None


def test_each_line_of_the_huey_log_is_written_once(tmp_path):
    """Run the consumer as bin/serve does and read what it writes: no line twice."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "HUEY_SQLITE_PATH"}}
    env.update(MYNHS_ENV="test", MYNHS_VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    log = tmp_path / "huey.log"
    with log.open("w") as out:
        consumer = subprocess.Popen([sys.executable, "manage.py", "run_huey", "-w", "1"], cwd=root, env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "consumer started" not in log.read_text():
            time.sleep(0.2)
        consumer.send_signal(signal.SIGINT)
        consumer.wait(timeout=30)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    started = [line for line in lines if "consumer started" in line]
    assert len(started) == 1, lines
    # Our format (crm.settings LOGGING), through the handler that blanks personal links.
    assert " INFO huey.consumer Huey consumer started" in started[0]
    # The start-up report: each of its lines once (periodic tasks may legitimately repeat later).
    start = lines.index(started[0])
    report = [line.split(" huey", 1)[-1] for line in lines[start:start + 4]]
    assert report == [report[0], ".consumer Scheduler runs every 1 second(s).", ".consumer Periodic tasks are enabled.",
                      ".consumer The following commands are available:"], lines
