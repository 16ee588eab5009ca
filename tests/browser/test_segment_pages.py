"""Browser tests for the segment, invitation list and event pages, staff and public: axe (WCAG 2.2 AA),
no CSP refusals or script errors, reflow at 320px; the rule builder without JavaScript (buttons post
back) and with it (the live count); the RSVP journey without JavaScript."""

from datetime import datetime

import pytest
from django.urls import reverse

from crm.audit import Actor
from crm.models import Topic
from segments import events, exports, services
from segments.models import Invitation
from segments.rsvp import rsvp_tokens
from tests.browser.conftest import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ENGAGEMENT, DATA_PROTECTION = "Engagement", "Data protection"
DEMENTIA = {"version": 1, "match": "all", "rules": [{"field": "topics", "op": "any", "value": ["dementia"]}]}


@pytest.fixture
def world(make_contact, staff_user):
    dementia = Topic.objects.get(slug="dementia")
    ann = make_contact(email="ann@example.org", name="Ann Able", topics=[dementia], purposes=("events", "bulletin"))
    make_contact(email="bob@example.org", name="Bob Baker", topics=[dementia], purposes=("bulletin",))
    organiser = Actor.staff(staff_user(ENGAGEMENT, username="organiser"))
    segment = services.create_segment(name="Dementia", description="Interested in dementia", rules=DEMENTIA,
                                      actor=organiser)
    chat = events.save_event(actor=organiser, kind="big_chat", title="Big Chat, Bootle",
                             starts_at=datetime(2027, 3, 12, 10, 0), ends_at=datetime(2027, 3, 12, 12, 30),
                             venue_name="Bootle Town Hall", venue_address="Oriel Road, Bootle", step_free=True,
                             hearing_loop=True, accessibility_notes="Lift to the first floor.", capacity=30,
                             online_link="https://meet.example.org/big-chat")
    past = events.save_event(actor=organiser, title="Mini Chat, Crosby", starts_at=datetime(2026, 1, 5, 14, 0),
                             ends_at=datetime(2026, 1, 5, 15, 0))
    export = exports.create_invitation_export(segment=segment, event=chat, stated_purpose="Posting invitations",
                                              columns=["name", "email"], file_format="csv", actor=organiser)
    invitation = Invitation.objects.get(event=chat, contact=ann)
    events.respond(invitation=invitation, response="yes", access_needs="A seat near the loop",
                   actor=Actor.public("127.0.0.1"))
    return {"ann": ann, "segment": segment, "chat": chat, "past": past, "export": export, "invitation": invitation}


@pytest.fixture
def engagement_site(open_site, staff_user):
    def make(*, javascript=True, roles=(ENGAGEMENT,)):
        site = open_site(javascript=javascript)
        site.user = staff_user(*roles)
        sign_in_staff(site, site.user)
        return site
    return make


def staff_pages(world):
    chat, segment, export = world["chat"], world["segment"], world["export"]
    return [
        (reverse("segments:segment_list"), 200),
        (reverse("segments:segment_new"), 200),
        (reverse("segments:segment_edit", args=[segment.pk]), 200),
        (reverse("segments:segment_export", args=[segment.pk]), 200),
        (reverse("segments:export_list"), 200),
        (reverse("segments:export_detail", args=[export.public_id]), 200),
        (reverse("segments:export_download", args=[f"{export.public_id.hex}:1abcde:forged"]), 404),
        (reverse("segments:event_list"), 200),
        (reverse("segments:event_new"), 200),
        (reverse("segments:event_detail", args=[chat.public_id]), 200),
        (reverse("segments:event_edit", args=[chat.public_id]), 200),
        (reverse("segments:event_register", args=[chat.public_id]), 200),
        (reverse("segments:event_walk_in", args=[chat.public_id]), 200),
        (reverse("segments:event_attendance_upload", args=[chat.public_id]), 200),
        (reverse("consent_staff:contact", args=[world["ann"].public_id]), 200),
    ]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_every_segment_and_event_staff_page_is_accessible(engagement_site, world, javascript):
    site = engagement_site(javascript=javascript)
    site.assert_all_accessible(staff_pages(world))


