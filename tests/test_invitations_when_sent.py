# ruff: noqa: F811 - the fixtures imported from tests.test_event_invitations are pytest arguments by name
"""An emailed invitation is recorded when its copy is sent, not when the send starts (brief F, part 1).

The people (tests.test_event_invitations.people): ann and dan are the invitation's audience; dan was
already on an exported list before the email.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from bulletins import services
from bulletins.channels.base import FAILED, SENT, SendResult
from bulletins.models import Delivery
from bulletins.sending import batch, messages
from bulletins.sending.record import record_emailed_invitations
from bulletins.sending.sweeper import release_expired_leases
from consent import services as consent_services
from segments.models import Invitation
from tests.bulletin_fixtures import *  # noqa: F403 - the shared fixtures, found by pytest by name
from tests.test_event_invitations import chat, engagement, invitation, outbox, people  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _forget_rendered_variants():
    """The sender keeps rendered copies per process by (bulletin pk, version); a later test's bulletin can reuse
    the pk (SQLite rolls back), so leave none behind."""
    yield
    messages._VARIANTS.clear()


class Channel:
    """Answers each message with ``outcomes[local part]`` (default sent); can crash after the hand-over."""

    max_batch = 50

    def __init__(self, outcomes=None, crash=False):
        self.outcomes, self.crash, self.handed = outcomes or {}, crash, []

    def send(self, messages):
        self.handed += [m.to.split("@")[0] for m in messages]
        if self.crash:
            raise RuntimeError("worker died after the hand-over")
        return [SendResult(delivery_id=m.delivery_id, outcome=self.outcomes.get(m.to.split("@")[0], SENT),
                           reason="Refused", provider_message_id=f"mid-{m.delivery_id}") for m in messages]


def fan_out(invitation, approver_actor):
    """Approve and start the send; the batch bell rings on commit, which a test's transaction never reaches."""
    services.approve_bulletin(bulletin=invitation, version=invitation.version, actor=approver_actor)
    services.send_bulletin_now(bulletin=invitation, actor=approver_actor)


def invited(chat) -> dict[str, Invitation]:
    return {i.contact.email.split("@")[0]: i for i in Invitation.objects.filter(event=chat).select_related("contact")}


def test_nobody_is_recorded_as_invited_when_the_send_starts(invitation, chat, approver_actor):
    fan_out(invitation, approver_actor)
    assert Delivery.objects.filter(bulletin=invitation).count() == 2
    assert set(invited(chat)) == {"dan"}  # only his exported-list row, still without invited_at
    assert invited(chat)["dan"].invited_at is None


def test_someone_who_withdraws_events_before_their_batch_has_no_invitation(invitation, chat, people,
                                                                           approver_actor, actor):
    fan_out(invitation, approver_actor)
    consent_services.withdraw(contact=people["ann"], purpose="events", method="staff_on_request", actor=actor)
    batch.send_batch(bulletin_id=invitation.pk, channel=Channel())
    assert dict(Delivery.objects.filter(bulletin=invitation).values_list("contact__email", "status")) == {
        "ann@example.org": "skipped", "dan@example.org": "sent"}
    rows = invited(chat)
    assert set(rows) == {"dan"}
    assert rows["dan"].invited_at is not None


def test_a_failed_message_makes_no_invitation(invitation, chat, approver_actor):
    fan_out(invitation, approver_actor)
    batch.send_batch(bulletin_id=invitation.pk, channel=Channel(outcomes={"ann": FAILED}))
    assert Delivery.objects.get(bulletin=invitation, contact__email="ann@example.org").status == "failed"
    rows = invited(chat)
    assert set(rows) == {"dan"}


def test_the_sent_copy_records_the_invitation_at_the_sent_time(invitation, chat, approver_actor):
    fan_out(invitation, approver_actor)
    before = timezone.now()
    batch.send_batch(bulletin_id=invitation.pk, channel=Channel())
    ann = invited(chat)["ann"]
    sent_at = Delivery.objects.get(bulletin=invitation, contact__email="ann@example.org").sent_at
    assert ann.source == "email" and ann.response == "" and ann.invited_at == sent_at and sent_at >= before


def test_a_batch_resent_after_a_crash_makes_no_duplicate(invitation, chat, approver_actor):
    fan_out(invitation, approver_actor)
    crashing = Channel(crash=True)
    with pytest.raises(RuntimeError):
        batch.send_batch(bulletin_id=invitation.pk, channel=crashing)
    assert sorted(crashing.handed) == ["ann", "dan"]
    assert set(invited(chat)) == {"dan"}  # nothing recorded: the crash came before the outcome
    # The sweeper finds the expired lease and puts the rows back; the batch is sent a second time.
    assert release_expired_leases(now=timezone.now() + timedelta(hours=2)) == 2
    batch.send_batch(bulletin_id=invitation.pk, channel=Channel())
    rows = invited(chat)
    assert set(rows) == {"ann", "dan"}
    first = rows["ann"].invited_at
    # Recording the same sent copies again (a second consumer's late report) adds and changes nothing.
    ids = list(Delivery.objects.filter(bulletin=invitation).values_list("pk", flat=True))
    record_emailed_invitations(bulletin=invitation, delivery_ids=ids, invited_at=first + timedelta(days=1))
    assert Invitation.objects.filter(event=chat).count() == 2
    assert invited(chat)["ann"].invited_at == first


def test_someone_invited_by_export_keeps_their_row_and_answer(invitation, chat, people, approver_actor):
    Invitation.objects.filter(event=chat, contact=people["dan"]).update(response="maybe", access_needs="Large print")
    fan_out(invitation, approver_actor)
    batch.send_batch(bulletin_id=invitation.pk, channel=Channel())
    dan = invited(chat)["dan"]
    assert (dan.source, dan.response, dan.access_needs) == ("export", "maybe", "Large print")
    assert dan.invited_at is not None  # the missing date is filled in
    # A date already there is kept.
    earlier = timezone.now() - timedelta(days=3)
    Invitation.objects.filter(pk=dan.pk).update(invited_at=earlier)
    record_emailed_invitations(bulletin=invitation, delivery_ids=list(
        Delivery.objects.filter(bulletin=invitation).values_list("pk", flat=True)), invited_at=timezone.now())
    assert Invitation.objects.get(pk=dan.pk).invited_at == earlier

