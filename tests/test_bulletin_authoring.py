"""Writing a bulletin: items, versions, approval by a second Communications user of the exact version,
test sends to staff only, the audience count, and scheduling in UK time across clock changes."""

import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from bulletins import services
from bulletins.audience import audience_count, audience_for
from bulletins.models import Bulletin
from bulletins.scheduling import describe_instant, london_to_utc
from crm.audit import Actor
from crm.models import AuditEntry
from tests.bulletin_fixtures import *  # noqa: F403 - the shared fixtures, found by pytest by name

pytestmark = pytest.mark.django_db


def content(default_topic, **overrides):
    values = {"title": "Item", "body_markdown": "Text.", "topic": default_topic} | overrides
    return services.ItemContent(**values)


# --- writing ---------------------------------------------------------------------------------

def test_items_are_added_in_order_and_can_be_moved(make_bulletin, author_actor):
    bulletin = make_bulletin(items=[("A", 0, {}), ("B", 1, {}), ("C", 2, {})])
    titles = lambda: list(bulletin.items.order_by("position").values_list("title", flat=True))  # noqa: E731
    assert titles() == ["A", "B", "C"]
    services.move_item(item=bulletin.items.get(title="C"), direction="up", actor=author_actor)
    assert titles() == ["A", "C", "B"]
    services.move_item(item=bulletin.items.get(title="A"), direction="down", actor=author_actor)
    assert titles() == ["C", "A", "B"]
    services.move_item(item=bulletin.items.get(title="C"), direction="up", actor=author_actor)  # already first
    assert titles() == ["C", "A", "B"]
    services.remove_item(item=bulletin.items.get(title="A"), actor=author_actor)
    assert titles() == ["C", "B"]


@pytest.mark.parametrize("overrides, field, message", [
    ({"title": ""}, "title", "Enter the title"),
    ({"title": "Line\nbreak"}, "title", "The title must be on one line, with no tabs or hidden characters"),
    ({"body_markdown": "  "}, "body_markdown", "Enter the text of the item"),
    ({"image_url": "https://example.org/a.png"}, "image_alt", "Describe the image for people who cannot see it"),
    ({"image_url": "http://example.org/a.png", "image_alt": "A"}, "image_url",
     "The image address must start with https://"),
    ({"image_url": "javascript:alert(1)", "image_alt": "A"}, "image_url", "The image address must start with https://"),
    ({"topic": None}, "topic", "Choose the topic of the item"),
])
def test_item_content_is_validated(make_bulletin, author_actor, topics, overrides, field, message):
    bulletin = make_bulletin(items=[])
    with pytest.raises(ValidationError) as error:
        services.add_item(bulletin=bulletin, content=content(topics[0], **overrides), actor=author_actor)
    assert error.value.message_dict == {field: [message]}
    assert not bulletin.items.exists()


@pytest.mark.parametrize("subject, message", [
    ("", "Enter the subject"),
    ("Injected\r\nBcc: everyone@example.org", "The subject must be on one line, with no tabs or hidden characters"),
    ("x" * 201, "The subject must be 200 characters or fewer"),
])
def test_subject_is_one_short_line(author_actor, subject, message):
    with pytest.raises(ValidationError) as error:
        services.create_bulletin(subject=subject, actor=author_actor)
    assert error.value.message_dict == {"subject": [message]}


# Every kind of content edit, each of which must make a new version and withdraw the approval.
EDITS = {
    "bulletin details": lambda b, actor, topics: services.update_bulletin(
        bulletin=b, subject="New subject", preheader=b.preheader, introduction=b.introduction,
        audience=b.audience, actor=actor),
    "audience": lambda b, actor, topics: services.update_bulletin(
        bulletin=b, subject=b.subject, preheader=b.preheader, introduction=b.introduction,
        audience="everyone", actor=actor),
    "add item": lambda b, actor, topics: services.add_item(bulletin=b, content=content(topics[2]), actor=actor),
    "edit item": lambda b, actor, topics: services.update_item(
        item=b.items.first(), content=content(topics[0], title="Changed"), actor=actor),
    "remove item": lambda b, actor, topics: services.remove_item(item=b.items.first(), actor=actor),
    "move item": lambda b, actor, topics: services.move_item(item=b.items.last(), direction="up", actor=actor),
}


