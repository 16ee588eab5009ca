"""Event invitations through the bulletin pipeline: a segment reachable for events, the event's details, a
signed RSVP link per person, Invitation rows made at fan-out, the events purpose re-checked and unsubscribed."""

import email
import re
from datetime import datetime
from email import policy

import pytest
from django.core.exceptions import ValidationError

from bulletins import services
from bulletins.audience import audience_count
from bulletins.models import Delivery
from consent import services as consent_services
from consent.models import ConsentState
from crm.audit import Actor
from crm.models import Locality, PostcodeDistrict
from segments import events
from segments import services as segment_services
from segments.models import Invitation
from tests.bulletin_fixtures import *  # noqa: F403 - the shared fixtures, found by pytest by name

NORTH = {"version": 1, "match": "all", "rules": [{"field": "locality", "op": "in", "value": ["north-test"]}]}


@pytest.fixture
def outbox(settings, tmp_path):
    settings.EMAIL_OUTBOX_DIR = tmp_path
    return tmp_path


def read_outbox(folder) -> dict[str, email.message.EmailMessage]:
    mails = (email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in folder.glob("*.eml"))
    return {m["To"].split("@")[0]: m for m in mails}


@pytest.fixture
def people(db, make_contact, actor):
    """ann  North, events                         → invited
    bob  North, bulletin only                  → out: not reachable for events
    cat  South, events                         → out: not in the segment
    dan  North, events, already on an exported list (keeps his row)  → invited
    eve  North, events, suppressed             → out
    """
    north = Locality.objects.create(name="North Test", slug="north-test")
    south = Locality.objects.create(name="South Test", slug="south-test")
    PostcodeDistrict.objects.create(code="ZE1", locality=north)
    PostcodeDistrict.objects.create(code="ZE2", locality=south)
    made = {
        "ann": make_contact(email="ann@example.org", postcode="ZE1 0AA", purposes=("events", "bulletin")),
        "bob": make_contact(email="bob@example.org", postcode="ZE1 1AA", purposes=("bulletin",)),
        "cat": make_contact(email="cat@example.org", postcode="ZE2 1AA", purposes=("events",)),
        "dan": make_contact(email="dan@example.org", postcode="ZE1 2AA", purposes=("events",)),
        "eve": make_contact(email="eve@example.org", postcode="ZE1 3AA", purposes=("events",)),
    }
    consent_services.suppress_address(email="eve@example.org", reason="complaint", actor=actor)
    return made


@pytest.fixture
def engagement(staff_user):
    return Actor.staff(staff_user("Engagement"))


@pytest.fixture
def chat(db, engagement):
    return events.save_event(actor=engagement, kind="big_chat", title="Big Chat, Bootle",
                             starts_at=datetime(2027, 3, 11, 18, 30), ends_at=datetime(2027, 3, 11, 20, 0),
                             venue_name="Bootle Town Hall", venue_address="Oriel Road, Bootle", step_free=True,
                             hearing_loop=True, bsl_interpreter=False, accessibility_notes="Lift to the first floor.",
                             online_link="https://meet.example.org/big-chat", capacity=1)


@pytest.fixture
def invitation(people, chat, engagement, author_actor):
    segment = segment_services.create_segment(name="North", rules=NORTH, actor=engagement)
    Invitation.objects.create(event=chat, contact=people["dan"], source=Invitation.Source.EXPORT)
    return services.create_bulletin(subject="You are invited to the Big Chat", introduction="Come and tell us.",
                                    kind="event_invitation", event=chat, segment=segment, actor=author_actor)


def test_the_audience_is_the_segment_reachable_for_events_not_bulletin(invitation):
    assert invitation.purposes == ("events",)
    assert audience_count(bulletin=invitation) == 2  # ann, dan


def test_an_invitation_needs_its_event_and_a_segment(chat, author_actor, people):
    with pytest.raises(ValidationError, match="segment"):
        services.create_bulletin(subject="Come", introduction="Hi", kind="event_invitation", event=chat,
                                 actor=author_actor)
    with pytest.raises(ValidationError, match="event"):
        services.create_bulletin(subject="Come", kind="event_invitation", actor=author_actor)


