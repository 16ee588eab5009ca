"""Staff API: event invitations and "you said, we did" feedback, with the pages' rules (brief F, part 2).

Who: ``comms`` holds Communications and Engagement (writes bulletins, sees events and segments, but has no
equality permission), ``comms_equality`` also Data protection (the equality permission), ``comms_only``
Communications alone (no events), ``engagement`` Engagement alone (no bulletin permissions: refused).
"""

import uuid
from datetime import datetime

import pytest

from bulletins.models import Bulletin
from crm.audit import Actor
from crm.models import Locality
from crm.staff.services import create_api_token
from segments import activities, events
from segments import services as segment_services
from segments.models import Programme

URL = "/api/v1/staff/bulletins"
NORTH = {"version": 1, "match": "all", "rules": [{"field": "locality", "op": "in", "value": ["north-test"]}]}
OVER_80 = {"version": 1, "match": "all", "rules": [{"field": "age_band", "op": "in", "value": ["80+"]}]}

pytestmark = pytest.mark.django_db


def token_for(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user=user, name='kinds', actor=Actor.staff(user))[1]}"}


@pytest.fixture
def users(staff_user):
    return {"comms": staff_user("Communications", "Engagement"), "comms_only": staff_user("Communications"),
            "comms_equality": staff_user("Communications", "Engagement", "Data protection"),
            "engagement": staff_user("Engagement")}


@pytest.fixture
def post(client, users):
    def send(who, body):
        return client.post(URL, body, content_type="application/json", **token_for(users[who]))
    return send


@pytest.fixture
def world(users):
    Locality.objects.create(name="North Test", slug="north-test")
    lead = Actor.staff(users["engagement"])
    protected = segment_services.create_segment(name="Over 80s", rules=OVER_80,
                                                actor=Actor.staff(users["comms_equality"]))
    chat = events.save_event(actor=lead, kind="big_chat", title="Big Chat, Bootle",
                             starts_at=datetime(2027, 3, 11, 18, 30), ends_at=datetime(2027, 3, 11, 20, 0),
                             venue_name="Bootle Town Hall", venue_address="Oriel Road, Bootle", step_free=True,
                             hearing_loop=True, bsl_interpreter=False, accessibility_notes="", online_link="",
                             capacity=20)
    north = segment_services.create_segment(name="North", rules=NORTH, actor=lead)
    programme = Programme.objects.get_or_create(name="Mental health test")[0]
    planned = activities.create_activity(actor=lead, title="Planned review", programme=programme, kind="consultation")
    done = activities.create_activity(actor=lead, title="Talking therapies review", programme=programme,
                                      kind="consultation", you_said="Evenings.", we_did="Two evening clinics.")
    activities.change_status(activity=done, status="in_progress", actor=lead)
    done = activities.change_status(activity=done, status="completed", actor=lead)
    assert protected.uses_equality and not north.uses_equality
    return {"chat": chat, "north": north, "protected": protected, "planned": planned, "done": done}


def invitation_body(world, **changes):
    return {"subject": "You are invited to the Big Chat", "introduction": "Come and tell us.",
            "kind": "event_invitation", "event": str(world["chat"].public_id), "segment": world["north"].pk, **changes}


def test_an_invitation_is_made_with_its_event_and_segment_and_shows_them(post, client, world, users):
    answer = post("comms", invitation_body(world))
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["kind"], body["event"], body["segment"], body["activity"]) == (
        "event_invitation", str(world["chat"].public_id), world["north"].pk, None)
    made = Bulletin.objects.get(public_id=body["public_id"])
    assert (made.kind, made.event, made.segment) == ("event_invitation", world["chat"], world["north"])
    shown = client.get(f"{URL}/{made.public_id}", **token_for(users["comms"])).json()
    assert (shown["kind"], shown["event"], shown["segment"]) == ("event_invitation", str(world["chat"].public_id),
                                                                 world["north"].pk)
    listed = client.get(URL, **token_for(users["comms"])).json()
    assert [(b["kind"], b["event"]) for b in listed] == [("event_invitation", str(world["chat"].public_id))]