@pytest.mark.parametrize("edit", EDITS)
def test_any_edit_makes_a_new_version_and_withdraws_approval(approved_bulletin, author_actor, topics, edit):
    assert approved_bulletin.status == "approved" and approved_bulletin.approved_version == approved_bulletin.version
    before = approved_bulletin.version
    EDITS[edit](approved_bulletin, author_actor, topics)
    approved_bulletin.refresh_from_db()
    assert approved_bulletin.version == before + 1
    assert approved_bulletin.status == "draft"
    assert approved_bulletin.approved_version is None and approved_bulletin.approved_by is None
    with pytest.raises(ValidationError, match="needs approval of its current version"):
        services.schedule_bulletin(bulletin=approved_bulletin, send_at_local=datetime(2030, 1, 1, 9),
                                   actor=author_actor)


def test_an_edit_that_changes_nothing_keeps_the_version(approved_bulletin, author_actor):
    b = approved_bulletin
    services.update_bulletin(bulletin=b, subject=b.subject, preheader=b.preheader, introduction=b.introduction,
                             audience=b.audience, actor=author_actor)
    b.refresh_from_db()
    assert b.status == "approved" and b.approved_version == b.version


def test_edit_of_a_scheduled_bulletin_cancels_the_schedule(approved_bulletin, author_actor, topics):
    services.schedule_bulletin(bulletin=approved_bulletin, send_at_local=datetime(2030, 1, 1, 9), actor=author_actor)
    services.add_item(bulletin=approved_bulletin, content=content(topics[0]), actor=author_actor)
    approved_bulletin.refresh_from_db()
    assert approved_bulletin.status == "draft" and approved_bulletin.scheduled_for is None


def test_a_sent_bulletin_cannot_be_changed(approved_bulletin, author_actor, topics):
    Bulletin.objects.filter(pk=approved_bulletin.pk).update(status="sent")
    approved_bulletin.refresh_from_db()
    with pytest.raises(ValidationError, match="is sent: it can no longer be changed"):
        services.add_item(bulletin=approved_bulletin, content=content(topics[0]), actor=author_actor)


# --- approval --------------------------------------------------------------------------------

def test_a_second_communications_user_approves_the_exact_version(make_bulletin, approver, approver_actor):
    bulletin = make_bulletin()
    approved = services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=approver_actor)
    assert (approved.status, approved.approved_version, approved.approved_by) == ("approved", bulletin.version, approver)
    entry = AuditEntry.objects.filter(action="bulletin.approved").get()
    assert entry.actor == approver and entry.changes == {"version": bulletin.version}


def test_the_author_cannot_approve_their_own(make_bulletin, author_actor):
    bulletin = make_bulletin()
    with pytest.raises(ValidationError, match="You wrote or edited this bulletin, so someone else must approve it"):
        services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=author_actor)
    bulletin.refresh_from_db()
    assert bulletin.status == "draft"


def test_anyone_who_edited_it_cannot_approve_it(make_bulletin, approver_actor, staff_user, topics):
    bulletin = make_bulletin()
    services.add_item(bulletin=bulletin, content=content(topics[0]), actor=approver_actor)  # approver now an editor
    bulletin.refresh_from_db()
    with pytest.raises(ValidationError, match="You wrote or edited this bulletin"):
        services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=approver_actor)
    third = Actor.staff(staff_user("Communications"))
    assert services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=third).status == "approved"


def test_approval_of_a_stale_version_is_refused(make_bulletin, author_actor, approver_actor, topics):
    bulletin = make_bulletin()
    read_version = bulletin.version
    services.add_item(bulletin=bulletin, content=content(topics[0]), actor=author_actor)  # changed while read
    with pytest.raises(ValidationError, match="changed while you were reading it"):
        services.approve_bulletin(bulletin=bulletin, version=read_version, actor=approver_actor)


def test_a_bulletin_without_items_cannot_be_approved(make_bulletin, approver_actor):
    bulletin = make_bulletin(items=[])
    with pytest.raises(ValidationError, match="Add at least one item"):
        services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=approver_actor)


@pytest.mark.parametrize("role", ["Engagement", "Data protection", "Administrator"])
def test_other_roles_cannot_approve(make_bulletin, staff_user, role):
    bulletin = make_bulletin()
    with pytest.raises(PermissionDenied):
        services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=Actor.staff(staff_user(role)))


# --- audience ----------------------------------------------------------------------------------

