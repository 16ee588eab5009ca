"""Event pages: London times typed as date + time, the spring gap refused, the event page's counts and
invitations, the register, walk-ins, attendance uploads (all or nothing, line numbers), the public event
page and the RSVP page (GET changes nothing; POST answers; waiting list; bad links; rate limit)."""

import re
from datetime import UTC, datetime

import pytest
from django.test import override_settings
from django.urls import reverse

from crm.audit import Actor
from segments import events
from segments.models import Event, Invitation
from segments.rsvp import rsvp_tokens

ENGAGEMENT = "Engagement"


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def engagement(staff_client):
    return staff_client(ENGAGEMENT)


@pytest.fixture
def chat(db, staff_user):
    return events.save_event(actor=Actor.staff(staff_user(ENGAGEMENT)), kind="big_chat", title="Big Chat, Bootle",
                             starts_at=datetime(2027, 3, 12, 10, 0), ends_at=datetime(2027, 3, 12, 12, 30),
                             venue_name="Bootle Town Hall", step_free=True, hearing_loop=True, capacity=1,
                             accessibility_notes="Lift to the first floor.")


@pytest.fixture
def invite(chat, make_contact):
    def make(name):
        contact = make_contact(email=f"{name.lower()}@example.org", name=name, purposes=("events",))
        return Invitation.objects.create(event=chat, contact=contact, source=Invitation.Source.EXPORT)
    return make


def event_form(**changes) -> dict:
    data = {"kind": "mini_chat", "title": "Mini Chat, Crosby", "description": "", "day_0": "1", "day_1": "7",
            "day_2": "2027", "starts": "10am", "ends": "11:30", "venue_name": "Crosby Library",
            "venue_address": "", "accessibility_notes": "", "online_link": "", "locality": "", "capacity": "20",
            "step_free": "on"}
    data.update(changes)
    return data


# --- staff: events -----------------------------------------------------------------------------------

def test_an_event_is_created_in_london_time(engagement):
    response = engagement.post(reverse("segments:event_new"), event_form())
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("segments:event_detail",
                                                                            args=[event.public_id])
    assert event.starts_at == datetime(2027, 7, 1, 9, 0, tzinfo=UTC)  # 10am BST
    assert event.ends_at == datetime(2027, 7, 1, 10, 30, tzinfo=UTC)
    assert event.capacity == 20 and event.step_free and not event.hearing_loop
    text = text_of(engagement.get(response["Location"]))
    assert "Thursday 1 July 2027, 10am to 11:30am" in text


def test_a_time_the_clocks_skip_is_refused_with_the_service_message(engagement):
    page = engagement.post(reverse("segments:event_new"), event_form(day_0="28", day_1="3", starts="1:30am",
                                                                     ends="3am"))
    assert page.status_code == 200 and "does not exist in UK time (the clocks go forward)" in page.content.decode()
    assert 'href="#id_starts"' in page.content.decode()
    assert not Event.objects.exists()


def test_an_end_before_the_start_and_a_bad_time_are_errors(engagement):
    page = engagement.post(reverse("segments:event_new"), event_form(starts="2pm", ends="1pm"))
    assert "The end must be after the start" in page.content.decode()
    page = engagement.post(reverse("segments:event_new"), event_form(starts="25:00"))
    assert "Enter a real time" in page.content.decode()
    assert not Event.objects.exists()


def test_editing_shows_the_london_times_and_saves(engagement, chat):
    url = reverse("segments:event_edit", args=[chat.public_id])
    html = engagement.get(url).content.decode()
    assert 'value="10:00"' in html and 'value="12:30"' in html and 'value="12"' in html
    engagement.post(url, event_form(title="Big Chat, Bootle (moved)", day_0="12", day_1="3", starts="11am",
                                    ends="1pm"))
    chat.refresh_from_db()
    assert chat.title == "Big Chat, Bootle (moved)" and chat.starts_at == datetime(2027, 3, 12, 11, 0, tzinfo=UTC)


def test_the_event_page_counts_answers_and_lists_needs(engagement, chat, invite):
    ann, bob, cat, dee = invite("Ann"), invite("Bob"), invite("Cat"), invite("Dee")
    public = Actor.public("127.0.0.1")
    events.respond(invitation=ann, response="yes", access_needs="A hearing loop seat", actor=public)
    events.respond(invitation=bob, response="yes", actor=public)  # capacity 1: waiting list
    events.respond(invitation=cat, response="no", actor=public)
    events.record_register(event=chat, attended_contact_ids={ann.contact_id}, actor=public)
    text = text_of(engagement.get(reverse("segments:event_detail", args=[chat.public_id])))
    for label, figure in (("Invited", 4), ("Coming", 1), ("Not coming", 1), ("Maybe", 0),
                          ("On the waiting list", 1), ("Came", 1)):
        assert f"{label} {figure} " in text, label
    assert "A hearing loop seat" in text and "Friday 12 March 2027, 10am to 12:30pm" in text
    assert "Step-free access to the room" in text and "Lift to the first floor." in text
    assert dee.contact.name in text


def test_the_list_separates_upcoming_and_past(engagement, chat, staff_user):
    events.save_event(actor=Actor.staff(staff_user(ENGAGEMENT)), title="Old Chat", starts_at=datetime(2020, 1, 2, 10),
                      ends_at=datetime(2020, 1, 2, 11))
    text = text_of(engagement.get(reverse("segments:event_list")))
    assert text.index("Coming up") < text.index("Big Chat, Bootle") < text.index("Past events") < text.index("Old Chat")


