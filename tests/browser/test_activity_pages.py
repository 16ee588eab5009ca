"""Browser tests for the engagement activity pages: axe (WCAG 2.2 AA), no CSP refusals or script errors,
reflow at 320px, with and without JavaScript; the forms' error states; a status change and a headcount
added through the pages; what a Commissioner sees (every activity, no people's names, no edit buttons on
another lead's activity)."""

from datetime import date, datetime

import pytest
from django.urls import reverse

from crm.audit import Actor
from crm.models import Locality
from segments import activities, activity_evidence, events
from segments.models import Activity, Programme
from tests.browser.conftest import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ENGAGEMENT, COMMISSIONER = "Engagement", "Commissioner"


@pytest.fixture
def world(make_contact, staff_user):
    lead = staff_user(ENGAGEMENT, username="eden", first_name="Eden", last_name="Engage")
    commissioner = staff_user(COMMISSIONER, username="corey", first_name="Corey", last_name="Commission")
    by_lead = Actor.staff(lead)
    urgent = Programme.objects.create(name="Urgent and emergency care")
    maternity = Programme.objects.create(name="Maternity")
    bootle = Locality.objects.get(slug="bootle")
    chat = events.save_event(actor=by_lead, kind="big_chat", title="Big Chat, Bootle",
                             starts_at=datetime(2027, 3, 12, 18, 30), ends_at=datetime(2027, 3, 12, 20, 0))
    consultation = activities.create_activity(
        actor=by_lead, title="Where to go out of hours", programme=urgent, kind=Activity.Kind.CONSULTATION,
        legal_basis=Activity.LegalBasis.SUBSTANTIAL_VARIATION, starts_on=date(2026, 9, 1), ends_on=date(2026, 11, 30),
        equality_analysis_done=True, equality_analysis_on=date(2026, 8, 20), equality_analysis_reference="EQIA-14",
        groups_expected_affected=["age", "disability"], themes_heard="Buses after 6pm.",
        localities=[bootle], followers=[commissioner], events=[chat])
    ann = make_contact(email="ann@example.org", name="Ann Able")
    activity_evidence.add_participant(activity=consultation, contact=ann, actor=by_lead)
    activity_evidence.add_headcount(activity=consultation, actor=by_lead, label="Drop-in at Bootle Strand", count=34,
                                    locality=bootle, equality_breakdown={"sex": {"female": 20, "male": 12}})
    activities.change_status(activity=consultation, status="in_progress", actor=by_lead)
    activities.change_status(activity=consultation, status="completed", actor=by_lead)
    activities.update_activity(activity=consultation, actor=by_lead, you_said="Hard to get there.",
                               we_did="Two more buses.", feedback_published_on=date(2026, 12, 1))
    survey = activities.create_activity(actor=by_lead, title="Maternity survey", programme=maternity,
                                        kind=Activity.Kind.SURVEY, lead=commissioner)
    return {"lead": lead, "commissioner": commissioner, "consultation": consultation, "survey": survey,
            "chat": chat}


@pytest.fixture
def staff_site(open_site):
    def make(user, *, javascript=True):
        site = open_site(javascript=javascript)
        sign_in_staff(site, user)
        return site
    return make


def activity_pages(world):
    consultation, survey = world["consultation"], world["survey"]
    return [
        reverse("segments:activity_list"),
        reverse("segments:activity_list") + "?status=completed&sort=-title",
        reverse("segments:activity_list") + "?status=planned&kind=consultation",  # nothing matches
        reverse("segments:activity_new"),
        reverse("segments:activity_detail", args=[consultation.pk]),
        reverse("segments:activity_detail", args=[survey.pk]),
        reverse("segments:activity_edit", args=[consultation.pk]),
        reverse("segments:activity_headcount_add", args=[consultation.pk]),
        reverse("segments:activity_participant_add", args=[consultation.pk]),
        reverse("segments:activity_events", args=[consultation.pk]),
    ]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_every_activity_page_is_accessible(staff_site, world, javascript):
    staff_site(world["lead"], javascript=javascript).assert_all_accessible(activity_pages(world))


def test_the_activity_page_reads_like_a_product(staff_site, world):
    site = staff_site(world["lead"])
    page = site.goto(reverse("segments:activity_detail", args=[world["consultation"].pk]))
    text = page.locator("main").inner_text()
    # Participants: 1 named (Ann, recorded; nobody ticked at the Big Chat) + 34 anonymous = 35.
    assert "35" in text and "34" in text
    assert "20 August 2026" in text  # the equality analysis date, as people write it
    assert "Ann Able" in text  # Engagement may see who took part
    assert "Two more buses." in text
    assert "T00:00" not in text and "in_progress" not in text


def test_a_commissioner_sees_counts_not_names_and_no_edit_on_another_leads_activity(staff_site, world):
    site = staff_site(world["commissioner"])
    page = site.goto(reverse("segments:activity_detail", args=[world["consultation"].pk]))
    text = page.locator("main").inner_text()
    assert "Ann Able" not in text and "ann@example.org" not in text
    assert page.get_by_role("button", name="Reopen: mark as in progress").count() == 0
    site.assert_accessible()
    site.goto(reverse("segments:activity_edit", args=[world["consultation"].pk]), status=403)
    site.problems.clear()
    # Their own activity: the edit page and the start button are theirs to use.
    page = site.goto(reverse("segments:activity_detail", args=[world["survey"].pk]))
    site.submit(page.get_by_role("button", name="Start: mark as in progress"))
    assert Activity.objects.get(pk=world["survey"].pk).status == "in_progress"
    site.assert_accessible()
    site.assert_all_accessible([reverse("segments:activity_list"), reverse("segments:activity_edit", args=[world["survey"].pk])])


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_form_errors_are_accessible(staff_site, world, javascript):
    site = staff_site(world["lead"], javascript=javascript)
    page = site.goto(reverse("segments:activity_new"))
    site.submit(page.get_by_role("button", name="Save the activity"))
    assert page.locator(".nhsuk-error-summary").count() == 1 and page.title().startswith("Error: ")
    site.assert_accessible()
    page = site.goto(reverse("segments:activity_headcount_add", args=[world["consultation"].pk]))
    site.submit(page.get_by_role("button", name="Add the headcount"))
    assert page.locator(".nhsuk-error-summary").count() == 1
    site.assert_accessible()
    page = site.goto(reverse("segments:activity_participant_add", args=[world["consultation"].pk]))
    page.get_by_label("Their email address").fill("nobody@example.org")
    site.submit(page.get_by_role("button", name="Find and add them"))
    assert page.locator(".nhsuk-error-summary").count() == 1
    site.assert_accessible()


def test_adding_a_headcount_through_the_page_shows_on_the_activity(staff_site, world):
    site = staff_site(world["lead"], javascript=False)
    page = site.goto(reverse("segments:activity_headcount_add", args=[world["consultation"].pk]))
    page.get_by_label("Where or how they took part").fill("Stall at Crosby library")
    page.get_by_label("How many people").fill("18")
    site.submit(page.get_by_role("button", name="Add the headcount"))
    assert site.path() == reverse("segments:activity_detail", args=[world["consultation"].pk])
    text = page.locator("main").inner_text()
    assert "Stall at Crosby library" in text and "53" in text  # 1 named + 34 + 18
    site.assert_accessible()