def test_an_invitation_needs_a_segment_and_an_event(post, world):
    no_segment = post("comms", invitation_body(world, segment=None))
    assert no_segment.status_code == 422 and "segment" in no_segment.json()["errors"]
    no_event = post("comms", invitation_body(world, event=None))
    assert no_event.status_code == 422 and "event" in no_event.json()["errors"]
    assert not Bulletin.objects.exists()


def test_an_unknown_event_or_segment_is_refused(post, world):
    assert post("comms", invitation_body(world, event=str(uuid.uuid4()))).json()["errors"] == {
        "event": ["Unknown event"]}
    answer = post("comms", invitation_body(world, segment=999_999))
    assert answer.status_code == 422 and "segment" in answer.json()["errors"]
    assert not Bulletin.objects.exists()


def test_an_event_the_user_may_not_see_reads_as_unknown(post, world):
    # Communications alone may not view events: the same answer as for an event that does not exist.
    answer = post("comms_only", invitation_body(world))
    assert answer.status_code == 422
    assert answer.json()["errors"] == {"event": ["Unknown event"]}
    assert not Bulletin.objects.exists()


def test_a_protected_segment_needs_the_equality_permission(post, world):
    for who, body in (("comms_only", {"subject": "Winter news", "segment": world["protected"].pk}),
                      ("comms", invitation_body(world, segment=world["protected"].pk))):
        refused = post(who, body)
        assert refused.status_code == 422
        assert refused.json()["errors"] == {"segment": ["Choose a segment from the list"]}
    assert not Bulletin.objects.exists()
    allowed = post("comms_equality", invitation_body(world, segment=world["protected"].pk))
    assert allowed.status_code == 201 and allowed.json()["segment"] == world["protected"].pk


def test_a_plain_bulletin_may_name_a_segment(post, world):
    answer = post("comms_only", {"subject": "Winter news", "segment": world["north"].pk})
    assert answer.status_code == 201
    assert (answer.json()["kind"], answer.json()["segment"], answer.json()["event"]) == ("bulletin",
                                                                                        world["north"].pk, None)


def test_feedback_is_made_from_a_completed_activity(post, world):
    answer = post("comms", {"subject": "You said, we did", "introduction": "Thank you.",
                            "kind": "activity_feedback", "activity": world["done"].pk})
    assert answer.status_code == 201, answer.content
    assert (answer.json()["kind"], answer.json()["activity"], answer.json()["segment"]) == (
        "activity_feedback", world["done"].pk, None)
    # Communications alone may view activities, so may write their feedback too.
    assert post("comms_only", {"subject": "You said, we did", "kind": "activity_feedback",
                               "activity": world["done"].pk}).status_code == 201


@pytest.mark.parametrize(("change", "field"), [
    ({"activity": None}, "activity"),
    ({"activity": "planned"}, "activity"),
    ({"activity": 999_999}, "activity"),
    ({"segment": "north"}, "segment"),
])
def test_feedback_refusals(post, world, change, field):
    body = {"subject": "You said, we did", "kind": "activity_feedback", "activity": world["done"].pk}
    body.update({key: world[value].pk if isinstance(value, str) else value for key, value in change.items()})
    answer = post("comms", body)
    assert answer.status_code == 422, answer.content
    assert field in answer.json()["errors"]
    assert not Bulletin.objects.exists()


def test_an_event_or_activity_on_the_wrong_kind_is_refused(post, world):
    assert "event" in post("comms", {"subject": "Winter news", "event": str(world["chat"].public_id)}
                           ).json()["errors"]
    assert "activity" in post("comms", {"subject": "Winter news", "activity": world["done"].pk}).json()["errors"]
    assert not Bulletin.objects.exists()


@pytest.mark.parametrize("who", ["engagement"])
def test_other_roles_are_refused(post, client, world, users, who, staff_user):
    for role_user in (users[who], staff_user("Commissioner"), staff_user("Data protection"), staff_user()):
        answer = client.post(URL, invitation_body(world), content_type="application/json", **token_for(role_user))
        assert answer.status_code == 403, role_user.groups.all()
    assert not Bulletin.objects.exists()


def test_out_of_range_ids_and_bad_kinds_answer_422(post, world):
    assert post("comms", invitation_body(world, segment=0)).status_code == 422
    assert post("comms", invitation_body(world, kind="leaflet")).status_code == 422
    assert post("comms", invitation_body(world, event="not-a-uuid")).status_code == 422
