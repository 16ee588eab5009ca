"""A bulletin narrowed by a saved segment: hand-counted people, the rules as approved, protected rules guarded."""

import pytest
from django.core.exceptions import ValidationError

from bulletins import services
from bulletins.audience import audience_count, describe_audience
from bulletins.models import Delivery
from consent import services as consent_services
from crm.audit import Actor
from crm.models import AuditEntry, Locality, PostcodeDistrict, Topic
from segments import services as segment_services
from tests.bulletin_fixtures import *  # noqa: F403 - the shared fixtures, found by pytest by name


def rules(*conditions):
    return {"version": 1, "match": "all", "rules": list(conditions)}


NORTH = rules({"field": "locality", "op": "in", "value": ["north-test"]})
SOUTH = rules({"field": "locality", "op": "in", "value": ["south-test"]})


@pytest.fixture
def people(db, make_contact, actor):
    """ann    North, bulletin, dementia                → in
    bob    South, bulletin, dementia                → out: not in the North segment
    cat    North, bulletin, cancer only             → out: no item on her topic (topics audience)
    dan    North, events only                       → out: not reachable for bulletin
    eve    North, bulletin, dementia, suppressed    → out: suppressed
    fay    North, bulletin, dementia                → in
    """
    north = Locality.objects.create(name="North Test", slug="north-test")
    south = Locality.objects.create(name="South Test", slug="south-test")
    PostcodeDistrict.objects.create(code="ZE1", locality=north)
    PostcodeDistrict.objects.create(code="ZE2", locality=south)
    dementia, cancer = Topic.objects.get(slug="dementia"), Topic.objects.get(slug="cancer")
    made = {
        "ann": make_contact(email="ann@example.org", postcode="ZE1 0AA", topics=[dementia]),
        "bob": make_contact(email="bob@example.org", postcode="ZE2 9ZZ", topics=[dementia]),
        "cat": make_contact(email="cat@example.org", postcode="ZE1 1AB", topics=[cancer]),
        "dan": make_contact(email="dan@example.org", postcode="ZE1 2AB", topics=[dementia], purposes=("events",)),
        "eve": make_contact(email="eve@example.org", postcode="ZE1 3AB", topics=[dementia]),
        "fay": make_contact(email="fay@example.org", postcode="ZE1 4AB", topics=[dementia]),
    }
    consent_services.suppress_address(email="eve@example.org", reason="complaint", actor=actor)
    return made


@pytest.fixture
def engagement(staff_user):
    return Actor.staff(staff_user("Engagement"))


@pytest.fixture
def north(people, engagement):
    return segment_services.create_segment(name="North", rules=NORTH, actor=engagement)


@pytest.fixture
def dementia_bulletin(make_bulletin):
    dementia = Topic.objects.get(slug="dementia")

    def make(**kwargs):
        bulletin = make_bulletin(items=[], **kwargs)
        services.add_item(bulletin=bulletin, content=services.ItemContent(
            title="Memory cafés", body_markdown="New cafés open.", topic=dementia), actor=Actor.staff(bulletin.created_by))
        bulletin.refresh_from_db()
        return bulletin

    return make


def names_sent(bulletin) -> set[str]:
    return {e.split("@")[0] for e in Delivery.objects.filter(bulletin=bulletin).values_list("contact__email", flat=True)}


def test_a_segment_narrows_the_count_and_the_send(dementia_bulletin, north, author_actor, send_bulletin):
    bulletin = dementia_bulletin()
    assert audience_count(bulletin=bulletin) == 3  # ann, bob, fay: dementia and reachable
    services.update_bulletin(bulletin=bulletin, subject=bulletin.subject, preheader=bulletin.preheader,
                             introduction=bulletin.introduction, audience="topics", segment=north, actor=author_actor)
    bulletin.refresh_from_db()
    assert audience_count(bulletin=bulletin) == 2  # ann, fay
    assert "in the segment “North”" in describe_audience(bulletin)
    sent = send_bulletin(bulletin)
    assert names_sent(sent) == {"ann", "fay"}
    assert sent.status == "sent"


