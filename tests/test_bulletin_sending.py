"""The sending pipeline on the embedded default (SQLite, Huey in immediate mode): fan-out, claim,
re-check, results, retries, pause/resume/cancel, sweeper, throttle. Expected figures are counted
by hand from the set-up of each test."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.utils import timezone

from bulletins import sending
from bulletins.models import Bulletin, Delivery
from bulletins.sending import throttle
from bulletins.sending.claim import claim_batch
from bulletins.sending.fanout import create_deliveries
from consent.services import unsubscribe_one_click
from crm.audit import Actor
from crm.models import AuditEntry, Contact
from tests.bulletin_sending_support import (
    FAILED,
    RETRY,
    RecordingChannel,
    approved_bulletin,
    make_people,
    read_log,
    some_topics,
)

pytestmark = pytest.mark.django_db
CHANNEL = "tests.bulletin_sending_support.EnvRecordingChannel"


@pytest.fixture
def channel_log(tmp_path, monkeypatch):
    path = tmp_path / "channel.jsonl"
    monkeypatch.setenv("BULLETIN_TEST_CHANNEL_LOG", str(path))
    monkeypatch.setenv("BULLETIN_TEST_CHANNEL_MAX_BATCH", "20")
    return path


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what a block queues on commit (the Huey bells), as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(autouse=True)
def _fast_settings():
    with override_settings(BULLETIN_CHANNEL=CHANNEL, BULLETIN_BATCH_SIZE=50, BULLETIN_MAX_PER_SECOND=100000,
                           BULLETIN_RETRY_BASE_SECONDS=60, BULLETIN_MAX_ATTEMPTS=3):
        yield


def statuses(bulletin) -> dict[str, int]:
    counts = {}
    for status in Delivery.objects.filter(bulletin=bulletin).values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


# --- fan-out ------------------------------------------------------------------------------------

def test_fanout_is_one_statement_for_exactly_the_audience_and_a_second_run_adds_nobody(django_assert_num_queries):
    health, housing, other = some_topics(3)
    interested = make_people(7, topics=[health], prefix="health")      # in the audience
    make_people(3, topics=[housing], prefix="housing")  # not the bulletin's topic
    make_people(2, topics=[other], prefix="other")
    withdrawn = make_people(2, topics=[health], prefix="gone")
    for contact in Contact.objects.filter(pk__in=withdrawn):
        unsubscribe_one_click(contact=contact, actor=Actor.public("127.0.0.1"))
    bulletin = approved_bulletin(topics=[health])

    with django_assert_num_queries(1):
        added = create_deliveries(bulletin=bulletin)
    assert added == 7
    assert set(bulletin.deliveries.values_list("contact_id", flat=True)) == set(interested)
    assert create_deliveries(bulletin=bulletin) == 0
    assert bulletin.deliveries.count() == 7

    everyone = approved_bulletin(topics=[health], audience=Bulletin.Audience.EVERYONE, subject="For all")
    assert create_deliveries(bulletin=everyone) == 7 + 3 + 2  # every reachable person, not the 2 withdrawn


def test_start_send_refuses_unless_approved_at_the_current_version(channel_log):
    (health,) = some_topics(1)
    make_people(3, topics=[health])
    draft = approved_bulletin(topics=[health], status=Bulletin.Status.DRAFT)
    with pytest.raises(sending.SendRefused):
        sending.start_send(bulletin=draft, actor=Actor.system())
    edited = approved_bulletin(topics=[health], subject="Edited after approval")
    Bulletin.objects.filter(pk=edited.pk).update(version=2)
    edited.refresh_from_db()
    with pytest.raises(sending.SendRefused, match="changed since it was approved"):
        sending.start_send(bulletin=edited, actor=Actor.system())
    newline = approved_bulletin(topics=[health], subject="Line one\r\nBcc: victim@example.org")
    with pytest.raises(sending.SendRefused, match="one line"):
        sending.start_send(bulletin=newline, actor=Actor.system())
    assert Delivery.objects.count() == 0


# --- a whole send -------------------------------------------------------------------------------

def test_a_send_reaches_everyone_once_in_batches_and_finishes(channel_log, commit):
    (health,) = some_topics(1)
    people = make_people(120, topics=[health])
    bulletin = approved_bulletin(topics=[health])

    with pytest.MonkeyPatch.context() as mp:
        batches = []
        real = sending.send_batch
        mp.setattr("bulletins.tasks.sending.send_batch", lambda **kw: batches.append(real(**kw)) or batches[-1])
        with commit():
            assert sending.start_send(bulletin=bulletin, actor=Actor.system()) == 120

    log = read_log(channel_log)
    assert sorted(entry["delivery"] for entry in log) == sorted(bulletin.deliveries.values_list("pk", flat=True))
    assert len({entry["to"] for entry in log}) == 120
    assert [b.claimed for b in batches] == [50, 50, 20]  # 120 rows, batches of 50: three tasks, not 120
    bulletin.refresh_from_db()
    assert bulletin.status == Bulletin.Status.SENT and bulletin.send_finished_at is not None
    assert statuses(bulletin) == {"sent": 120}
    row = bulletin.deliveries.get(contact_id=people[0])
    assert row.provider_message_id == f"test-{row.pk}" and row.sent_at is not None and row.attempts == 1
    assert row.claim_token is None and row.lease_expires_at is None
    actions = list(AuditEntry.objects.filter(object_id=str(bulletin.pk), object_type="bulletins.bulletin")
                   .values_list("action", flat=True))
    assert actions.count("bulletin.send_started") == 1 and actions.count("bulletin.send_finished") == 1


def test_people_who_unsubscribe_during_the_send_are_skipped_with_a_reason(channel_log, commit):
    (health,) = some_topics(1)
    people = make_people(100, topics=[health])
    leaving = people[60:65]  # claimed by the second batch, after the first batch's hand-over
    bulletin = approved_bulletin(topics=[health])

    def unsubscribe_once(channel, messages):
        if channel.calls == 1:
            for contact in Contact.objects.filter(pk__in=leaving):
                unsubscribe_one_click(contact=contact, actor=Actor.public("127.0.0.1"))

    channel = RecordingChannel(channel_log, on_send=unsubscribe_once, max_batch=20)
    with override_settings(BULLETIN_CHANNEL="outbox"), pytest.MonkeyPatch.context() as mp:
        mp.setattr("bulletins.sending.batch.get_channel", lambda: channel)
        with commit():
            sending.start_send(bulletin=bulletin, actor=Actor.system())

    emailed = {entry["to"] for entry in read_log(channel_log)}
    left_addresses = set(Contact.objects.filter(pk__in=leaving).values_list("email", flat=True))
    assert not emailed & left_addresses
    assert len(emailed) == 95
    skipped = bulletin.deliveries.filter(status=Delivery.Status.SKIPPED)
    assert set(skipped.values_list("contact_id", flat=True)) == set(leaving)
    assert all("unsubscribed" in reason for reason in skipped.values_list("reason", flat=True))


def test_plain_text_recipients_get_text_only_and_every_message_has_one_click_headers(channel_log, commit):
    from consent.tokens import personal_link_tokens

    (health,) = some_topics(1)
    people = make_people(6, topics=[health], plain_text=2)
    bulletin = approved_bulletin(topics=[health])
    with commit():
        sending.start_send(bulletin=bulletin, actor=Actor.system())

    log = {entry["to"]: entry for entry in read_log(channel_log)}
    contacts = Contact.objects.in_bulk(people)
    assert [log[contacts[cid].email]["plain"] for cid in people] == [True, True, False, False, False, False]
    for cid in people:
        headers = log[contacts[cid].email]["headers"]
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = headers["List-Unsubscribe"].split(", ")
        assert https.startswith("<http") and mailto.startswith("<mailto:") and mailto.endswith("?subject=unsubscribe>")
        token = https.strip("<>").rstrip("/").rsplit("/", 1)[-1]
        assert personal_link_tokens.check_token(token, "unsubscribe") == contacts[cid]


# --- failures and retries -------------------------------------------------------------------------

def test_transient_errors_retry_with_backoff_then_fail_with_a_reason_never_sent(channel_log, commit):
    (health,) = some_topics(1)
    make_people(30, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    channel = RecordingChannel(channel_log, fail_with=RETRY)
    start = timezone.now()
    with time_machine.travel(start, tick=False), pytest.MonkeyPatch.context() as mp:
        mp.setattr("bulletins.sending.batch.get_channel", lambda: channel)
        with commit():
            sending.start_send(bulletin=bulletin, actor=Actor.system())
        rows = bulletin.deliveries.all()
        assert statuses(bulletin) == {"pending": 30}
        assert {r.attempts for r in rows} == {1} and {r.next_attempt_at for r in rows} == {start + timedelta(seconds=60)}
        assert all("busy" in r.reason and "try again" in r.reason for r in rows)
        assert sending.send_batch(bulletin_id=bulletin.pk).claimed == 0  # not due yet

    with time_machine.travel(start + timedelta(seconds=61), tick=False), pytest.MonkeyPatch.context() as mp:
        mp.setattr("bulletins.sending.batch.get_channel", lambda: channel)
        sending.sweep()  # rings the bells for due rows
        assert {r.attempts for r in bulletin.deliveries.all()} == {2}
        assert {r.next_attempt_at for r in bulletin.deliveries.all()} == {start + timedelta(seconds=61 + 120)}
    with time_machine.travel(start + timedelta(seconds=182), tick=False), pytest.MonkeyPatch.context() as mp:
        mp.setattr("bulletins.sending.batch.get_channel", lambda: channel)
        sending.sweep()
    assert statuses(bulletin) == {"failed": 30}  # third attempt was the last (BULLETIN_MAX_ATTEMPTS=3)
    assert all("Gave up after 3 attempts" in r for r in bulletin.deliveries.values_list("reason", flat=True))
    assert read_log(channel_log) == []
    bulletin.refresh_from_db()
    assert bulletin.status == Bulletin.Status.FAILED


def test_a_permanent_refusal_fails_only_that_row(channel_log, commit):
    (health,) = some_topics(1)
    people = make_people(10, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    refused = Contact.objects.get(pk=people[3]).email

    class PartlyRefusing(RecordingChannel):
        def send(self, messages):
            ok = super().send([m for m in messages if m.to != refused])
            return ok + [sending_result(m) for m in messages if m.to == refused]

    def sending_result(message):
        from bulletins.channels.base import SendResult
        return SendResult(message.delivery_id, FAILED, reason="The mail server refused the address (reply 550).")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("bulletins.sending.batch.get_channel", lambda: PartlyRefusing(channel_log))
        with commit():
            sending.start_send(bulletin=bulletin, actor=Actor.system())
    assert statuses(bulletin) == {"sent": 9, "failed": 1}
    assert bulletin.deliveries.get(contact_id=people[3]).reason == "The mail server refused the address (reply 550)."
    bulletin.refresh_from_db()
    assert bulletin.status == Bulletin.Status.SENT


# --- pause, resume, cancel ------------------------------------------------------------------------

def test_pause_stops_claiming_and_resume_sends_the_rest_exactly_once(channel_log, commit):
    (health,) = some_topics(1)
    make_people(130, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    staff = Actor.system()

    def pause_during_first(channel, messages):
        if channel.calls == 1:
            sending.pause_send(bulletin=bulletin, actor=staff)

    channel = RecordingChannel(channel_log, on_send=pause_during_first, max_batch=20)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("bulletins.sending.batch.get_channel", lambda: channel)
        with commit():
            sending.start_send(bulletin=bulletin, actor=staff)
        # First batch claimed 50; its first chunk of 20 went, then the pause: the other 30 go back.
        assert statuses(bulletin) == {"sent": 20, "pending": 110}
        bulletin.refresh_from_db()
        assert bulletin.status == Bulletin.Status.PAUSED
        assert sending.send_batch(bulletin_id=bulletin.pk).claimed == 0
        with commit():
            assert sending.resume_send(bulletin=bulletin, actor=staff) == 110

    delivered = [entry["delivery"] for entry in read_log(channel_log)]
    assert len(delivered) == 130 and len(set(delivered)) == 130
    assert statuses(bulletin) == {"sent": 130}
    assert set(bulletin.deliveries.values_list("attempts", flat=True)) == {1}  # the paused claim did not count
    actions = set(AuditEntry.objects.filter(object_id=str(bulletin.pk)).values_list("action", flat=True))
    assert {"bulletin.send_paused", "bulletin.send_resumed"} <= actions


def test_cancel_stops_within_one_batch(channel_log, commit):
    (health,) = some_topics(1)
    make_people(200, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    cancelled_at = {}

    def cancel_during_first(channel, messages):
        if channel.calls == 1:
            sending.cancel_send(bulletin=bulletin, actor=Actor.system())
            cancelled_at["n"] = len(messages)

    channel = RecordingChannel(channel_log, on_send=cancel_during_first, max_batch=20)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("bulletins.sending.batch.get_channel", lambda: channel)
        with commit():
            sending.start_send(bulletin=bulletin, actor=Actor.system())
    # The chunk being handed over when staff cancelled goes; nothing after it.
    assert len(read_log(channel_log)) == 20
    assert statuses(bulletin) == {"sent": 20, "cancelled": 180}
    assert set(bulletin.deliveries.filter(status="cancelled").values_list("reason", flat=True)) == {
        "Cancelled by staff before it was sent."}
    bulletin.refresh_from_db()
    assert bulletin.status == Bulletin.Status.CANCELLED
    with pytest.raises(sending.SendRefused):
        sending.resume_send(bulletin=bulletin, actor=Actor.system())


# --- sweeper --------------------------------------------------------------------------------------

def test_sweeper_puts_expired_leases_back_and_nobody_is_skipped(channel_log, commit):
    (health,) = some_topics(1)
    make_people(60, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = False  # the bells ring into a queue nobody serves: a "dead" consumer
    try:
        with commit():
            sending.start_send(bulletin=bulletin, actor=Actor.system())
    finally:
        HUEY.immediate = True
    HUEY.flush()
    crashed = claim_batch(bulletin_id=bulletin.pk)  # a consumer claims, then dies before sending
    assert len(crashed.rows) == 50
    assert sending.sweep().leases_expired == 0  # lease still running: left alone
    later = timezone.now() + timedelta(seconds=3600)
    with time_machine.travel(later, tick=False):
        report = sending.sweep()
    assert report.leases_expired == 50
    assert statuses(bulletin) == {"sent": 60}
    assert len(read_log(channel_log)) == 60


def test_sweeper_launches_due_scheduled_bulletins_only(channel_log, commit):
    (health,) = some_topics(1)
    make_people(5, topics=[health])
    now = timezone.now()
    due = approved_bulletin(topics=[health], status=Bulletin.Status.SCHEDULED, subject="Due")
    future = approved_bulletin(topics=[health], status=Bulletin.Status.SCHEDULED, subject="Later")
    edited = approved_bulletin(topics=[health], status=Bulletin.Status.SCHEDULED, subject="Edited")
    Bulletin.objects.filter(pk=due.pk).update(scheduled_for=now - timedelta(minutes=1))
    Bulletin.objects.filter(pk=future.pk).update(scheduled_for=now + timedelta(hours=1))
    Bulletin.objects.filter(pk=edited.pk).update(scheduled_for=now - timedelta(minutes=1), version=2)
    with commit():
        assert sending.sweep().launched == [due.pk]
    assert dict(Bulletin.objects.values_list("subject", "status")) == {
        "Due": "sent", "Later": "scheduled", "Edited": "scheduled"}


# --- claims and throttle --------------------------------------------------------------------------

def test_claims_never_overlap_and_a_claim_needs_a_sending_bulletin():
    (health,) = some_topics(1)
    make_people(120, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    create_deliveries(bulletin=bulletin)
    assert claim_batch(bulletin_id=bulletin.pk).rows == []  # approved, not yet sending
    Bulletin.objects.filter(pk=bulletin.pk).update(status=Bulletin.Status.SENDING)
    claims = [claim_batch(bulletin_id=bulletin.pk) for _ in range(4)]
    sizes = [len(c.rows) for c in claims]
    assert sizes == [50, 50, 20, 0]
    ids = [row.delivery_id for c in claims for row in c.rows]
    assert len(ids) == len(set(ids)) == 120


def test_throttle_is_shared_through_the_cache():
    clock = {"now": 1000.25}
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 2))
        clock["now"] += seconds

    assert throttle.acquire(8, rate=10, clock=lambda: clock["now"], sleep=sleep) == 0
    # A second consumer in the same second gets the 2 places left, then waits for the next window.
    throttle.acquire(5, rate=10, clock=lambda: clock["now"], sleep=sleep)
    assert slept == [0.75]
    throttle.acquire(25, rate=10, clock=lambda: clock["now"], sleep=sleep)
    assert slept == [0.75, 1.0, 1.0]  # 7 left in window 1001, then 10 in 1002, then the last 8 in 1003


# --- links, progress, report ----------------------------------------------------------------------

def test_batch_links_are_the_links_rendering_gives_each_person():
    from bulletins.rendering import merge_values_for
    from bulletins.sending.messages import PersonalLinks

    (health,) = some_topics(1)
    people = make_people(2, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    links = PersonalLinks(bulletin)
    for contact in Contact.objects.filter(pk__in=people):
        with time_machine.travel(timezone.now(), tick=False):  # tokens carry a timestamp
            assert links.for_contact(contact) == merge_values_for(bulletin=bulletin, contact=contact)


def test_progress_counts_rate_and_estimated_finish():
    from bulletins.selectors import send_progress

    (health,) = some_topics(1)
    make_people(10, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    create_deliveries(bulletin=bulletin)
    now = timezone.now()
    Bulletin.objects.filter(pk=bulletin.pk).update(status="sending", send_started_at=now - timedelta(minutes=5))
    bulletin.refresh_from_db()
    rows = list(bulletin.deliveries.order_by("pk"))
    # 3 sent in the last minute, 1 sent 3 minutes ago, 1 failed, 1 skipped; 4 left (1 in flight).
    for row, ago in zip(rows[:4], (10, 20, 30, 180), strict=True):
        Delivery.objects.filter(pk=row.pk).update(status="sent", sent_at=now - timedelta(seconds=ago))
    Delivery.objects.filter(pk=rows[4].pk).update(status="failed", reason="Refused (550).")
    Delivery.objects.filter(pk=rows[5].pk).update(status="skipped", reason="Unsubscribed.")
    Delivery.objects.filter(pk=rows[6].pk).update(status="sending")
    progress = send_progress(bulletin=bulletin, now=now)
    assert progress.counts == {"pending": 3, "sending": 1, "sent": 4, "failed": 1, "skipped": 1, "cancelled": 0}
    assert (progress.total, progress.done, progress.remaining, progress.percent) == (10, 6, 4, 60)
    assert progress.rate_per_second == pytest.approx(3 / 60)
    assert progress.estimated_finish == now + timedelta(seconds=4 / (3 / 60))


def test_final_report_reasons_provider_events_unsubscribes_and_comments():
    from bulletins.models import Comment
    from bulletins.selectors import send_report

    (health,) = some_topics(1)
    people = make_people(8, topics=[health])
    bulletin = approved_bulletin(topics=[health], comments=True)
    create_deliveries(bulletin=bulletin)
    start = timezone.now() - timedelta(days=10)
    Bulletin.objects.filter(pk=bulletin.pk).update(status="sent", send_started_at=start,
                                                   erased_counts={"deliveries": 1, "deliveries_sent": 1,
                                                                  "provider_bounced": 1, "comments_approved": 1})
    bulletin.refresh_from_db()
    rows = {d.contact_id: d for d in bulletin.deliveries.all()}
    sent_at = start + timedelta(minutes=1)
    Delivery.objects.filter(pk__in=[rows[c].pk for c in people[:5]]).update(status="sent", sent_at=sent_at)
    Delivery.objects.filter(pk=rows[people[0]].pk).update(provider_status="delivered")
    Delivery.objects.filter(pk=rows[people[1]].pk).update(provider_status="bounced")
    Delivery.objects.filter(pk=rows[people[2]].pk).update(provider_status="complained")
    Delivery.objects.filter(pk__in=[rows[c].pk for c in people[5:7]]).update(status="failed", reason="Refused (550).")
    Delivery.objects.filter(pk=rows[people[7]].pk).update(status="skipped", reason="Unsubscribed.")
    # Unsubscribes: one 2 days after (counts), one 9 days after (outside 7 days), one by a skipped person.
    for contact_id, days in ((people[3], 2), (people[4], 9), (people[7], 1)):
        with time_machine.travel(start + timedelta(days=days), tick=False):
            unsubscribe_one_click(contact=Contact.objects.get(pk=contact_id), actor=Actor.public("127.0.0.1"))
    item = bulletin.items.first()
    for status in ("pending", "approved", "approved", "rejected"):
        Comment.objects.create(item=item, contact_id=people[0], body="Thanks", status=status)

    report = send_report(bulletin=bulletin)
    assert report.counts == {"pending": 0, "sending": 0, "sent": 6, "failed": 2, "skipped": 1, "cancelled": 0}
    assert report.failed_reasons == [("Refused (550).", 2)]
    assert report.skipped_reasons == [("Unsubscribed.", 1)]
    assert report.provider_counts == {"delivered": 1, "soft_bounced": 0, "bounced": 2, "complained": 1}
    assert report.unsubscribes == 1
    assert report.comments == {"pending": 1, "approved": 3, "rejected": 1, "total": 5}
    assert report.erased_people == 1


# --- staff pages ----------------------------------------------------------------------------------

@pytest.fixture
def sending_bulletin():
    (health,) = some_topics(1)
    make_people(30, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    create_deliveries(bulletin=bulletin)
    Bulletin.objects.filter(pk=bulletin.pk).update(status="sending", send_started_at=timezone.now() - timedelta(minutes=5))
    Delivery.objects.filter(pk__in=bulletin.deliveries.order_by("pk").values("pk")[:12]).update(
        status="sent", sent_at=timezone.now())
    bulletin.refresh_from_db()
    return bulletin


def test_progress_page_and_json_for_communications(staff_client, sending_bulletin):
    from django.urls import reverse

    client = staff_client("Communications")
    page = client.get(reverse("bulletins:progress", args=[sending_bulletin.public_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "12 of 30 done (40%)" in html
    assert '<progress class="mynhs-progress" id="send-progress-bar" max="30" value="12">40%</progress>' in html
    assert "Pause sending" in html and "Cancel sending" in html
    assert "bulletins/progress.mjs" in html and "<script>" not in html and "style=" not in html
    data = client.get(reverse("bulletins:progress_json", args=[sending_bulletin.public_id])).json()
    assert data["counts"]["sent"] == 12 and data["counts"]["pending"] == 18
    assert (data["done"], data["total"], data["percent"], data["live"]) == (12, 30, 40, True)
    assert data["rate_per_minute"] == 12  # 12 sent within the last minute


def test_pause_resume_and_cancel_from_the_page_are_audited(staff_client, sending_bulletin, commit, channel_log):
    from django.urls import reverse

    client = staff_client("Communications")
    public_id = sending_bulletin.public_id
    assert client.post(reverse("bulletins:pause", args=[public_id])).status_code == 302
    assert Bulletin.objects.get(pk=sending_bulletin.pk).status == "paused"
    assert "Resume sending" in client.get(reverse("bulletins:progress", args=[public_id])).content.decode()
    with commit():
        client.post(reverse("bulletins:resume", args=[public_id]))
    assert statuses(sending_bulletin) == {"sent": 30}  # the 18 left, once each
    assert len(read_log(channel_log)) == 18
    assert client.get(reverse("bulletins:cancel", args=[public_id])).status_code == 200
    client.post(reverse("bulletins:cancel", args=[public_id]))  # finished already: refused, said why
    assert Bulletin.objects.get(pk=sending_bulletin.pk).status == "sent"
    entries = AuditEntry.objects.filter(object_id=str(sending_bulletin.pk), actor=client.user)
    assert set(entries.values_list("action", flat=True)) == {"bulletin.send_paused", "bulletin.send_resumed"}


@pytest.mark.parametrize("role", ["Engagement", "Data protection", "Administrator"])
def test_other_roles_are_refused(staff_client, sending_bulletin, role):
    from django.urls import reverse

    client = staff_client(role)
    public_id = sending_bulletin.public_id
    for name in ("progress", "progress_json", "cancel"):
        assert client.get(reverse(f"bulletins:{name}", args=[public_id])).status_code == 403
    for name in ("pause", "resume", "cancel"):
        assert client.post(reverse(f"bulletins:{name}", args=[public_id])).status_code == 403
    assert Bulletin.objects.get(pk=sending_bulletin.pk).status == "sending"


def test_a_role_that_may_read_but_not_send_cannot_pause(staff_client, staff_user, sending_bulletin):
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    reader = staff_user()
    reader.user_permissions.add(Permission.objects.get(codename="view_bulletin"))
    client = staff_client(user=reader)
    public_id = sending_bulletin.public_id
    page = client.get(reverse("bulletins:progress", args=[public_id]))
    assert page.status_code == 200 and "Pause sending" not in page.content.decode()
    assert client.post(reverse("bulletins:pause", args=[public_id])).status_code == 403
    with pytest.raises(PermissionDenied):
        sending.pause_send(bulletin=sending_bulletin, actor=Actor.staff(reader))
    assert Bulletin.objects.get(pk=sending_bulletin.pk).status == "sending"


def test_concurrent_consumers_never_claim_the_same_row(transactional_db):
    """Six threads (each its own database connection) claim from one send until nothing is left:
    every row is claimed exactly once (SKIP LOCKED on PostgreSQL, write transactions on SQLite)."""
    import threading
    import time

    from django.db import connections

    (health,) = some_topics(1)
    make_people(600, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    create_deliveries(bulletin=bulletin)
    Bulletin.objects.filter(pk=bulletin.pk).update(status=Bulletin.Status.SENDING)
    claimed: list[list[int]] = []
    errors = []
    start = threading.Barrier(6)

    def consumer():
        mine = []
        try:
            start.wait()
            while rows := claim_batch(bulletin_id=bulletin.pk, limit=25).rows:
                mine.extend(row.delivery_id for row in rows)
                time.sleep(0.01)  # a real consumer sends between claims: the others get their turn
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            claimed.append(mine)
            connections.close_all()

    threads = [threading.Thread(target=consumer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    everything = [pk for mine in claimed for pk in mine]
    assert len(everything) == len(set(everything)) == 600
    assert sum(1 for mine in claimed if mine) >= 2  # they really ran side by side
    assert set(bulletin.deliveries.values_list("status", flat=True)) == {"sending"}


def test_rendered_once_per_distinct_set_of_matching_items(channel_log, commit, monkeypatch):
    from bulletins.sending import messages

    health, housing = some_topics(2)
    make_people(60, topics=[health], prefix="h")
    make_people(40, topics=[health, housing], prefix="hh")
    make_people(20, topics=[housing], prefix="o")
    bulletin = approved_bulletin(topics=[health, housing])
    calls = []
    real = messages.render_variant
    monkeypatch.setattr(messages, "render_variant", lambda **kw: calls.append(kw["matching_item_ids"]) or real(**kw))
    messages._VARIANTS.clear()
    with commit():
        sending.start_send(bulletin=bulletin, actor=Actor.system())
    assert statuses(bulletin) == {"sent": 120}  # three batches of 50, 50, 20
    items = dict(bulletin.items.values_list("topic_id", "pk"))
    assert sorted(calls, key=sorted) == sorted(
        [frozenset({items[health.pk]}), frozenset({items[health.pk], items[housing.pk]}),
         frozenset({items[housing.pk]})], key=sorted)
