"""Staff pages for engagement activities: list with filters and sort, create, change (the lead only, or
Engagement), the activity page's numbers, status buttons, headcounts, named participants, linked events."""

from datetime import date, datetime

import pytest
from django.core import mail
from django.urls import reverse

from crm.audit import Actor
from crm.models import Locality
from segments import activities, activity_evidence, events
from segments.models import Activity, ActivityHeadcount, ActivityParticipant, Invitation, Programme

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme():
    return Programme.objects.get_or_create(name="Mental health")[0]


@pytest.fixture
def maternity():
    return Programme.objects.get_or_create(name="Maternity")[0]


@pytest.fixture
def engagement_client(staff_client):
    return staff_client("Engagement")


@pytest.fixture
def commissioner_client(staff_client, staff_user):
    return staff_client(user=staff_user("Commissioner", first_name="Cara", last_name="Commission"))


def make(lead, programme, title="Talking therapies review", **values):
    values.setdefault("kind", "survey")
    creator = values.pop("creator", None) or lead
    return activities.create_activity(actor=Actor.staff(creator), title=title, programme=programme, lead=lead,
                                      **values)


@pytest.fixture
def engager(staff_user):
    return staff_user("Engagement", first_name="Erin", last_name="Engage")


# --- the page a Commissioner may not use for another lead's activity (403) --------------------------

def test_commissioner_cannot_edit_another_leads_activity_on_the_pages(commissioner_client, engager, programme):
    theirs = make(engager, programme, title="Theirs")
    url = reverse("segments:activity_edit", args=[theirs.pk])
    assert commissioner_client.get(url).status_code == 403
    response = commissioner_client.post(url, {"title": "Taken over", "programme": programme.pk, "kind": "survey",
                                              "legal_basis": "duty_to_involve"})
    assert response.status_code == 403
    assert commissioner_client.post(reverse("segments:activity_status", args=[theirs.pk]),
                                    {"status": "in_progress"}).status_code == 403
    assert commissioner_client.get(reverse("segments:activity_headcount_add", args=[theirs.pk])).status_code == 403
    assert commissioner_client.get(reverse("segments:activity_events", args=[theirs.pk])).status_code == 403
    theirs.refresh_from_db()
    assert (theirs.title, theirs.status) == ("Theirs", "planned")
    # They still see it, without the change links or status buttons.
    page = commissioner_client.get(reverse("segments:activity_detail", args=[theirs.pk]))
    assert page.status_code == 200
    assert reverse("segments:activity_edit", args=[theirs.pk]) not in page.content.decode()
    assert b"Mark as" not in page.content and b"Start: mark" not in page.content