def test_the_builder_without_javascript_adds_rows_counts_and_shows_errors(engagement_site, world):
    site = engagement_site(javascript=False)
    page = site.goto(reverse("segments:segment_new"))
    page.select_option("#row-0-field", "topics")
    site.submit(page.get_by_role("button", name="Update the form for condition 1"))
    page.get_by_label("Dementia").check()
    site.submit(page.get_by_role("button", name="Add a group"))
    assert page.locator("#row-1-match").count() == 1 and page.locator("#row-1_0-field").count() == 1
    site.submit(page.get_by_role("button", name="Count", exact=True))
    # The group's condition is empty: an error beside it, and a summary linking to it.
    assert page.locator(".nhsuk-error-summary a[href='#row-1_0-field']").count() == 1
    assert page.title().startswith("Error: ")
    assert "Choose what this condition is about" in page.locator("#row-1_0").inner_text()
    site.assert_accessible()
    site.submit(page.get_by_role("button", name="Remove group 2"))
    site.submit(page.get_by_role("button", name="Count", exact=True))
    assert "2 people match; 1 can be invited to events now; 2 can be sent the e-bulletin" in \
        page.locator("#segment-count").inner_text()
    assert page.get_by_role("link", name="Ann Able").count() == 1  # the sample
    site.assert_accessible()


def test_the_live_count_follows_the_rules_with_javascript(engagement_site, world):
    site = engagement_site()
    page = site.goto(reverse("segments:segment_edit", args=[world["segment"].pk]))
    count = page.locator("#segment-count")
    assert "2 people match" in count.inner_text()
    page.locator("#row-0-op").select_option("none")  # people with none of the topics: nobody here
    page.wait_for_function("() => document.querySelector('#segment-count').textContent.includes('0 people match')")
    page.get_by_label("Dementia").uncheck()
    page.wait_for_function("() => document.querySelector('#segment-count').textContent.includes('Finish')")
    assert not site.problems, site.problems
    site.assert_accessible()


def test_event_form_errors_and_the_export_form_errors_are_accessible(engagement_site, world):
    site = engagement_site(javascript=False)
    page = site.goto(reverse("segments:event_new"))
    site.submit(page.get_by_role("button", name="Save the event"))
    assert page.locator(".nhsuk-error-summary").is_visible() and page.title().startswith("Error: ")
    site.assert_accessible()
    page = site.goto(reverse("segments:segment_export", args=[world["segment"].pk]))
    site.submit(page.get_by_role("button", name="Create the list"))
    assert page.locator(".nhsuk-error-summary").is_visible()
    site.assert_accessible()


def test_the_expired_download_page_is_accessible(engagement_site, world):
    (exports.exports_dir() / world["export"].file_name).unlink()
    site = engagement_site()
    site.goto(reverse("segments:export_download", args=[exports.download_token(world["export"])]), status=410)
    assert site.page.locator("h1").inner_text() == "This link has expired"
    site.assert_accessible()


def test_data_protection_sees_segments_and_exports_with_equality_fields(engagement_site, world):
    site = engagement_site(roles=(DATA_PROTECTION,))
    page = site.goto(reverse("segments:segment_edit", args=[world["segment"].pk]))
    assert page.locator("#row-0-field option[value='age_band']").count() == 1
    site.assert_accessible()
    site.goto(reverse("segments:export_list"))
    site.assert_accessible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_public_event_and_rsvp_journey(open_site, world, javascript):
    site = open_site(javascript=javascript)
    site.goto(reverse("segments:public_event", args=[world["chat"].public_id]))
    assert "Friday 12 March 2027, 10am to 12:30pm" in site.page.inner_text("main")
    site.assert_accessible()

    page = site.goto(reverse("segments:rsvp", args=[rsvp_tokens.make_token(world["invitation"])]))
    site.assert_accessible()
    assert page.get_by_label("Yes, I'm coming").is_checked()  # their answer so far
    page.get_by_label("No, I can't come").check()
    page.get_by_label("I need… (optional)").fill("")
    site.submit(page.get_by_role("button", name="Send my answer"))
    assert "Thank you for letting us know" in page.inner_text("h1")
    site.assert_accessible()
    site.goto(reverse("segments:rsvp", args=["not-a-token"]), status=404)
    site.assert_accessible()
