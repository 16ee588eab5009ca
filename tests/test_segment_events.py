"""Events: London times, RSVP links bound to one person and one event, capacity and waiting list, attendance."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from crm.audit import Actor
from segments import events
from segments.models import Event, Invitation
from segments.rsvp import rsvp_tokens


@pytest.fixture
def organiser(staff_user):
    return Actor.staff(staff_user("Engagement"))


@pytest.fixture
def chat(db, organiser):
    return events.save_event(actor=organiser, kind="big_chat", title="Big Chat, Bootle",
                             starts_at=datetime(2027, 3, 12, 10, 0), ends_at=datetime(2027, 3, 12, 12, 30),
                             venue_name="Bootle Town Hall", step_free=True, hearing_loop=True, capacity=2)


@pytest.fixture
def invite(chat, make_contact):
    def make(name, event=None):
        contact = make_contact(email=f"{name}@example.org", purposes=("events",))
        return Invitation.objects.create(event=event or chat, contact=contact, source=Invitation.Source.EXPORT)

    return make


def test_times_are_london_wall_clock_stored_in_utc(chat):
    assert chat.starts_at == datetime(2027, 3, 12, 10, 0, tzinfo=UTC)  # GMT in March before the change
    summer = events.save_event(actor=Actor.system(), event=chat, starts_at=datetime(2027, 7, 1, 10, 0),
                               ends_at=datetime(2027, 7, 1, 12, 0))
    assert summer.starts_at == datetime(2027, 7, 1, 9, 0, tzinfo=UTC)  # BST


def test_a_time_the_clocks_skip_is_refused(chat):
    with pytest.raises(ValidationError, match="does not exist"):
        events.save_event(actor=Actor.system(), event=chat, starts_at=datetime(2027, 3, 28, 1, 30),
                          ends_at=datetime(2027, 3, 28, 4, 0))


def test_end_before_start_is_refused(chat):
    with pytest.raises(ValidationError):
        events.save_event(actor=Actor.system(), event=chat, starts_at=datetime(2027, 3, 12, 12, 0),
                          ends_at=datetime(2027, 3, 12, 11, 0))


def test_rsvp_link_works_only_for_its_own_person_and_event(chat, invite, organiser):
    ann, bob = invite("ann"), invite("bob")
    other_event = events.save_event(actor=organiser, title="Mini Chat", starts_at=datetime(2027, 4, 1, 10, 0),
                                    ends_at=datetime(2027, 4, 1, 11, 0))
    ann_other = Invitation.objects.create(event=other_event, contact=ann.contact)
    token = rsvp_tokens.make_token(ann)
    assert rsvp_tokens.check_token(token) == ann
    # Swap in bob's id or the other event's id: the signature no longer matches.
    contact_hex, rest = token.split(".", 1)
    assert rsvp_tokens.check_token(f"{bob.contact.public_id.hex}.{rest}") is None
    event_part, signed = rest.split(":", 1)
    assert rsvp_tokens.check_token(f"{contact_hex}.{other_event.public_id.hex}:{signed}") is None
    assert rsvp_tokens.check_token(rsvp_tokens.make_token(ann_other)) == ann_other
    assert rsvp_tokens.check_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_signing_out_of_all_links_kills_rsvp_links(chat, invite):
    from crm.personal_links import invalidate_personal_links

    ann = invite("ann")
    token = rsvp_tokens.make_token(ann)
    invalidate_personal_links(contact=ann.contact, actor=Actor.system(), reason="test")
    assert rsvp_tokens.check_token(token) is None


def test_capacity_puts_late_yeses_on_the_waiting_list_and_a_freed_place_goes_to_the_first(chat, invite):
    ann, bob, cat, dan = (invite(n) for n in ("ann", "bob", "cat", "dan"))
    person = Actor.public()
    events.respond(invitation=ann, response="yes", actor=person)
    events.respond(invitation=bob, response="yes", access_needs="I need a hearing loop", actor=person)
    cat = events.respond(invitation=cat, response="yes", actor=person)
    dan = events.respond(invitation=dan, response="yes", actor=person)
    assert (cat.waiting_list, dan.waiting_list) == (True, True)
    assert events.places_taken(chat) == 2
    events.respond(invitation=ann, response="no", actor=person)
    cat.refresh_from_db()
    dan.refresh_from_db()
    assert (cat.waiting_list, dan.waiting_list) == (False, True)  # cat waited longest
    assert events.places_taken(chat) == 2
    bob.refresh_from_db()
    assert bob.access_needs == "I need a hearing loop"


def test_answering_yes_twice_keeps_the_place(chat, invite):
    ann = invite("ann")
    events.respond(invitation=ann, response="yes", actor=Actor.public())
    again = events.respond(invitation=ann, response="yes", actor=Actor.public())
    assert not again.waiting_list and events.places_taken(chat) == 1


def test_register_records_exactly_the_ticked_people(chat, invite, organiser):
    ann, bob = invite("ann"), invite("bob")
    assert events.record_register(event=chat, attended_contact_ids={ann.contact_id}, actor=organiser) == 1
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.attended, bob.attended) == (True, False)


def test_a_walk_in_is_matched_by_normalised_address_and_unknown_people_are_refused(chat, make_contact, organiser):
    contact = make_contact(email="Walker@Example.org")
    walk_in = events.add_walk_in(event=chat, email="  WALKER@example.ORG ", actor=organiser)
    assert walk_in.contact == contact and walk_in.attended and walk_in.source == Invitation.Source.WALK_IN
    with pytest.raises(ValidationError):
        events.add_walk_in(event=chat, email="stranger@example.org", actor=organiser)


def test_attendance_upload_reports_bad_lines_by_number_and_records_nothing(chat, invite, organiser):
    ann = invite("ann")
    content = b"email\nann@example.org\nnot-an-address\nnobody@example.org\n"
    result = events.upload_attendance(event=chat, content=content, actor=organiser)
    assert result.rejected == [(3, "not an email address"), (4, "nobody with this address is on the list")]
    ann.refresh_from_db()
    assert not ann.attended
    result = events.upload_attendance(event=chat, content=b"email\nANN@example.org\n", actor=organiser)
    assert result.matched == 1 and not result.rejected
    ann.refresh_from_db()
    assert ann.attended


def test_events_are_in_subject_access_and_go_with_erasure(chat, invite):
    from consent.erasure import erase_contact
    from consent.exports import personal_data_for

    ann = invite("ann")
    data = personal_data_for(ann.contact)
    assert data["event_invitations"][0]["event"] == "Big Chat, Bootle"
    erase_contact(contact=ann.contact, actor=Actor.system())
    assert not Invitation.objects.exists()
    assert Event.objects.filter(pk=chat.pk).exists()