def test_audience_count_follows_topics_and_consent(make_bulletin, make_contact, topics, actor):
    from consent import services as consent_services

    bulletin = make_bulletin(items=[("A", 0, {}), ("B", 1, {})])  # topics 0 and 1
    make_contact(topics=[topics[0]])                      # in
    make_contact(topics=[topics[0], topics[1]])           # in (once)
    make_contact(topics=[topics[1]])                      # in
    make_contact(topics=[topics[2]])                      # other topic: out unless everyone
    make_contact(topics=[])                               # no topics: out unless everyone
    make_contact(topics=[topics[0]], purposes=("events",))  # not for bulletins: out
    gone = make_contact(topics=[topics[0]])
    consent_services.record_consent(contact=gone, purpose=gone.consent_states.get().purpose, action="withdrawn",
                                    method="staff_on_request", actor=actor)  # unsubscribed: out
    assert audience_count(bulletin=bulletin) == 3
    bulletin.audience = "everyone"
    assert audience_count(bulletin=bulletin) == 5
    assert audience_for(bulletin=bulletin).count() == 5


# --- test sends ----------------------------------------------------------------------------------

def test_test_send_goes_only_to_chosen_staff_with_a_test_subject(approved_bulletin, author, author_actor,
                                                                 approver, make_contact):
    make_contact(email="member.of.public@example.org")
    sent = services.send_test(bulletin=approved_bulletin, recipients=[author, approver], actor=author_actor)
    assert sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["approver@nhs.example", "author@nhs.example"]
    message = mail.outbox[0]
    assert message.subject == "[TEST] Winter health news"
    assert "Flu jabs" in message.body  # plain-text part
    html = message.alternatives[0].content if hasattr(message.alternatives[0], "content") else message.alternatives[0][0]
    assert "<table" in html and "[[" not in html and "[[" not in message.body
    assert "/unsubscribe/" not in html  # links in a test act for nobody


def test_test_send_refuses_people_who_are_not_staff(approved_bulletin, author_actor, django_user_model):
    outsider = django_user_model.objects.create_user(username="outsider", email="outsider@example.org")
    with pytest.raises(ValidationError) as error:
        services.send_test(bulletin=approved_bulletin, recipients=[outsider], actor=author_actor)
    assert "recipients" in error.value.message_dict
    assert mail.outbox == []


# --- scheduling in UK time -------------------------------------------------------------------------

def test_a_time_skipped_in_spring_is_refused(approved_bulletin, author_actor):
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False), \
            pytest.raises(ValidationError) as error:
        services.schedule_bulletin(bulletin=approved_bulletin, send_at_local=datetime(2026, 3, 29, 1, 30),
                                   actor=author_actor)
    assert error.value.message_dict == {"send_at": [
        "29 March 2026, 1:30am does not exist in the UK: the clocks go forward from 1am to 2am that night. "
        "Choose a time before or after the change."]}
    approved_bulletin.refresh_from_db()
    assert approved_bulletin.status == "approved" and approved_bulletin.scheduled_for is None


def test_an_autumn_time_that_happens_twice_is_taken_at_its_first_occurrence(approved_bulletin, author_actor):
    with time_machine.travel(datetime(2026, 10, 1, 12, tzinfo=UTC), tick=False):
        scheduled = services.schedule_bulletin(bulletin=approved_bulletin, send_at_local=datetime(2026, 10, 25, 1, 30),
                                               actor=author_actor)
    # 1:30am BST (UTC+1) is 00:30 UTC; the second 1:30am (GMT) would be 01:30 UTC.
    assert scheduled.utc == datetime(2026, 10, 25, 0, 30, tzinfo=UTC) and scheduled.ambiguous
    approved_bulletin.refresh_from_db()
    assert approved_bulletin.scheduled_for == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert describe_instant(approved_bulletin.scheduled_for) == (
        "25 October 2026, 1:30am (BST, the first of the two 1:30ams that night, as the clocks go back)")


