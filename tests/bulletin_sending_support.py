"""Shared set-up for the bulletin sending tests: many reachable people quickly, an approved bulletin,
and a channel that records every hand-over (like a mail server's log)."""

import json
import os
import threading
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from bulletins.channels.base import FAILED, RETRY, SENT, SendResult
from bulletins.models import Bulletin, Item
from consent.models import ConsentEvent, ConsentState, Purpose
from consent.selectors import current_statement
from consent.services import record_consent_for_many
from crm.audit import Actor
from crm.models import CommunicationNeed, Contact, Topic
from crm.normalise import address_hash, normalise_email


def make_people(count: int, *, topics=(), prefix: str = "person", plain_text: int = 0) -> list[int]:
    """``count`` confirmed contacts granted ``bulletin`` (set-based), interested in ``topics``; ids ascending."""
    now = timezone.now()
    contacts = []
    assert normalise_email(f"{prefix}0@example.org") == f"{prefix}0@example.org".lower()
    for n in range(count):
        email = f"{prefix}{n}@example.org"
        normalised = email.lower()  # plain ASCII: what normalise_email gives (checked above), minus IDNA
        contacts.append(Contact(email=email, email_normalised=normalised, email_hash=address_hash(normalised),
                                name=f"Person {n}", confirmed_at=now, source=Contact.Source.STAFF))
    Contact.objects.bulk_create(contacts, batch_size=2000)
    ids = sorted(Contact.objects.filter(email_normalised__startswith=f"{prefix}").values_list("pk", flat=True))
    through = Contact.topics.through
    with connection.cursor() as cursor:
        for topic in topics:
            cursor.execute(f"INSERT INTO {through._meta.db_table} (contact_id, topic_id) "  # noqa: S608
                           f"SELECT id, %s FROM {Contact._meta.db_table} WHERE id BETWEEN %s AND %s",
                           [topic.pk, ids[0], ids[-1]])
    CommunicationNeed.objects.bulk_create(
        [CommunicationNeed(contact_id=cid, need=CommunicationNeed.Need.PLAIN_TEXT_EMAIL) for cid in ids[:plain_text]])
    if count > 2000:  # (ids are one unbroken range: nobody else inserts contacts during a test)
        _grant_in_bulk(ids, now)
        return ids
    for start in range(0, len(ids), 5000):
        record_consent_for_many(contact_ids=ids[start:start + 5000], purpose="bulletin", action="confirmed",
                                method="paper_form", actor=Actor.system(), evidence_reference="test forms")
    return ids


def _grant_in_bulk(ids: list[int], now) -> None:
    """For the large sends only: the ledger rows record_consent_for_many would write (one confirmed event and
    a granted state per person), inserted set-based so 20,000 people take seconds, not half a minute."""
    purpose = Purpose.objects.get(code="bulletin")
    statement = current_statement(purpose)
    at = connection.ops.adapt_datetimefield_value(now)
    events, states = ConsentEvent._meta.db_table, ConsentState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {events} (contact_id, purpose_id, action, statement_id, method, recorded_by_label, "  # noqa: S608
            "occurred_at, recorded_at, evidence_reference) "
            f"SELECT id, %s, %s, %s, %s, 'system', %s, %s, 'test forms' FROM {Contact._meta.db_table} "
            "WHERE id BETWEEN %s AND %s",
            [purpose.pk, ConsentEvent.Action.CONFIRMED, statement.pk, ConsentEvent.Method.PAPER_FORM, at, at,
             ids[0], ids[-1]])
        cursor.execute(
            f"INSERT INTO {states} (contact_id, purpose_id, status, statement_id, since, last_event_id) "  # noqa: S608
            f"SELECT contact_id, purpose_id, %s, statement_id, occurred_at, id FROM {events} "
            "WHERE purpose_id = %s AND contact_id BETWEEN %s AND %s",
            [ConsentState.Status.GRANTED, purpose.pk, ids[0], ids[-1]])


def plain_user(username="writer"):
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": f"{username}@nhs.example"})
    return user


def approved_bulletin(*, topics, audience=Bulletin.Audience.TOPICS, subject="Winter health news",
                      status=Bulletin.Status.APPROVED, comments=False) -> Bulletin:
    writer, approver = plain_user("writer"), plain_user("approver")
    bulletin = Bulletin.objects.create(subject=subject, preheader="What is on this winter",
                                       introduction="Hello from **your NHS**.", audience=audience,
                                       created_by=writer, status=status, version=1, approved_version=1,
                                       approved_by=approver, approved_at=timezone.now())
    for position, topic in enumerate(topics, start=1):
        Item.objects.create(bulletin=bulletin, position=position, title=f"News about {topic.name}",
                            body_markdown=f"Something about *{topic.name}*.", topic=topic,
                            comments_enabled=comments)
    return bulletin


def some_topics(n=2):
    return list(Topic.objects.order_by("pk")[:n])


class RecordingChannel:
    """Accepts everything and appends one JSON line per message (delivery id, address, time) to a file.

    ``fail_with`` makes it answer every message with that outcome instead; ``on_send`` runs before
    each hand-over (used to act in the middle of a send)."""

    max_batch = 100

    def __init__(self, path=None, *, fail_with: str | None = None, on_send=None, max_batch=None):
        self.path = Path(path or os.environ["BULLETIN_TEST_CHANNEL_LOG"])
        self.fail_with = fail_with
        self.on_send = on_send
        self.max_batch = max_batch or self.max_batch
        self.calls = 0
        self._lock = threading.Lock()

    def send(self, messages):
        self.calls += 1
        if self.on_send:
            self.on_send(self, messages)
        if self.fail_with:
            reason = "The test channel refused it." if self.fail_with == FAILED else "The test channel is busy."
            return [SendResult(m.delivery_id, self.fail_with, reason=reason) for m in messages]
        lines = [json.dumps({"delivery": m.delivery_id, "to": m.to, "at": time.time(), "pid": os.getpid(),
                             "plain": m.plain_text_only, "headers": m.headers}) for m in messages]
        with self._lock, self.path.open("a") as log:
            log.write("\n".join(lines) + "\n")
            log.flush()
            os.fsync(log.fileno())
        return [SendResult(m.delivery_id, SENT, provider_message_id=f"test-{m.delivery_id}") for m in messages]


def read_log(path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class EnvRecordingChannel(RecordingChannel):
    """What BULLETIN_CHANNEL names in consumer processes: logs to $BULLETIN_TEST_CHANNEL_LOG."""

    def __init__(self):
        super().__init__(max_batch=int(os.environ.get("BULLETIN_TEST_CHANNEL_MAX_BATCH", "250")))
        self.delay_after = float(os.environ.get("BULLETIN_TEST_CHANNEL_DELAY", "0"))

    def send(self, messages):
        results = super().send(messages)
        if self.delay_after:  # after the hand-over, before the pipeline records it: the worst moment to die
            time.sleep(self.delay_after)
        return results


__all__ = ["FAILED", "RETRY", "SENT", "EnvRecordingChannel", "RecordingChannel", "approved_bulletin",
           "make_people", "plain_user", "read_log", "some_topics"]
