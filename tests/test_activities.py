"""Engagement activity records (issue 10): who took part, the edit policy inside the services, status
moves, the database's own checks, and the emails to the lead and followers."""

from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from crm.audit import Actor
from crm.models import AuditEntry, Locality
from segments import activities, events
from segments.models import Activity, ActivityHeadcount, ActivityParticipant, Invitation, Programme


@pytest.fixture
def programme(db):
    return Programme.objects.get_or_create(name="Mental health")[0]


@pytest.fixture
def engagement(staff_user):
    return staff_user("Engagement", first_name="Erin", last_name="Engage")


@pytest.fixture
def commissioner(staff_user):
    return staff_user("Commissioner", first_name="Cara", last_name="Commission")


@pytest.fixture
def other_commissioner(staff_user):
    return staff_user("Commissioner", first_name="Colm", last_name="Other")


@pytest.fixture
def make_activity(programme, engagement):
    def make(title="Talking therapies review", lead=None, **values):
        values.setdefault("kind", Activity.Kind.SURVEY)
        return activities.create_activity(actor=Actor.staff(engagement), title=title, programme=programme,
                                          lead=lead or engagement, **values)

    return make


@pytest.fixture
def event(db, engagement):
    return events.save_event(actor=Actor.staff(engagement), kind="big_chat", title="Big Chat, Bootle",
                             starts_at=datetime(2027, 3, 12, 10, 0), ends_at=datetime(2027, 3, 12, 12, 30))


# --- who took part ------------------------------------------------------------------------------

def test_participants_are_event_attendees_and_recorded_people_each_once(make_activity, event, make_contact,
                                                                        engagement, programme):
    activity = make_activity()
    activity.events.add(event)
    ann, bob, cat, dan = (make_contact(email=f"{n}@example.org") for n in ("ann", "bob", "cat", "dan"))
    Invitation.objects.create(event=event, contact=ann, attended=True)
    Invitation.objects.create(event=event, contact=bob, attended=True)
    Invitation.objects.create(event=event, contact=dan, attended=False)  # invited, did not come
    ActivityParticipant.objects.create(activity=activity, contact=bob, added_by=engagement)  # also attended
    ActivityParticipant.objects.create(activity=activity, contact=cat, added_by=engagement)
    ActivityHeadcount.objects.create(activity=activity, label="Drop-in at Bootle Strand", count=34,
                                     added_by=engagement)
    ActivityHeadcount.objects.create(activity=activity, label="Library stall", count=6, added_by=engagement)

    assert sorted(c.email for c in activities.participants(activity)) == [
        "ann@example.org", "bob@example.org", "cat@example.org"]
    numbers = activities.participant_numbers(activity)
    # 2 attended, 2 recorded, bob in both: 3 named; 34 + 6 anonymous; 43 in all.
    assert (numbers.from_events, numbers.recorded, numbers.named, numbers.anonymous, numbers.total) == (
        2, 2, 3, 40, 43)
    assert numbers.overlap == 1

    other = make_activity(title="Crisis line survey")
    eve = make_contact(email="eve@example.org")
    ActivityParticipant.objects.create(activity=other, contact=eve, added_by=engagement)
    ActivityParticipant.objects.create(activity=other, contact=ann, added_by=engagement)
    assert sorted(c.email for c in activities.participants_of_programme(programme)) == [
        "ann@example.org", "bob@example.org", "cat@example.org", "eve@example.org"]


def test_participants_is_one_query(make_activity, django_assert_num_queries):
    activity = make_activity()
    with django_assert_num_queries(1):
        list(activities.participants(activity))


# --- the edit policy ----------------------------------------------------------------------------

