"""The crash test, on PostgreSQL with Redis Huey and real consumer processes (``manage.py run_huey``).

A 20,000-recipient send; one consumer is SIGKILLed in the middle while another keeps going and a
third starts afterwards; people unsubscribe throughout. Shown: everyone still reachable received
the bulletin, at most the one batch in flight at the kill was sent twice, two consumers never sent
the same row otherwise, and nobody was emailed after their unsubscribe was recorded.
Skipped unless DATABASE_URL is PostgreSQL and REDIS_URL is set.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection, connections
from django.test import override_settings

from bulletins import sending
from bulletins.models import Bulletin, Delivery
from consent.services import unsubscribe_one_click
from crm.audit import Actor
from crm.models import Contact
from tests.bulletin_sending_support import approved_bulletin, make_people, read_log, some_topics

RECIPIENTS = 20_000
BATCH = 250
LEASE_SECONDS = 5
MANAGE = Path(__file__).resolve().parent.parent / "manage.py"

pytestmark = [
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres")
                       or not os.environ.get("REDIS_URL"), reason="needs PostgreSQL and Redis"),
]


@pytest.fixture
def own_queue():
    """A Huey queue of our own in Redis, shared by this process and the consumers it starts."""
    from huey.contrib.djhuey import HUEY

    name, previous = f"b1-crash-{uuid.uuid4().hex[:8]}", HUEY.name
    HUEY.name = name
    HUEY.immediate = False  # recreates the storage: Redis, under the new name
    yield name
    HUEY.flush()
    HUEY.immediate = True
    HUEY.name = previous


class Consumers:
    def __init__(self, queue: str, log: Path, var_dir: Path):
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "HUEY_NAME": queue, "MYNHS_ENV": "test", "MYNHS_VAR_DIR": str(var_dir),
            "BULLETIN_CHANNEL": "tests.bulletin_sending_support.EnvRecordingChannel",
            "BULLETIN_TEST_CHANNEL_LOG": str(log), "BULLETIN_TEST_CHANNEL_MAX_BATCH": str(BATCH),
            "BULLETIN_TEST_CHANNEL_DELAY": "0.03", "BULLETIN_BATCH_SIZE": str(BATCH),
            "BULLETIN_MAX_PER_SECOND": "100000", "BULLETIN_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        self.processes: list[subprocess.Popen] = []

    def start(self, workers: int) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE), "run_huey", "-w", str(workers), "-k", "thread", "-n"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        return process

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def wait_for(condition, *, timeout: float, step: float = 0.05, every=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if every:
            every()
        time.sleep(step)
    return False


def unsubscribe_throughout(contact_ids: list[int], stop: threading.Event, recorded: dict[int, float]):
    """One-click unsubscribes while the send runs; each time taken after the service committed."""
    try:
        for contact in Contact.objects.filter(pk__in=contact_ids).order_by("?"):
            if stop.is_set():
                break
            unsubscribe_one_click(contact=contact, actor=Actor.public("127.0.0.1"))
            recorded[contact.pk] = time.time()
            time.sleep(0.01)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)  # committed rows, for the consumers (PostgreSQL TRUNCATEs after)
def test_sigkill_mid_send_resends_at_most_one_batch_and_skips_nobody(tmp_path, own_queue):
    t0 = time.monotonic()
    (health,) = some_topics(1)
    people = make_people(RECIPIENTS, topics=[health])
    t_people = time.monotonic() - t0
    leaving = people[2000::50]  # 360 people spread over the send
    bulletin = approved_bulletin(topics=[health])
    log = tmp_path / "sent.jsonl"
    consumers = Consumers(own_queue, log, tmp_path)
    recorded: dict[int, float] = {}
    stop = threading.Event()
    try:
        victim = consumers.start(workers=1)
        survivor = consumers.start(workers=2)
        with override_settings(BULLETIN_BATCH_SIZE=BATCH, BULLETIN_LEASE_SECONDS=LEASE_SECONDS):
            assert sending.start_send(bulletin=bulletin, actor=Actor.system()) == RECIPIENTS
            unsubscriber = threading.Thread(target=unsubscribe_throughout, args=(leaving, stop, recorded))
            unsubscriber.start()
            # Mid-send: the victim has sent something and a good part of the list is still to go.
            assert wait_for(lambda: lines(log) >= RECIPIENTS // 4 and f'"pid": {victim.pid}' in log.read_text(),
                            timeout=60, step=0.2)
            t_kill = time.monotonic() - t0
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            killed_at = time.time()
            consumers.start(workers=2)  # the replacement
            # The sweeper's job (it runs every minute in a consumer; here called as often as we like).
            assert wait_for(lambda: Bulletin.objects.get(pk=bulletin.pk).status == Bulletin.Status.SENT,
                            timeout=60, step=0.5, every=sending.sweep)
            t_done = time.monotonic() - t0
            stop.set()
            unsubscriber.join(timeout=30)
        assert survivor.poll() is None  # the other consumer ran throughout
    finally:
        stop.set()
        consumers.stop_all()

    entries = read_log(log)
    rows = {d.pk: d for d in Delivery.objects.filter(bulletin=bulletin)}
    by_delivery = Counter(entry["delivery"] for entry in entries)
    address_of = dict(Contact.objects.filter(pk__in=people).values_list("pk", "email"))

    # Every row ended; every sent row was received; skipped only for people who unsubscribed.
    assert Counter(d.status for d in rows.values()) == {
        "sent": sum(1 for d in rows.values() if d.status == "sent"),
        "skipped": sum(1 for d in rows.values() if d.status == "skipped")}
    assert {pk for pk, d in rows.items() if d.status == "sent"} <= set(by_delivery)
    skipped_contacts = {d.contact_id for d in rows.values() if d.status == "skipped"}
    assert skipped_contacts <= set(recorded)
    # Everyone who did not unsubscribe received it.
    never_left = set(people) - set(recorded)
    received_contacts = {rows[e["delivery"]].contact_id for e in entries}
    assert never_left <= received_contacts

    # At most one batch (the victim's one in flight) went twice, and only across the kill.
    twice = {delivery for delivery, n in by_delivery.items() if n > 1}
    assert max(by_delivery.values()) <= 2
    assert len(twice) <= BATCH
    for delivery in twice:
        first, second = sorted((e for e in entries if e["delivery"] == delivery), key=lambda e: e["at"])
        assert first["pid"] == victim.pid and first["at"] <= killed_at < second["at"]

    # Nobody was emailed after their unsubscribe was recorded.
    late = [e for e in entries
            if (cid := rows[e["delivery"]].contact_id) in recorded and e["at"] > recorded[cid]]
    assert late == [], f"{len(late)} emailed after unsubscribing"
    assert len(recorded) > 20  # the unsubscribes really happened during the send
    print(f"\ncrash test: {len(entries)} hand-overs for {len(rows)} rows, {len(twice)} sent twice, "
          f"{len(recorded)} unsubscribed during the send, {len(skipped_contacts)} skipped, "
          f"victim sent {sum(1 for e in entries if e['pid'] == victim.pid)}; "
          f"people made at {t_people:.1f}s, kill at {t_kill:.1f}s, all sent at {t_done:.1f}s")
    assert all(address_of[rows[e["delivery"]].contact_id] == e["to"] for e in entries[:100])