@pytest.mark.parametrize("local, utc", [
    # Hand-worked: BST (UTC+1) until 01:00 UTC on 25 October 2026, GMT (UTC+0) after.
    (datetime(2026, 10, 24, 9, 30), datetime(2026, 10, 24, 8, 30, tzinfo=UTC)),
    (datetime(2026, 10, 25, 0, 59), datetime(2026, 10, 24, 23, 59, tzinfo=UTC)),
    (datetime(2026, 10, 25, 2, 0), datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
    (datetime(2026, 10, 26, 9, 30), datetime(2026, 10, 26, 9, 30, tzinfo=UTC)),
    (datetime(2026, 12, 2, 9, 30), datetime(2026, 12, 2, 9, 30, tzinfo=UTC)),
    (datetime(2026, 3, 29, 2, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    (datetime(2026, 3, 29, 0, 59), datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
])
def test_london_wall_times_to_utc(local, utc):
    assert london_to_utc(local).utc == utc


def test_a_past_time_is_refused(approved_bulletin, author_actor):
    with time_machine.travel(datetime(2026, 12, 2, 10, tzinfo=UTC), tick=False), \
            pytest.raises(ValidationError, match="Choose a time in the future"):
        services.schedule_bulletin(bulletin=approved_bulletin, send_at_local=datetime(2026, 12, 2, 9, 30),
                                   actor=author_actor)


def test_a_schedule_across_the_october_change_starts_at_the_intended_local_time(approved_bulletin,
                                                                                author_actor, make_contact, topics):
    """Scheduled in BST for 9:30am on the Monday after the clocks go back: it starts at 9:30am GMT."""
    from bulletins.sending import sweep

    make_contact(topics=[topics[0]])
    with time_machine.travel(datetime(2026, 10, 23, 12, tzinfo=UTC), tick=False):  # Friday, BST
        services.schedule_bulletin(bulletin=approved_bulletin, send_at_local=datetime(2026, 10, 26, 9, 30),
                                   actor=author_actor)
    # 8:30 UTC on the Monday is 8:30am GMT: if the BST offset were wrongly kept it would start here.
    with time_machine.travel(datetime(2026, 10, 26, 8, 30, tzinfo=UTC), tick=False):
        sweep()
    approved_bulletin.refresh_from_db()
    assert approved_bulletin.status == "scheduled"
    with time_machine.travel(datetime(2026, 10, 26, 9, 30, tzinfo=UTC), tick=False):
        sweep()
        sweep()  # a second sweep must not start it again
    approved_bulletin.refresh_from_db()
    assert approved_bulletin.status in ("sending", "sent")
    assert approved_bulletin.send_started_at == datetime(2026, 10, 26, 9, 30, tzinfo=UTC)
    assert approved_bulletin.deliveries.count() == 1
    assert AuditEntry.objects.filter(action="bulletin.send_started").count() == 1


def test_unschedule_keeps_the_approval(approved_bulletin, author_actor):
    services.schedule_bulletin(bulletin=approved_bulletin, send_at_local=datetime(2030, 1, 1, 9), actor=author_actor)
    services.unschedule_bulletin(bulletin=approved_bulletin, actor=author_actor)
    approved_bulletin.refresh_from_db()
    assert approved_bulletin.status == "approved" and approved_bulletin.scheduled_for is None


def test_send_now_creates_a_delivery_per_person(approved_bulletin, author_actor, make_contact, topics):
    for _ in range(3):
        make_contact(topics=[topics[0]])
    assert services.send_bulletin_now(bulletin=approved_bulletin, actor=author_actor) == 3
    with pytest.raises(ValidationError, match="needs approval of its current version"):
        services.send_bulletin_now(bulletin=approved_bulletin, actor=author_actor)  # already sending


# --- staff pages: who may use them (the expected table is written by hand, from the roles) -----------
# Communications writes, approves, sends and moderates. Engagement, Data protection and Administrator
# have no bulletin permission: 403 on every route (also for objects that do not exist). Anonymous
# visitors go to sign-in. Empty POSTs: a form page answers with its errors (200); an action redirects
# back to the bulletin with a message (302); "remove item" removes it (302).
COMMS, OTHERS = "Communications", ("Engagement", "Data protection", "Administrator")
STAFF_ROUTES = [
    # (url name, what it names, GET for Communications, POST for Communications)
    ("bulletins:list", None, 200, 200),
    ("bulletins:new", None, 200, 200),
    ("bulletins:comments", None, 200, 200),
    ("bulletins:comment_moderate", "comment", 200, 200),
    ("bulletins:detail", "bulletin", 200, 200),
    ("bulletins:edit", "bulletin", 200, 200),
    ("bulletins:item_add", "bulletin", 200, 200),
    ("bulletins:item_edit", "item", 200, 200),
    ("bulletins:item_remove", "item", 200, 302),
    ("bulletins:item_move", "item", 405, 302),
    ("bulletins:preview", "bulletin", 200, 200),
    ("bulletins:preview_email", "bulletin", 200, 200),
    ("bulletins:test_send", "bulletin", 200, 200),
    ("bulletins:approve", "bulletin", 405, 302),
    ("bulletins:send", "bulletin", 200, 200),
    ("bulletins:unschedule", "bulletin", 405, 302),
    ("bulletins:new_invitation", "event", 200, 200),
    ("bulletins:new_feedback", "activity", 302, 302),  # a planned activity: back to it, feedback comes later
]


@pytest.fixture
def route_objects(make_bulletin, make_contact, author_actor, staff_user):
    from datetime import datetime

    from bulletins.models import Comment
    from crm.audit import Actor
    from segments.activities import create_activity
    from segments.events import save_event
    from segments.models import Programme

    bulletin = make_bulletin()
    item, commented = bulletin.items.order_by("position")  # an item with a comment cannot be removed
    comment = Comment.objects.create(item=commented, contact=make_contact(), body="A comment")
    return {"bulletin": {"public_id": bulletin.public_id},
            "item": {"public_id": bulletin.public_id, "item_id": item.pk},
            "comment": {"comment_id": comment.pk},
            "event": {"public_id": save_event(actor=author_actor, title="Big Chat", starts_at=datetime(2027, 3, 11, 18),
                                              ends_at=datetime(2027, 3, 11, 20)).public_id},
            "activity": {"pk": create_activity(actor=Actor.staff(staff_user("Engagement")), title="Survey",
                                               programme=Programme.objects.get_or_create(name="Routes")[0],
                                               kind="survey").pk}}


MISSING = {"event": lambda: {"public_id": uuid.uuid4()}, "activity": lambda: {"pk": 2_000_000_000},
           "bulletin": lambda: {"public_id": uuid.uuid4()},
           "item": lambda: {"public_id": uuid.uuid4(), "item_id": 2_000_000_000},
           "comment": lambda: {"comment_id": 2_000_000_000}}


def _route_cases():
    for name, target, get_status, post_status in STAFF_ROUTES:
        for method, ok in (("GET", get_status), ("POST", post_status)):
            yield pytest.param(name, target, method, COMMS, ok, False, id=f"{method} {name} as {COMMS}")
            for role in OTHERS:
                yield pytest.param(name, target, method, role, 403, False, id=f"{method} {name} as {role}")
                if target:
                    yield pytest.param(name, target, method, role, 403, True,
                                       id=f"{method} {name} (missing) as {role}")
            if target:
                missing = ok if ok == 405 else 404
                yield pytest.param(name, target, method, COMMS, missing, True, id=f"{method} {name} (missing) as {COMMS}")
            yield pytest.param(name, target, method, "anonymous", "sign-in", False, id=f"{method} {name} anonymous")


@pytest.mark.parametrize(("name", "target", "method", "role", "expected", "missing"), list(_route_cases()))
def test_bulletin_staff_routes_answer_each_role_as_the_table_says(staff_client, route_objects, name, target,
                                                                   method, role, expected, missing):
    from django.test import Client
    from django.urls import reverse

    kwargs = (MISSING[target]() if missing else route_objects[target]) if target else {}
    url = reverse(name, kwargs=kwargs)
    client = Client() if role == "anonymous" else staff_client(role)
    response = client.post(url) if method == "POST" else client.get(url)
    if expected == "sign-in":
        assert response.status_code == 302 and response["Location"].startswith(reverse("staff:login"))
    else:
        assert response.status_code == expected, response.content[:300]


def test_every_bulletin_staff_route_is_in_the_table():
    from django.urls import get_resolver

    from bulletins import urls_sending

    sending = {p.name for p in urls_sending.urlpatterns}  # the send-progress pages are tested with the pipeline
    resolver = get_resolver()
    names = {f"bulletins:{p.name}" for p in resolver.namespace_dict["bulletins"][1].url_patterns
             if str(p.pattern).startswith("staff/") and p.name not in sending}
    assert names == {row[0] for row in STAFF_ROUTES}


def test_staff_menu_shows_bulletins_only_to_communications(staff_client):
    from django.urls import reverse

    link = f'href="{reverse("bulletins:list")}"'
    assert link in staff_client(COMMS).get(reverse("consent_staff:dashboard")).content.decode()
    for role in OTHERS:
        assert link not in staff_client(role).get(reverse("consent_staff:dashboard")).content.decode(), role


# --- the staff API ---------------------------------------------------------------------------------

def _token_for(user):
    from crm.staff import services as staff_services

    return staff_services.create_api_token(user=user, name="test", actor=Actor.system())[1]


def _api(method, path, raw=None, body=None):
    import json

    from django.test import Client

    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    return Client().generic(method, path, data=json.dumps(body or {}), content_type="application/json", **headers)


API_ROUTES = [
    # (method, path, expected for Communications with an empty body). Others: 403; no token: 401.
    ("GET", "/api/v1/staff/bulletins", 200),
    ("POST", "/api/v1/staff/bulletins", 422),
    ("GET", "/api/v1/staff/bulletins/{bulletin}", 200),
    ("POST", "/api/v1/staff/bulletins/{bulletin}/items", 422),
    ("POST", "/api/v1/staff/bulletins/{bulletin}/approval", 422),
    ("GET", "/api/v1/staff/bulletins/comments/pending", 200),
    ("POST", "/api/v1/staff/bulletins/comments/{comment}/moderation", 422),
]


@pytest.mark.parametrize("method, path, ok", API_ROUTES)
@pytest.mark.parametrize("role", [COMMS, *OTHERS, None])
def test_bulletin_api_answers_each_role_as_the_table_says(staff_user, route_objects, method, path, ok, role):
    url = path.format(bulletin=route_objects["bulletin"]["public_id"], comment=route_objects["comment"]["comment_id"])
    raw = _token_for(staff_user(role)) if role else None
    expected = {COMMS: ok, None: 401}.get(role, 403)
    assert _api(method, url, raw).status_code == expected


def test_bulletin_api_writes_and_approves_through_the_services(author, approver, topics):
    author_token, approver_token = _token_for(author), _token_for(approver)
    created = _api("POST", "/api/v1/staff/bulletins", author_token, {"subject": "API news", "audience": "everyone"})
    assert created.status_code == 201, created.content
    public_id = created.json()["public_id"]
    item = _api("POST", f"/api/v1/staff/bulletins/{public_id}/items", author_token, {
        "title": "Walk-in centre", "body_markdown": "[click here](https://www.nhs.uk/)", "topic": topics[0].slug})
    assert item.status_code == 201
    body = item.json()
    assert body["version"] == 2 and [i["title"] for i in body["items"]] == ["Walk-in centre"]
    assert body["accessibility"] == [{"check": "links", "message":
                                      "Link text “click here” does not say where the link goes"}]
    own = _api("POST", f"/api/v1/staff/bulletins/{public_id}/approval", author_token, {"version": 2})
    assert own.status_code == 422
    assert own.json()["detail"] == "You wrote or edited this bulletin, so someone else must approve it."
    stale = _api("POST", f"/api/v1/staff/bulletins/{public_id}/approval", approver_token, {"version": 1})
    assert stale.status_code == 422 and "changed while you were reading it" in stale.json()["detail"]
    approved = _api("POST", f"/api/v1/staff/bulletins/{public_id}/approval", approver_token, {"version": 2})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


@pytest.mark.parametrize("body, field", [
    ({"subject": "Bad\nsubject"}, "subject"),
    ({"subject": ""}, "subject"),
    ({"subject": "Fine", "audience": "nobody"}, "audience"),
])
def test_bulletin_api_refuses_bad_input_per_field(author, body, field):
    response = _api("POST", "/api/v1/staff/bulletins", _token_for(author), body)
    assert response.status_code == 422 and field in response.json()["errors"]
    assert not Bulletin.objects.exists()


def test_bulletin_api_item_needs_alt_text_and_a_known_topic(author, make_bulletin, topics):
    bulletin = make_bulletin()
    url = f"/api/v1/staff/bulletins/{bulletin.public_id}/items"
    no_alt = _api("POST", url, _token_for(author), {"title": "T", "body_markdown": "B", "topic": topics[0].slug,
                                                    "image_url": "https://example.org/a.png"})
    assert no_alt.status_code == 422
    assert no_alt.json()["errors"] == {"image_alt": ["Describe the image for people who cannot see it"]}
    unknown = _api("POST", url, _token_for(author), {"title": "T", "body_markdown": "B", "topic": "no-such-topic"})
    assert unknown.status_code == 422 and unknown.json()["errors"] == {"topic": ["Unknown topic"]}