def test_commissioner_edits_only_the_activities_they_lead(make_activity, commissioner, other_commissioner):
    mine = make_activity(title="Mine", lead=commissioner)
    theirs = make_activity(title="Theirs", lead=other_commissioner)

    activities.update_activity(activity=mine, actor=Actor.staff(commissioner), themes_heard="Waiting times")
    assert Activity.objects.get(pk=mine.pk).themes_heard == "Waiting times"
    with pytest.raises(PermissionDenied):
        activities.update_activity(activity=theirs, actor=Actor.staff(commissioner), themes_heard="Not mine")
    with pytest.raises(PermissionDenied):
        activities.change_status(activity=theirs, status="in_progress", actor=Actor.staff(commissioner))
    assert Activity.objects.get(pk=theirs.pk).themes_heard == ""
    assert Activity.objects.get(pk=theirs.pk).status == "planned"


def test_commissioner_cannot_create_or_hand_over_the_lead(make_activity, commissioner, other_commissioner,
                                                         programme):
    with pytest.raises(PermissionDenied):
        activities.create_activity(actor=Actor.staff(commissioner), title="New", programme=programme,
                                   kind="survey")
    mine = make_activity(lead=commissioner)
    with pytest.raises(PermissionDenied):
        activities.update_activity(activity=mine, actor=Actor.staff(commissioner), lead=other_commissioner)


def test_engagement_edits_any_activity(make_activity, commissioner, staff_user):
    activity = make_activity(lead=commissioner)
    colleague = staff_user("Engagement")
    activities.update_activity(activity=activity, actor=Actor.staff(colleague), we_did="Opened a Saturday clinic")
    assert Activity.objects.get(pk=activity.pk).we_did == "Opened a Saturday clinic"


@pytest.mark.parametrize("role", ["Communications", "Data protection"])
def test_viewing_roles_cannot_edit(make_activity, staff_user, role):
    activity = make_activity()
    with pytest.raises(PermissionDenied):
        activities.update_activity(activity=activity, actor=Actor.staff(staff_user(role)), title="Changed")


def test_the_lead_must_be_able_to_see_activities(programme, engagement, staff_user):
    with pytest.raises(ValidationError, match="lead"):
        activities.create_activity(actor=Actor.staff(engagement), title="X", programme=programme, kind="survey",
                                   lead=staff_user())


# --- status -------------------------------------------------------------------------------------

