"""Channels: the outbox writes one openable .eml per message; SMTP reuses one connection per batch,
fails a refused address alone, retries a busy or unreachable server — and a relay that is down for
the whole send leaves every row failed or pending with a reason, never sent."""

import email
import socket
from datetime import timedelta
from email import policy

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.test import override_settings
from django.utils import timezone

from bulletins import sending
from bulletins.channels import get_channel
from bulletins.channels.base import FAILED, RETRY, SENT, OutgoingMessage
from bulletins.channels.outbox import OutboxChannel
from bulletins.channels.smtp import SmtpChannel
from bulletins.models import Bulletin, Delivery
from bulletins.rendering import RenderedVariant
from bulletins.sending.messages import UnsafeHeader, list_headers
from crm.audit import Actor
from tests.bulletin_sending_support import approved_bulletin, make_people, some_topics

VARIANT = RenderedVariant(subject="Winter news", preheader="", html="<p>Hi <a href=\"[[unsubscribe_url]]\">stop</a></p>",
                          text="Hi. Stop: [[unsubscribe_url]]")


def message(n: int, *, plain=False, to=None, headers=None) -> OutgoingMessage:
    url = f"https://mynhs.example/unsubscribe/token-{n}"
    return OutgoingMessage(delivery_id=n, to=to or f"person{n}@example.org", variant=VARIANT,
                           merge={"unsubscribe_url": url}, plain_text_only=plain,
                           headers=headers if headers is not None else list_headers(url))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- outbox -------------------------------------------------------------------------------------

def test_outbox_writes_one_openable_file_per_message(tmp_path):
    results = OutboxChannel(tmp_path).send([message(1), message(2, plain=True), message(3)])
    assert [r.outcome for r in results] == [SENT, SENT, SENT]
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 3 and not list(tmp_path.glob(".*"))
    parsed = {m["To"]: m for m in (email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files)}
    html_mail, plain_mail = parsed["person1@example.org"], parsed["person2@example.org"]
    assert html_mail["Subject"] == "Winter news"
    assert html_mail["List-Unsubscribe"] == (
        "<https://mynhs.example/unsubscribe/token-1>, <mailto:unsubscribe@mynhs.example.nhs.uk?subject=unsubscribe>")
    assert html_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert html_mail.get_body(("html",)).get_content().strip() == (
        '<p>Hi <a href="https://mynhs.example/unsubscribe/token-1">stop</a></p>')
    assert plain_mail.get_body(("html",)) is None  # plain-text-only: no HTML part at all
    assert plain_mail.get_body(("plain",)).get_content().strip() == "Hi. Stop: https://mynhs.example/unsubscribe/token-2"
    assert results[0].provider_message_id == html_mail["Message-ID"]


def test_a_header_with_a_line_break_fails_that_message_only(tmp_path):
    bad = message(2, headers={"List-Unsubscribe": "<https://x.example/u>\r\nBcc: victim@example.org"})
    results = OutboxChannel(tmp_path).send([message(1), bad])
    assert [r.outcome for r in results] == [SENT, FAILED]
    assert "could not be built" in results[1].reason
    assert len(list(tmp_path.glob("*.eml"))) == 1
    with pytest.raises(UnsafeHeader):
        list_headers("https://x.example/u\nBcc: victim@example.org")


def test_outbox_is_the_default_channel(settings):
    assert isinstance(get_channel(), OutboxChannel)
    settings.BULLETIN_CHANNEL = "smtp"
    assert isinstance(get_channel(), SmtpChannel)


# --- SMTP against a local aiosmtpd ----------------------------------------------------------------

class RecordingHandler:
    def __init__(self, refuse=None):
        self.refuse = refuse or {}
        self.received, self.peers = [], set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.peers.add(session.peer)
        self.received.append((envelope.rcpt_tos[0], envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    servers = []

    def start(**kwargs):
        handler = RecordingHandler(**kwargs)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        servers.append(controller)
        return handler, controller.port

    yield start
    for controller in servers:
        controller.stop()


def test_smtp_uses_one_connection_for_the_whole_batch(smtp_server):
    handler, port = smtp_server()
    results = SmtpChannel(host="127.0.0.1", port=port).send([message(n) for n in range(1, 6)])
    assert [r.outcome for r in results] == [SENT] * 5
    assert sorted(rcpt for rcpt, _ in handler.received) == [f"person{n}@example.org" for n in range(1, 6)]
    assert len(handler.peers) == 1  # one TCP connection (one client port) carried all five
    parsed = email.message_from_bytes(handler.received[0][1], policy=policy.default)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_smtp_refusals_fail_or_retry_that_address_alone(smtp_server):
    handler, port = smtp_server(refuse={"person2@example.org": "550 No such mailbox",
                                        "person3@example.org": "451 Try again later"})
    results = SmtpChannel(host="127.0.0.1", port=port).send([message(n) for n in range(1, 5)])
    assert [(r.delivery_id, r.outcome) for r in results] == [(1, SENT), (2, FAILED), (3, RETRY), (4, SENT)]
    assert results[1].reason == "The mail server refused the address (reply 550)."
    assert results[2].reason == "The mail server refused the address (reply 451)."
    assert len(handler.received) == 2


def test_smtp_unreachable_is_transient_for_every_message():
    results = SmtpChannel(host="127.0.0.1", port=free_port(), timeout=2).send([message(1), message(2)])
    assert [r.outcome for r in results] == [RETRY, RETRY]
    assert all(r.reason.startswith("The mail server could not be reached") for r in results)


@pytest.mark.django_db
def test_mail_server_down_for_the_whole_send_leaves_no_row_sent(django_capture_on_commit_callbacks, monkeypatch):
    (health,) = some_topics(1)
    make_people(40, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    port = free_port()  # nothing listens here
    monkeypatch.setattr("bulletins.sending.batch.get_channel", lambda: SmtpChannel(host="127.0.0.1", port=port, timeout=2))
    start = timezone.now()
    seen = []
    with override_settings(BULLETIN_BATCH_SIZE=25, BULLETIN_MAX_ATTEMPTS=3, BULLETIN_RETRY_BASE_SECONDS=60,
                           BULLETIN_MAX_PER_SECOND=100000):
        for minutes in (0, 2, 5, 10):  # the sweeper's visits while the relay stays down
            with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
                if minutes == 0:
                    with django_capture_on_commit_callbacks(execute=True):
                        sending.start_send(bulletin=bulletin, actor=Actor.system())
                else:
                    sending.sweep()
            rows = list(Delivery.objects.filter(bulletin=bulletin).values_list("status", "reason"))
            seen.append(sorted({status for status, _ in rows}))
            assert all(status in ("pending", "failed") and "could not be reached" in reason for status, reason in rows)
    assert seen == [["pending"], ["pending"], ["failed"], ["failed"]]
    assert set(Delivery.objects.filter(bulletin=bulletin).values_list("attempts", flat=True)) == {3}
    bulletin.refresh_from_db()
    assert bulletin.status == Bulletin.Status.FAILED
    assert not Delivery.objects.filter(bulletin=bulletin, status="sent").exists()
