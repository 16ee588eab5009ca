"""'You said, we did': feedback from a completed activity to its participants still reachable, through the
bulletin pipeline; the activity records when and to how many it went."""

import pytest
from django.core.exceptions import ValidationError

from bulletins import services
from bulletins.audience import audience_count
from bulletins.models import Delivery
from consent import services as consent_services
from crm.audit import Actor
from segments import activities, activity_evidence
from segments.models import Programme
from tests.bulletin_fixtures import *  # noqa: F403 - the shared fixtures, found by pytest by name


@pytest.fixture
def engagement(staff_user):
    return Actor.staff(staff_user("Engagement"))


@pytest.fixture
def activity(db, engagement):
    programme = Programme.objects.get_or_create(name="Mental health test")[0]
    return activities.create_activity(actor=engagement, title="Talking therapies review", programme=programme,
                                      kind="consultation", you_said="Evening sessions, please.",
                                      we_did="Two evening clinics from May.")


def complete(activity, actor):
    activities.change_status(activity=activity, status="in_progress", actor=actor)
    return activities.change_status(activity=activity, status="completed", actor=actor)


@pytest.fixture
def people(activity, engagement, make_contact, actor):
    """Five participants and one reachable person who did not take part:
    ann  events+involvement          → gets it
    bob  events only                 → gets it
    cat  events+involvement, withdrew both          → out
    dan  involvement only            → gets it
    eve  events, suppressed          → out
    fay  events+involvement, NOT a participant       → out
    """
    made = {
        "ann": make_contact(email="ann@example.org", purposes=("events", "involvement")),
        "bob": make_contact(email="bob@example.org", purposes=("events",)),
        "cat": make_contact(email="cat@example.org", purposes=("events", "involvement")),
        "dan": make_contact(email="dan@example.org", purposes=("involvement",)),
        "eve": make_contact(email="eve@example.org", purposes=("events",)),
        "fay": make_contact(email="fay@example.org", purposes=("events", "involvement")),
    }
    for name in ("ann", "bob", "cat", "dan", "eve"):
        activity_evidence.add_participant(activity=activity, contact=made[name], actor=engagement)
    for purpose in ("events", "involvement"):
        consent_services.withdraw(contact=made["cat"], purpose=purpose, method="staff_on_request", actor=actor)
    consent_services.suppress_address(email="eve@example.org", reason="complaint", actor=actor)
    return made


def test_feedback_goes_only_to_participants_still_reachable(activity, people, engagement, author_actor,
                                                            send_bulletin):
    activity = complete(activity, engagement)
    feedback = services.create_bulletin(subject="You said, we did", introduction="Thank you.",
                                        kind="activity_feedback", activity=activity, actor=author_actor)
    assert feedback.purposes == ("events", "involvement")
    assert audience_count(bulletin=feedback) == 3
    sent = send_bulletin(feedback)
    assert sent.status == "sent"
    rows = Delivery.objects.filter(bulletin=sent)
    assert rows.count() == 3
    assert set(rows.values_list("contact__email", flat=True)) == {
        "ann@example.org", "bob@example.org", "dan@example.org"}
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    activity.refresh_from_db()
    assert activity.feedback_sent_count == 3
    assert activity.feedback_sent_at == sent.send_finished_at


def test_feedback_only_from_a_completed_activity(activity, author_actor):
    with pytest.raises(ValidationError, match="completed"):
        services.create_bulletin(subject="Too soon", introduction="Hi", kind="activity_feedback", activity=activity,
                                 actor=author_actor)


def test_the_feedback_page_is_prefilled_and_for_communications_only(activity, people, engagement, staff_client):
    activity = complete(activity, engagement)
    url = f"/staff/bulletins/feedback/{activity.pk}/"
    assert staff_client("Engagement").get(url).status_code == 403
    comms = staff_client("Communications")
    page = comms.get(url).content.decode()
    assert "Evening sessions, please." in page and "Two evening clinics from May." in page
    response = comms.post(url, {"subject": "You said, we did: talking therapies", "preheader": "",
                                "introduction": "Thank you. We did it."})
    assert response.status_code == 302
    detail = comms.get(response["Location"]).content.decode()
    assert "3</span> people would get it" in detail
    assert "Talking therapies review" in detail
    activity_page = comms.get(f"/staff/activities/{activity.pk}/").content.decode()
    assert url in activity_page