def test_status_moves_forward_and_may_reopen(make_activity, engagement):
    actor = Actor.staff(engagement)
    activity = make_activity()
    with pytest.raises(ValidationError):
        activities.change_status(activity=activity, status="completed", actor=actor)  # skips in progress
    activity = activities.change_status(activity=activity, status="in_progress", actor=actor)
    assert activity.completed_on is None
    activity = activities.change_status(activity=activity, status="completed", actor=actor)
    assert activity.completed_on is not None
    with pytest.raises(ValidationError):
        activities.change_status(activity=activity, status="planned", actor=actor)
    activity = activities.change_status(activity=activity, status="in_progress", actor=actor)  # reopened
    assert activity.completed_on is None
    actions = list(AuditEntry.objects.filter(object_type="segments.activity", object_id=str(activity.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["activity.created", "activity.status_changed", "activity.status_changed",
                       "activity.status_changed"]


def test_unknown_status_is_refused(make_activity, engagement):
    with pytest.raises(ValidationError):
        activities.change_status(activity=make_activity(), status="cancelled", actor=Actor.staff(engagement))


# --- values -------------------------------------------------------------------------------------

def test_equality_analysis_done_needs_a_date(make_activity):
    with pytest.raises(ValidationError, match="equality analysis"):
        make_activity(equality_analysis_done=True)
    activity = make_activity(equality_analysis_done=True, equality_analysis_on=date(2026, 10, 1),
                             equality_analysis_reference="EqIA 2026/14")
    assert activity.equality_analysis_reference == "EqIA 2026/14"


def test_database_refuses_equality_analysis_without_date(make_activity):
    activity = make_activity()
    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.filter(pk=activity.pk).update(equality_analysis_done=True)


def test_database_refuses_completed_without_date_and_zero_headcount(make_activity, engagement):
    activity = make_activity()
    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.filter(pk=activity.pk).update(status="completed")
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivityHeadcount.objects.create(activity=activity, label="Nobody", count=0, added_by=engagement)


def test_expected_affected_groups_are_known_characteristics_in_standard_order(make_activity):
    activity = make_activity(groups_expected_affected=["sex", "age", "age"])
    assert activity.groups_expected_affected == ["age", "sex"]
    with pytest.raises(ValidationError, match="Not a protected characteristic"):
        make_activity(groups_expected_affected=["shoe_size"])


def test_end_before_start_is_refused(make_activity):
    with pytest.raises(ValidationError, match="end date"):
        make_activity(starts_on=date(2027, 3, 2), ends_on=date(2027, 3, 1))


def test_record_feedback_sent(make_activity):
    activity = make_activity()
    sent_at = datetime(2027, 4, 1, 9, 30, tzinfo=UTC)
    activities.record_feedback_sent(activity=activity, sent_at=sent_at, recipient_count=57, actor=Actor.system())
    activity.refresh_from_db()
    assert (activity.feedback_sent_at, activity.feedback_sent_count) == (sent_at, 57)
    assert AuditEntry.objects.filter(action="activity.feedback_sent", object_id=str(activity.pk)).exists()
    with pytest.raises(ValidationError):
        activities.record_feedback_sent(activity=activity, sent_at=sent_at, recipient_count=-1, actor=Actor.system())


# --- emails to the lead and followers ------------------------------------------------------------

def test_lead_and_followers_are_emailed_on_create_and_status_change_but_not_the_actor(
        programme, engagement, commissioner, staff_user, django_capture_on_commit_callbacks):
    follower = staff_user("Communications", email="fola@nhs.example")
    with django_capture_on_commit_callbacks(execute=True):
        activity = activities.create_activity(actor=Actor.staff(engagement), title="Maternity voices",
                                              programme=programme, kind="focus_group", lead=commissioner,
                                              followers=[follower, engagement])
    # Erin made it: the lead and the follower hear, Erin (also a follower) does not.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([commissioner.email, "fola@nhs.example"])
    assert all(m.subject == "New activity: Maternity voices" for m in mail.outbox)
    lead_mail = next(m for m in mail.outbox if m.to == [commissioner.email])
    assert "with you as its lead" in lead_mail.body
    assert f"/staff/activities/{activity.pk}/" in lead_mail.body
    assert lead_mail.alternatives and lead_mail.alternatives[0][1] == "text/html"

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        activities.change_status(activity=activity, status="in_progress", actor=Actor.staff(commissioner))
    # The lead moved it: the two followers hear, the lead does not.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([engagement.email, "fola@nhs.example"])
    assert all(m.subject == "Maternity voices is now in progress" for m in mail.outbox)
    assert "from planned to in progress" in mail.outbox[0].body


def test_an_update_without_status_change_sends_no_email(make_activity, commissioner, engagement,
                                                        django_capture_on_commit_callbacks):
    activity = make_activity(lead=commissioner)
    with django_capture_on_commit_callbacks(execute=True):
        activities.update_activity(activity=activity, actor=Actor.staff(engagement), themes_heard="Parking")
    assert mail.outbox == []


def test_locality_list_saved(make_activity):
    bootle = Locality.objects.first()
    activity = make_activity(localities=[bootle])
    assert list(activity.localities.all()) == [bootle]


def test_one_email_each_and_none_to_inactive_or_addressless_staff(programme, engagement, commissioner, staff_user,
                                                                  django_capture_on_commit_callbacks):
    gone = staff_user("Communications", email="gone@nhs.example")
    no_address = staff_user("Communications")
    no_address.email = ""
    no_address.save()
    with django_capture_on_commit_callbacks(execute=True):
        activity = activities.create_activity(actor=Actor.staff(engagement), title="Dental access survey",
                                              programme=programme, kind="survey", lead=commissioner,
                                              followers=[commissioner, gone, no_address])
    assert [m.to for m in mail.outbox] == [[commissioner.email], ["gone@nhs.example"]]  # the lead once
    mail.outbox.clear()
    gone.is_active = False
    gone.save()
    with django_capture_on_commit_callbacks(execute=True):
        activities.change_status(activity=activity, status="in_progress", actor=Actor.staff(engagement))
    assert [m.to for m in mail.outbox] == [[commissioner.email]]
    assert "Hello Cara Commission" in mail.outbox[0].body
    assert "changed “Dental access survey”" not in mail.outbox[0].body  # plain text uses straight quotes
    assert 'Erin Engage changed "Dental access survey" from planned to in progress.' in mail.outbox[0].body


# --- personal data -------------------------------------------------------------------------------

def test_named_participation_is_in_subject_access_and_goes_with_erasure(make_activity, make_contact, engagement):
    from consent.erasure import erase_contact
    from consent.exports import personal_data_for
    from segments import activity_evidence

    activity = make_activity(title="Crisis line survey")
    person = make_contact(email="resp@example.org")
    activity_evidence.add_participant(activity=activity, contact=person, actor=Actor.staff(engagement))
    ActivityHeadcount.objects.create(activity=activity, label="Paper returns", count=9, added_by=engagement)
    data = personal_data_for(person)
    assert [(p["activity"], p["kind"], p["programme"]) for p in data["activity_participations"]] == [
        ("Crisis line survey", "Survey", "Mental health")]
    erase_contact(contact=person, actor=Actor.system())
    assert not ActivityParticipant.objects.exists()
    assert Activity.objects.filter(pk=activity.pk).exists()
    assert activities.participant_numbers(activity).total == 9  # the anonymous headcount stays


def test_headcount_breakdown_is_checked(make_activity, engagement):
    from segments import activity_evidence

    activity = make_activity()
    actor = Actor.staff(engagement)
    for breakdown, message in (({"shoe_size": {"9": 1}}, "Not an equality question"),
                               ({"sex": {"other": 1}}, "Not a category of sex"),
                               ({"sex": {"female": -1}}, "whole number"),
                               ({"sex": {"female": 4, "male": 2}}, "add up to more than the 5 people")):
        with pytest.raises(ValidationError, match=message):
            activity_evidence.add_headcount(activity=activity, actor=actor, label="Stall", count=5,
                                            equality_breakdown=breakdown)
    headcount = activity_evidence.add_headcount(activity=activity, actor=actor, label="  Stall  at  market ", count=5,
                                                equality_breakdown={"sex": {"male": 2, "female": 3, "prefer_not_to_say": 0}})
    assert (headcount.label, headcount.equality_breakdown) == ("Stall at market", {"sex": {"female": 3, "male": 2}})


def test_only_staff_who_see_contacts_name_participants(make_activity, commissioner, make_contact, engagement):
    from segments import activity_evidence

    mine = make_activity(lead=commissioner)
    person = make_contact(email="named@example.org")
    with pytest.raises(PermissionDenied):
        activity_evidence.add_participant(activity=mine, contact=person, actor=Actor.staff(commissioner))
    row, created = activity_evidence.add_participant(activity=mine, contact=person, actor=Actor.staff(engagement))
    assert created
    with pytest.raises(PermissionDenied):
        activity_evidence.remove_participant(participant=row, actor=Actor.staff(commissioner))
    assert mine.participants.count() == 1


def test_an_activity_cannot_move_to_a_retired_programme(make_activity, engagement):
    activity = make_activity()
    retired = Programme.objects.create(name="Retired programme", is_active=False)
    with pytest.raises(ValidationError, match="no longer in use"):
        activities.update_activity(activity=activity, actor=Actor.staff(engagement), programme=retired)


def test_the_audit_names_the_fields_that_changed_and_nothing_for_a_save_without_change(make_activity, engagement,
                                                                                          topics):
    activity = make_activity(topics=topics[:1])
    actor = Actor.staff(engagement)
    activities.update_activity(activity=activity, actor=actor, title=activity.title, topics=topics[:1])
    assert not AuditEntry.objects.filter(action="activity.updated").exists()
    activities.update_activity(activity=activity, actor=actor, themes_heard="Transport", topics=topics[:2])
    entry = AuditEntry.objects.get(action="activity.updated")
    assert entry.changes == {"fields": ["themes_heard", "topics"]}