def test_the_register_records_exactly_the_ticked_people(engagement, chat, invite):
    ann, bob = invite("Ann"), invite("Bob")
    url = reverse("segments:event_register", args=[chat.public_id])
    assert "Bob" in text_of(engagement.get(url))
    engagement.post(url, {"attended": [str(ann.contact_id), "999999"]})
    assert set(Invitation.objects.filter(attended=True).values_list("contact__name", flat=True)) == {"Ann"}
    engagement.post(url, {"attended": [str(bob.contact_id)]})
    assert set(Invitation.objects.filter(attended=True).values_list("contact__name", flat=True)) == {"Bob"}


def test_a_walk_in_is_matched_by_normalised_email(engagement, chat, make_contact):
    make_contact(email="walker@example.org", name="Wally Walker", purposes=("bulletin",))
    url = reverse("segments:event_walk_in", args=[chat.public_id])
    engagement.post(url, {"email": "  WALKER@Example.org "})
    invitation = Invitation.objects.get()
    assert invitation.attended and invitation.source == Invitation.Source.WALK_IN
    page = engagement.post(url, {"email": "nobody@example.org"})
    assert "Nobody with this address is on the list yet" in page.content.decode()


def _upload(client, chat, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("segments:event_attendance_upload", args=[chat.public_id]),
                       {"file": SimpleUploadedFile("came.csv", content, content_type="text/csv")})


def test_an_attendance_upload_with_a_bad_line_records_nothing_and_lists_line_numbers(engagement, chat, invite):
    invite("Ann")
    page = _upload(engagement, chat, b"email\nann@example.org\nnot-an-address\nstranger@example.org\n")
    text = text_of(page)
    assert "Nothing was recorded: 2 lines of the file need correcting" in text
    assert "3 Not an email address" in text and "4 Nobody with this address is on the list" in text
    assert not Invitation.objects.filter(attended=True).exists()
    response = _upload(engagement, chat, b"email\nann@example.org\n")
    assert response.status_code == 302 and Invitation.objects.filter(attended=True).count() == 1


# --- public pages --------------------------------------------------------------------------------------

def test_the_public_event_page_gives_date_place_and_access(client, chat):
    text = text_of(client.get(reverse("segments:public_event", args=[chat.public_id])))
    assert "Big Chat, Bootle" in text and "Friday 12 March 2027, 10am to 12:30pm" in text
    assert "Bootle Town Hall" in text and "Step-free access to the room" in text and "Hearing loop" in text
    assert "No BSL interpreter booked" in text


def test_opening_the_rsvp_link_changes_nothing_and_posting_answers(client, chat, invite):
    ann = invite("Ann")
    url = reverse("segments:rsvp", args=[rsvp_tokens.make_token(ann)])
    page = client.get(url)
    assert page.status_code == 200 and "Are you coming?" in page.content.decode()
    assert client.head(url).status_code == 200
    ann.refresh_from_db()
    assert ann.response == "" and ann.responded_at is None
    page = client.post(url, {"response": "yes", "access_needs": "Large print, please"})
    ann.refresh_from_db()
    assert ann.response == "yes" and ann.access_needs == "Large print, please" and not ann.waiting_list
    assert "You're coming" in page.content.decode()


def test_the_emails_answer_links_preselect_the_answer_but_record_nothing(client, chat, invite):
    ann = invite("Ann")
    url = reverse("segments:rsvp", args=[rsvp_tokens.make_token(ann)])
    page = client.get(url + "?response=maybe").content.decode()
    assert re.search(r'<input[^>]*value="maybe"[^>]*checked', page)
    assert not re.search(r'<input[^>]*value="yes"[^>]*checked', page)
    ann.refresh_from_db()
    assert ann.response == "" and ann.responded_at is None
    page = client.get(url + "?response=<script>").content.decode()  # not a choice: nothing pre-selected
    assert not re.search(r'<input[^>]*checked', page) and "<script>" not in page


def test_a_yes_when_full_goes_on_the_waiting_list(client, chat, invite):
    ann, bob = invite("Ann"), invite("Bob")
    client.post(reverse("segments:rsvp", args=[rsvp_tokens.make_token(ann)]), {"response": "yes"})
    page = client.post(reverse("segments:rsvp", args=[rsvp_tokens.make_token(bob)]), {"response": "yes"})
    assert "You're on the waiting list" in page.content.decode()
    bob.refresh_from_db()
    assert bob.waiting_list


def test_an_answer_is_required(client, chat, invite):
    page = client.post(reverse("segments:rsvp", args=[rsvp_tokens.make_token(invite("Ann"))]), {"response": ""})
    assert "Tell us if you are coming" in page.content.decode() and "There is a problem" in page.content.decode()


def test_bad_or_killed_links_get_the_link_invalid_page(client, chat, invite, actor):
    from crm.personal_links import invalidate_personal_links

    ann = invite("Ann")
    token = rsvp_tokens.make_token(ann)
    for bad in (token[:-2] + "xx", "nonsense", token.replace(".", "", 1)):
        page = client.get(reverse("segments:rsvp", args=[bad]))
        assert page.status_code == 404 and "This link is not valid" in page.content.decode()
    invalidate_personal_links(contact=ann.contact, actor=actor, reason="erasure")
    page = client.post(reverse("segments:rsvp", args=[token]), {"response": "yes"})
    assert page.status_code == 404
    ann.refresh_from_db()
    assert ann.response == ""


@override_settings(PUBLIC_RATE_LIMIT="2/m")
def test_rsvp_posts_spend_the_public_budget(client, chat, invite):
    url = reverse("segments:rsvp", args=[rsvp_tokens.make_token(invite("Ann"))])
    assert client.post(url, {"response": "no"}).status_code == 200
    assert client.post(url, {"response": "maybe"}).status_code == 200
    refused = client.post(url, {"response": "yes"})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert Invitation.objects.get().response == "maybe"