def test_commissioner_edits_their_own_activity_but_cannot_hand_it_on(commissioner_client, engager, programme):
    mine = make(commissioner_client.user, programme, title="Mine", creator=engager)
    url = reverse("segments:activity_edit", args=[mine.pk])
    page = commissioner_client.get(url)
    assert page.status_code == 200
    assert b'name="lead"' not in page.content  # only the engagement team hands an activity on
    response = commissioner_client.post(url, {
        "title": "Mine, renamed", "programme": programme.pk, "kind": "focus_group", "legal_basis": "duty_to_involve",
        "themes_heard": "Waiting times", "lead": engager.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    mine.refresh_from_db()
    assert (mine.title, mine.kind, mine.themes_heard, mine.lead) == (
        "Mine, renamed", "focus_group", "Waiting times", commissioner_client.user)
    assert commissioner_client.post(reverse("segments:activity_status", args=[mine.pk]),
                                    {"status": "in_progress"}).status_code == 302
    mine.refresh_from_db()
    assert mine.status == "in_progress"


def test_commissioner_sees_counts_not_names(commissioner_client, engager, programme, make_contact):
    activity = make(engager, programme)
    ann = make_contact(email="ann@example.org", name="Ann Example")
    activity_evidence.add_participant(activity=activity, contact=ann, actor=Actor.staff(engager))
    page = commissioner_client.get(reverse("segments:activity_detail", args=[activity.pk])).content.decode()
    assert "Ann Example" not in page
    assert "1 named participant recorded" in page


# --- creating and changing (Engagement) -------------------------------------------------------------

def test_engagement_creates_an_activity_and_the_lead_is_emailed(engagement_client, staff_user, programme,
                                                                django_capture_on_commit_callbacks):
    lead = staff_user("Commissioner", email="lead@nhs.example")
    bootle = Locality.objects.order_by("name").first()
    with django_capture_on_commit_callbacks(execute=True):
        response = engagement_client.post(reverse("segments:activity_new"), {
            "title": "Crisis café consultation", "programme": programme.pk, "kind": "consultation",
            "legal_basis": "substantial_variation", "lead": lead.pk, "localities": [bootle.pk],
            "starts_on_0": "3", "starts_on_1": "3", "starts_on_2": "2027",
            "ends_on_0": "28", "ends_on_1": "4", "ends_on_2": "2027",
            "equality_analysis_done": "on", "equality_analysis_on_0": "14", "equality_analysis_on_1": "1",
            "equality_analysis_on_2": "2026", "equality_analysis_reference": "EqIA 2026/03",
            "groups_expected_affected": ["disability", "age"]})
    assert response.status_code == 302, response.content.decode()[:3000]
    activity = Activity.objects.get(title="Crisis café consultation")
    assert response["Location"] == reverse("segments:activity_detail", args=[activity.pk])
    assert (activity.lead, activity.status, activity.legal_basis) == (lead, "planned", "substantial_variation")
    assert (activity.starts_on, activity.ends_on, activity.equality_analysis_on) == (
        date(2027, 3, 3), date(2027, 4, 28), date(2026, 1, 14))
    assert activity.groups_expected_affected == ["age", "disability"]
    assert list(activity.localities.all()) == [bootle]
    assert [m.to for m in mail.outbox] == [["lead@nhs.example"]]

    page = engagement_client.get(response["Location"]).content.decode()
    for text in ("Crisis café consultation", "3 March 2027 to 28 April 2027", "Done on 14 January 2026",
                 "EqIA 2026/03", "Age", "Disability", "Duty to involve and substantial variation", "Planned."):
        assert text in page, text


def test_form_errors_are_shown_not_saved(engagement_client, programme):
    response = engagement_client.post(reverse("segments:activity_new"), {
        "title": "", "programme": programme.pk, "kind": "survey", "legal_basis": "duty_to_involve",
        "equality_analysis_done": "on"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Give the activity a title" in page
    assert "There is a problem" in page
    assert not Activity.objects.exists()


def test_equality_analysis_without_date_is_refused_on_the_form(engagement_client, programme):
    response = engagement_client.post(reverse("segments:activity_new"), {
        "title": "EqIA test", "programme": programme.pk, "kind": "survey", "legal_basis": "duty_to_involve",
        "equality_analysis_done": "on", "lead": engagement_client.user.pk})
    assert response.status_code == 200
    assert "Give the date the equality analysis was done" in response.content.decode()
    assert not Activity.objects.exists()


def test_status_buttons_walk_the_activity_through_and_completed_reads_as_a_date(engagement_client, programme):
    activity = make(engagement_client.user, programme)
    status_url = reverse("segments:activity_status", args=[activity.pk])
    detail = reverse("segments:activity_detail", args=[activity.pk])
    assert b"Start: mark as in progress" in engagement_client.get(detail).content
    assert engagement_client.get(status_url).status_code == 405
    engagement_client.post(status_url, {"status": "in_progress"})
    page = engagement_client.get(detail).content.decode()
    assert "Mark as completed" in page and "Move back to planned" in page
    engagement_client.post(status_url, {"status": "completed"})
    activity.refresh_from_db()
    assert activity.status == "completed"
    from crm.templatetags.nhs_dates import long_date
    assert f"Completed on {long_date(activity.completed_on)}." in engagement_client.get(detail).content.decode()
    # A move the rules do not allow is refused with a message, nothing changes.
    response = engagement_client.post(status_url, {"status": "planned"}, follow=True)
    assert "cannot be marked planned" in response.content.decode()
    activity.refresh_from_db()
    assert activity.status == "completed"


# --- participant numbers ------------------------------------------------------------------------------

def test_detail_page_adds_up_named_and_anonymous_participants(engagement_client, programme, make_contact):
    user = engagement_client.user
    activity = make(user, programme)
    chat = events.save_event(actor=Actor.staff(user), kind="big_chat", title="Big Chat, Bootle",
                             starts_at=datetime(2027, 3, 12, 10, 0), ends_at=datetime(2027, 3, 12, 12, 0))
    activity.events.add(chat)
    people = [make_contact(email=f"p{i}@example.org", name=f"Person {i}") for i in range(4)]
    for person in people[:3]:
        Invitation.objects.create(event=chat, contact=person, attended=True)  # 3 came
    for person in people[2:]:
        ActivityParticipant.objects.create(activity=activity, contact=person, added_by=user)  # 2, one came too
    ActivityHeadcount.objects.create(activity=activity, label="Drop-in at Bootle Strand", count=20, added_by=user)
    ActivityHeadcount.objects.create(activity=activity, label="Paper surveys", count=5, added_by=user)
    page = engagement_client.get(reverse("segments:activity_detail", args=[activity.pk])).content.decode()
    # 3 from the event + 2 recorded - 1 in both = 4 named; 25 anonymous; 29 in all.
    assert _value(page, "Named people who came to linked events") == "3"
    assert _value(page, "Named people in all") == "4"
    assert _value(page, "Anonymous headcounts") == "25"
    assert _value(page, "Total taking part") == "<strong>29</strong>"
    assert "1 of them also came to a linked event" in page
    assert "Person 3" in page  # Engagement sees the names


def _value(page: str, key: str) -> str:
    after = page.split(f'<dt class="nhsuk-summary-list__key">{key}</dt><dd class="nhsuk-summary-list__value">', 1)[1]
    return after.split("</dd>", 1)[0].split("<br>", 1)[0]


def test_headcount_with_equality_breakdown_added_and_removed(engagement_client, programme):
    activity = make(engagement_client.user, programme)
    url = reverse("segments:activity_headcount_add", args=[activity.pk])
    assert engagement_client.get(url).status_code == 200
    too_many = engagement_client.post(url, {"label": "Drop-in", "count": "10", "eq__sex__female": "8",
                                            "eq__sex__male": "3"})
    assert too_many.status_code == 200
    assert "add up to more than the 10 people counted" in too_many.content.decode()
    response = engagement_client.post(url, {"label": "Drop-in at Bootle Strand", "count": "10",
                                            "eq__sex__female": "6", "eq__sex__male": "3", "eq__age_band__80+": "2"})
    assert response.status_code == 302
    headcount = ActivityHeadcount.objects.get(activity=activity)
    assert headcount.equality_breakdown == {"age_band": {"80+": 2}, "sex": {"female": 6, "male": 3}}
    remove = reverse("segments:activity_headcount_remove", args=[activity.pk, headcount.pk])
    assert engagement_client.post(remove).status_code == 302
    assert not ActivityHeadcount.objects.exists()


def test_named_participant_added_by_email(engagement_client, programme, make_contact):
    activity = make(engagement_client.user, programme)
    make_contact(email="Survey.Person@Example.org", name="Survey Person")
    url = reverse("segments:activity_participant_add", args=[activity.pk])
    unknown = engagement_client.post(url, {"email": "nobody@example.org"})
    assert "No contact has this email address" in unknown.content.decode()
    assert engagement_client.post(url, {"email": "survey.person@example.org"}).status_code == 302
    assert [p.contact.name for p in activity.participants.all()] == ["Survey Person"]
    again = engagement_client.post(url, {"email": "survey.person@example.org"}, follow=True)
    assert "was already recorded" in again.content.decode()
    assert activity.participants.count() == 1


def test_commissioner_lead_cannot_add_named_participants(commissioner_client, engager, programme):
    mine = make(commissioner_client.user, programme, creator=engager)
    assert commissioner_client.get(reverse("segments:activity_participant_add", args=[mine.pk])).status_code == 403
    # ... but adds an anonymous headcount to their own activity.
    assert commissioner_client.post(reverse("segments:activity_headcount_add", args=[mine.pk]),
                                    {"label": "Stall", "count": "4"}).status_code == 302


def test_linking_events(engagement_client, programme):
    user = engagement_client.user
    activity = make(user, programme)
    first = events.save_event(actor=Actor.staff(user), title="Mini Chat, Crosby",
                              starts_at=datetime(2027, 2, 1, 10, 0), ends_at=datetime(2027, 2, 1, 11, 0))
    second = events.save_event(actor=Actor.staff(user), title="Mini Chat, Maghull",
                               starts_at=datetime(2027, 2, 8, 10, 0), ends_at=datetime(2027, 2, 8, 11, 0))
    url = reverse("segments:activity_events", args=[activity.pk])
    assert engagement_client.post(url, {"events": [first.pk, second.pk]}).status_code == 302
    assert set(activity.events.all()) == {first, second}
    assert engagement_client.post(url, {"events": [second.pk]}).status_code == 302
    assert list(activity.events.all()) == [second]


# --- the list -----------------------------------------------------------------------------------------

def test_list_filters_and_sorts(engagement_client, programme, maternity):
    user = engagement_client.user
    bootle, crosby = Locality.objects.order_by("name")[:2]
    make(user, programme, title="Bravo", localities=[bootle])
    alpha = make(user, maternity, title="Alpha", kind="focus_group", localities=[crosby])
    activities.change_status(activity=alpha, status="in_progress", actor=Actor.staff(user))
    make(user, programme, title="Charlie", localities=[bootle, crosby])
    url = reverse("segments:activity_list")

    def titles(**params):
        page = engagement_client.get(url, params).content.decode()
        return [t for t in ("Alpha", "Bravo", "Charlie") if f">{t}</a>" in page], page

    assert titles()[0] == ["Alpha", "Bravo", "Charlie"]
    assert titles(status="in_progress")[0] == ["Alpha"]
    assert titles(programme=programme.pk)[0] == ["Bravo", "Charlie"]
    assert titles(locality=crosby.pk)[0] == ["Alpha", "Charlie"]
    assert titles(kind="focus_group")[0] == ["Alpha"]
    _found, page = titles(sort="title")
    assert page.index(">Alpha</a>") < page.index(">Bravo</a>") < page.index(">Charlie</a>")
    assert 'aria-sort="ascending"' in page
    _found, page = titles(sort="-title")
    assert page.index(">Charlie</a>") < page.index(">Bravo</a>") < page.index(">Alpha</a>")


def test_nav_shows_activities_to_roles_that_may_see_them(staff_client):
    link = reverse("segments:activity_list")
    for role, shown in (("Commissioner", True), ("Communications", True), ("Engagement", True),
                        ("Data protection", True), ("Administrator", False)):
        page = staff_client(role).get(reverse("consent_staff:dashboard")).content.decode()
        assert (f'href="{link}"' in page) is shown, role


def test_contact_page_lists_the_activities_a_person_took_part_in(staff_client, engager, programme, make_contact):
    activity = make(engager, programme, title="Perinatal survey")
    person = make_contact(email="mum@example.org")
    activity_evidence.add_participant(activity=activity, contact=person, actor=Actor.staff(engager))
    page = staff_client("Engagement").get(reverse("consent_staff:contact", args=[person.public_id])).content.decode()
    assert "Engagement activities" in page and "Perinatal survey" in page
