"""The activities API (/api/v1/activities): the same policy as the pages — a Commissioner reads every
activity and changes only the ones they lead (403 otherwise) — plus its filters and its answers."""

import json
from datetime import datetime

import pytest
from django.core import mail
from django.test import Client

from crm.audit import Actor
from crm.models import Locality, Topic
from crm.staff import services as staff_services
from segments import activities, events
from segments.models import Activity, ActivityHeadcount, Programme

pytestmark = pytest.mark.django_db
BASE = "/api/v1/activities"


@pytest.fixture
def programme():
    return Programme.objects.get_or_create(name="Urgent and emergency care")[0]


@pytest.fixture
def api(staff_user):
    """api(role or user) → a function calling the API with that person's token."""
    def make(who):
        user = staff_user(who) if isinstance(who, str) else who
        _token, raw = staff_services.create_api_token(user=user, name="test", actor=Actor.system())
        client = Client()

        def call(method, path, body=None):
            response = client.generic(method, f"{BASE}{path}", data=json.dumps(body) if body is not None else "",
                                      content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
            return response.status_code, (response.json() if response.content else None)
        call.user = user
        return call
    return make


@pytest.fixture
def engager(staff_user):
    return staff_user("Engagement", first_name="Erin", last_name="Engage")


def make(lead, programme, title="Same day emergency care", creator=None, **values):
    values.setdefault("kind", "consultation")
    return activities.create_activity(actor=Actor.staff(creator or lead), title=title, programme=programme,
                                      lead=lead, **values)


def test_commissioner_cannot_change_another_leads_activity_through_the_api(api, staff_user, engager, programme):
    commissioner = api("Commissioner")
    theirs = make(engager, programme, title="Theirs")
    assert commissioner("PATCH", f"/{theirs.pk}", {"themes_heard": "Not mine"})[0] == 403
    assert commissioner("POST", f"/{theirs.pk}/status", {"status": "in_progress"})[0] == 403
    # An id that does not exist is "not yours" too (no 404/403 difference for someone who edits only their own).
    assert commissioner("PATCH", "/2000000000", {"themes_heard": "x"})[0] == 403
    theirs.refresh_from_db()
    assert (theirs.themes_heard, theirs.status) == ("", "planned")
    # Reading is allowed: they see every activity.
    status, body = commissioner("GET", f"/{theirs.pk}")
    assert status == 200 and body["title"] == "Theirs"
    assert commissioner("POST", "", {"title": "New", "programme_id": programme.pk, "kind": "survey"})[0] == 403


def test_commissioner_changes_their_own_through_the_api(api, staff_user, engager, programme):
    commissioner = api("Commissioner")
    mine = make(commissioner.user, programme, title="Mine", creator=engager)
    status, body = commissioner("PATCH", f"/{mine.pk}", {"themes_heard": "Parking", "we_did": "More spaces"})
    assert status == 200, body
    assert (body["themes_heard"], body["we_did"], body["title"]) == ("Parking", "More spaces", "Mine")
    assert commissioner("PATCH", f"/{mine.pk}", {"lead_id": engager.pk})[0] == 403  # cannot hand it on
    status, body = commissioner("POST", f"/{mine.pk}/status", {"status": "in_progress"})
    assert (status, body["status"]) == (200, "in_progress")


def test_a_change_body_that_is_not_an_object_is_refused_and_changes_nothing(api, staff_user, engager, programme):
    engagement = api("Engagement")
    activity = make(engager, programme, title="Kept", creator=engager)
    for body in ([], [None, None], "x", 3):
        status, answer = engagement("PATCH", f"/{activity.pk}", body)
        assert status == 422, (body, status, answer)
    activity.refresh_from_db()
    assert activity.title == "Kept"
    assert engagement("PATCH", f"/{activity.pk}", {})[0] == 200  # an empty object is "change nothing"


def test_engagement_creates_with_lists_and_reads_numbers(api, staff_user, programme,
                                                         django_capture_on_commit_callbacks):
    engagement = api("Engagement")
    lead = staff_user("Commissioner", email="lead@nhs.example")
    follower = staff_user("Communications", email="comms@nhs.example")
    topic = Topic.objects.order_by("name").first()
    bootle = Locality.objects.order_by("name").first()
    chat = events.save_event(actor=Actor.staff(engagement.user), title="Big Chat", starts_at=datetime(2027, 5, 1, 10),
                             ends_at=datetime(2027, 5, 1, 12))
    with django_capture_on_commit_callbacks(execute=True):
        status, body = engagement("POST", "", {
            "title": "A&E front door", "programme_id": programme.pk, "kind": "big_chat",
            "legal_basis": "substantial_variation", "lead_id": lead.pk, "follower_ids": [follower.pk],
            "topics": [topic.slug], "localities": [bootle.slug], "event_ids": [str(chat.public_id)],
            "starts_on": "2027-05-01", "ends_on": "2027-06-30", "groups_expected_affected": ["disability", "age"],
            "equality_analysis_done": True, "equality_analysis_on": "2026-11-02",
            "equality_analysis_reference": "EqIA UEC/7"})
    assert status == 201, body
    assert body["lead"]["id"] == lead.pk and [f["id"] for f in body["followers"]] == [follower.pk]
    assert body["topics"] == [{"slug": topic.slug, "name": topic.name}]
    assert body["localities"] == [{"slug": bootle.slug, "name": bootle.name}]
    assert body["events"][0]["title"] == "Big Chat"
    assert body["groups_expected_affected"] == ["age", "disability"]
    assert body["status"] == "planned"
    assert body["participants"] == {"from_events": 0, "recorded": 0, "named": 0, "anonymous": 0, "total": 0}
    assert sorted(m.to[0] for m in mail.outbox) == ["comms@nhs.example", "lead@nhs.example"]

    activity = Activity.objects.get(pk=body["id"])
    ActivityHeadcount.objects.create(activity=activity, label="Stall", count=12, added_by=engagement.user)
    assert engagement("GET", f"/{activity.pk}")[1]["participants"]["total"] == 12


def test_invalid_input_answers_422_with_messages_per_field(api, programme):
    engagement = api("Engagement")
    status, body = engagement("POST", "", {"title": "X", "programme_id": programme.pk, "kind": "survey",
                                           "equality_analysis_done": True})
    assert status == 422 and "equality_analysis_on" in body["errors"]
    status, body = engagement("POST", "", {"title": "X", "programme_id": 2_000_000_000, "kind": "survey"})
    assert status == 422 and body["errors"] == {"programme_id": ["No such programme"]}
    status, body = engagement("POST", "", {"title": "X", "programme_id": programme.pk, "kind": "survey",
                                           "topics": ["no-such-topic"]})
    assert status == 422 and "topics" in body["errors"]
    status, body = engagement("POST", "", {"title": "X", "programme_id": programme.pk, "kind": "party"})
    assert status == 422 and "kind" in body["errors"]
    assert not Activity.objects.exists()


def test_a_status_move_the_rules_forbid_answers_409(api, engager, programme):
    engagement = api(engager)
    activity = make(engager, programme)
    status, body = engagement("POST", f"/{activity.pk}/status", {"status": "completed"})
    assert status == 409 and "cannot be marked completed" in body["detail"]
    assert engagement("POST", "/2000000000/status", {"status": "completed"})[0] == 404


def test_list_filters(api, engager, programme):
    maternity = Programme.objects.get_or_create(name="Maternity")[0]
    bootle = Locality.objects.order_by("name").first()
    make(engager, programme, title="One", localities=[bootle])
    two = make(engager, maternity, title="Two", kind="survey")
    activities.change_status(activity=two, status="in_progress", actor=Actor.staff(engager))
    reader = api("Communications")
    assert [a["title"] for a in reader("GET", "?sort=title")[1]] == ["One", "Two"]
    assert [a["title"] for a in reader("GET", "?status=in_progress")[1]] == ["Two"]
    assert [a["title"] for a in reader("GET", f"?programme_id={programme.pk}")[1]] == ["One"]
    assert [a["title"] for a in reader("GET", f"?locality={bootle.slug}")[1]] == ["One"]
    assert reader("GET", "?locality=nowhere")[1] == []
    assert [a["title"] for a in reader("GET", "?kind=survey")[1]] == ["Two"]
    assert reader("GET", "?status=cancelled")[0] == 422


def test_administrator_sees_no_activities(api, engager, programme):
    make(engager, programme)
    assert api("Administrator")("GET", "")[0] == 403
