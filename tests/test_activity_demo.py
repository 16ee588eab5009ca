"""manage.py load_demo_activities: demo programmes and activities in every status, hand-counted."""

from datetime import date
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from crm.audit import Actor
from crm.demo_staff import ensure_demo_staff
from segments import activities
from segments.demo_activities import load_demo_activities
from segments.models import Activity, Programme

TODAY = date(2027, 6, 15)


@pytest.fixture
def demo_staff(db):
    ensure_demo_staff(actor=Actor.system())


def test_six_activities_in_every_status_one_completed_with_feedback(demo_staff, make_contact,
                                                                   django_capture_on_commit_callbacks):
    for n in range(16):
        make_contact(email=f"demo{n}@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        loaded = load_demo_activities(actor=Actor.system(), today=TODAY)

    assert loaded.activities == 6
    assert set(Programme.objects.values_list("name", flat=True)) >= {
        "Urgent and emergency care", "Mental health", "Maternity", "Primary care"}
    by_status = {s: Activity.objects.filter(status=s).count() for s in Activity.Status.values}
    assert by_status == {"planned": 2, "in_progress": 2, "completed": 2}
    # The commissioner leads two (one in progress, one planned), so their edit-only-own rule shows.
    assert Activity.objects.filter(lead__username="commissioner").count() == 2

    urgent = Activity.objects.get(title__startswith="Urgent care")
    assert urgent.completed_on == date(2027, 3, 17)  # 90 days before 15 June 2027
    assert urgent.we_did and urgent.you_said and urgent.feedback_published_on == date(2027, 4, 16)
    numbers = activities.participant_numbers(urgent)
    # 12 came to the Big Chat, 6 recorded by name, 2 of those also came: 16 people; 34 + 18 + 57 anonymous.
    assert (numbers.from_events, numbers.recorded, numbers.named, numbers.anonymous, numbers.total) == (
        12, 6, 16, 109, 125)
    # The other completed one still waits for its feedback (the reports' "no feedback yet" example).
    ppg = Activity.objects.get(kind=Activity.Kind.PPG_MEETING)
    assert ppg.status == "completed" and not ppg.we_did and ppg.feedback_published_on is None
    assert not mail.outbox  # demo data emails nobody


def test_loading_twice_adds_nothing_and_says_why(demo_staff):
    load_demo_activities(actor=Actor.system(), today=TODAY)
    out = StringIO()
    call_command("load_demo_activities", stdout=out)
    assert Activity.objects.count() == 6
    assert "activities already exist" in out.getvalue()


def test_without_demo_staff_nothing_is_loaded(db):
    out = StringIO()
    call_command("load_demo_activities", stdout=out)
    assert Activity.objects.count() == 0
    assert "ensure_demo_staff" in out.getvalue()