def test_everyone_audience_with_a_segment_ignores_topics_but_not_consent(dementia_bulletin, north, author_actor):
    bulletin = dementia_bulletin()
    services.update_bulletin(bulletin=bulletin, subject=bulletin.subject, preheader="", introduction="",
                             audience="everyone", segment=north, actor=author_actor)
    bulletin.refresh_from_db()
    assert audience_count(bulletin=bulletin) == 3  # ann, cat, fay (not dan: events only; not eve: suppressed)


def test_an_edit_to_the_segment_after_approval_does_not_change_who_it_goes_to(
        dementia_bulletin, north, author_actor, approver_actor, engagement, send_bulletin):
    bulletin = dementia_bulletin()
    services.update_bulletin(bulletin=bulletin, subject=bulletin.subject, preheader="", introduction="",
                             audience="topics", segment=north, actor=author_actor)
    bulletin.refresh_from_db()
    services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=approver_actor)
    segment_services.update_segment(segment=north, name="North", rules=SOUTH, actor=engagement)
    bulletin.refresh_from_db()
    assert bulletin.segment_rules == NORTH
    assert audience_count(bulletin=bulletin) == 2  # still ann and fay: the approved copy
    assert "as they were when it was approved" in describe_audience(bulletin)
    assert names_sent(send_bulletin(bulletin)) == {"ann", "fay"}


def test_a_new_version_drops_the_approved_copy_and_follows_the_segment_again(
        dementia_bulletin, north, author_actor, approver_actor, engagement):
    bulletin = dementia_bulletin()
    services.update_bulletin(bulletin=bulletin, subject=bulletin.subject, preheader="", introduction="",
                             audience="topics", segment=north, actor=author_actor)
    bulletin.refresh_from_db()
    services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=approver_actor)
    segment_services.update_segment(segment=north, name="North", rules=SOUTH, actor=engagement)
    services.update_bulletin(bulletin=bulletin, subject="Changed subject", preheader="", introduction="",
                             audience="topics", actor=author_actor)
    bulletin.refresh_from_db()
    assert bulletin.status == "draft" and bulletin.segment_rules is None
    assert audience_count(bulletin=bulletin) == 1  # bob: the segment's rules now say South


def test_protected_segments_need_the_equality_permission_to_choose_and_to_approve(
        people, make_bulletin, author_actor, approver_actor, staff_user):
    equality = Actor.staff(staff_user("Engagement", "Data protection"))
    over_80s = segment_services.create_segment(
        name="Over 80s", rules=rules({"field": "age_band", "op": "in", "value": ["80+"]}), actor=equality)
    with pytest.raises(ValidationError, match="Choose a segment from the list"):
        services.create_bulletin(subject="For older people", segment=over_80s, actor=author_actor)
    writer = Actor.staff(staff_user("Communications", "Data protection"))
    bulletin = make_bulletin(actor=writer)
    services.update_bulletin(bulletin=bulletin, subject=bulletin.subject, preheader=bulletin.preheader,
                             introduction=bulletin.introduction, audience="everyone", segment=over_80s, actor=writer)
    bulletin.refresh_from_db()
    with pytest.raises(ValidationError, match="equality answers"):
        services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=approver_actor)
    before = AuditEntry.objects.filter(action="segment.equality_rules_used").count()
    assert audience_count(bulletin=bulletin, actor=writer) == 0  # nobody here gave equality_targeting
    assert AuditEntry.objects.filter(action="segment.equality_rules_used").count() == before + 1


def test_the_pages_say_which_segment(dementia_bulletin, north, author, author_actor, staff_client, approver):
    bulletin = dementia_bulletin()
    client = staff_client(user=author)
    response = client.post(f"/staff/bulletins/{bulletin.public_id}/edit/", {
        "subject": bulletin.subject, "preheader": "", "introduction": "", "audience": "topics",
        "segment": str(north.pk)})
    assert response.status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.segment == north
    page = client.get(f"/staff/bulletins/{bulletin.public_id}/").content.decode()
    assert "in the segment “North”" in page
    assert '<span id="audience-count">2</span>' in page