def test_sending_invites_each_person_with_the_event_details_and_their_own_rsvp_link(
        invitation, chat, people, send_bulletin, outbox, client):
    sent = send_bulletin(invitation)
    assert sent.status == "sent"
    assert set(Delivery.objects.filter(bulletin=sent, status="sent").values_list("contact__email", flat=True)) == {
        "ann@example.org", "dan@example.org"}
    rows = {i.contact.email.split("@")[0]: i for i in Invitation.objects.filter(event=chat).select_related("contact")}
    assert set(rows) == {"ann", "dan"}
    assert rows["ann"].source == "email" and rows["ann"].invited_at is not None
    assert rows["dan"].source == "export" and rows["dan"].invited_at is not None  # kept his row; invited_at set

    mails = read_outbox(outbox)
    assert set(mails) == {"ann", "dan"}
    html = mails["ann"].get_body(("html",)).get_content()
    text = mails["ann"].get_body(("plain",)).get_content()
    for expected in ("Thursday 11 March 2027, 6:30pm to 8pm", "Bootle Town Hall", "Step-free access to the room",
                     "Hearing loop", "No BSL interpreter booked", "Lift to the first floor.",
                     "https://meet.example.org/big-chat", f"/events/{chat.public_id}/"):
        assert expected in text, expected
    assert "Yes, I will come" in html and "Maybe" in html and "No, I cannot come" in html
    assert "Tell us what you need" in html
    ann_rsvp = re.search(r"https?://[^\s\"]+/events/rsvp/([^/\s\"]+)/", text).group(1)
    dan_rsvp = re.search(r"https?://[^\s\"]+/events/rsvp/([^/\s\"]+)/", read_outbox(outbox)["dan"].get_body(
        ("plain",)).get_content()).group(1)
    assert ann_rsvp != dan_rsvp

    # The RSVP from the email reaches segments.events.respond: capacity 1, so the second "yes" waits.
    assert client.post(f"/events/rsvp/{ann_rsvp}/", {"response": "yes", "access_needs": "A hearing loop"}
                       ).status_code == 200
    assert client.post(f"/events/rsvp/{dan_rsvp}/", {"response": "yes"}).status_code == 200
    rows = {i.contact.email.split("@")[0]: i for i in Invitation.objects.filter(event=chat).select_related("contact")}
    assert rows["ann"].response == "yes" and not rows["ann"].waiting_list and rows["ann"].access_needs == "A hearing loop"
    assert rows["dan"].response == "yes" and rows["dan"].waiting_list


def test_the_one_click_unsubscribe_withdraws_events_not_the_bulletin(invitation, people, send_bulletin, outbox, client):
    send_bulletin(invitation)
    ann = read_outbox(outbox)["ann"]
    url = re.search(r"<(https?:[^>]+)>", " ".join(str(ann["List-Unsubscribe"]).split())).group(1)
    assert "/unsubscribe/events/" in url
    path = url.split("://", 1)[1].split("/", 1)[1]
    assert client.post("/" + path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    states = dict(ConsentState.objects.filter(contact=people["ann"]).values_list("purpose__code", "status"))
    assert states["events"] == "withdrawn"
    assert states["bulletin"] == "granted"
    # The same token under the bulletin's own unsubscribe address is refused (the purpose is signed in).
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert client.post(f"/unsubscribe/{token}", {"List-Unsubscribe": "One-Click"}).status_code == 404


def test_the_send_time_recheck_uses_the_events_purpose(invitation, people, approver_actor, actor, outbox):
    from bulletins.sending import batch

    services.approve_bulletin(bulletin=invitation, version=invitation.version, actor=approver_actor)
    # Fan-out only: the batch bell rings on commit, which this test's transaction never reaches.
    services.send_bulletin_now(bulletin=invitation, actor=approver_actor)
    consent_services.withdraw(contact=people["ann"], purpose="events", method="staff_on_request", actor=actor)
    batch.send_batch(bulletin_id=invitation.pk)
    outcome = dict(Delivery.objects.filter(bulletin=invitation).values_list("contact__email", "status"))
    assert outcome == {"ann@example.org": "skipped", "dan@example.org": "sent"}
    assert "events" in Delivery.objects.get(bulletin=invitation, contact=people["ann"]).reason


def test_the_event_page_links_to_email_invitations_and_lists_them(invitation, chat, staff_client, staff_user):
    comms = staff_client("Communications", "Engagement")
    page = comms.get(f"/staff/events/{chat.public_id}/").content.decode()
    assert f'href="/staff/bulletins/invite/{chat.public_id}/"' in page
    assert "You are invited to the Big Chat" in page
    engagement_only = staff_client("Engagement").get(f"/staff/events/{chat.public_id}/").content.decode()
    assert "/staff/bulletins/invite/" not in engagement_only


def test_the_invitation_form_makes_an_invitation_and_refuses_other_roles(chat, people, engagement, staff_client):
    segment = segment_services.create_segment(name="North", rules=NORTH, actor=engagement)
    url = f"/staff/bulletins/invite/{chat.public_id}/"
    assert staff_client("Engagement").get(url).status_code == 403
    comms = staff_client("Communications")
    assert "Invite people to Big Chat, Bootle" in comms.get(url).content.decode()
    response = comms.post(url, {"subject": "Come to the Big Chat", "preheader": "", "introduction": "Please come.",
                                "segment": str(segment.pk)})
    assert response.status_code == 302
    from bulletins.models import Bulletin

    made = Bulletin.objects.get(subject="Come to the Big Chat")
    assert made.kind == "event_invitation" and made.event == chat and made.segment == segment
    assert "2</span> people would get it" in comms.get(response["Location"]).content.decode()
