"""Browser tests for the engagement activity reports: axe (WCAG 2.2 AA), no CSP refusals or script errors,
reflow at 320px, on the reports page (tables and lists, and with nothing recorded), the yearly summary (this
year, an earlier year, a year not on record) with and without JavaScript; the year picker and a CSV download."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Locality
from segments import activity_reports as reports
from segments.models import Activity, ActivityHeadcount, Programme
from tests.browser.conftest import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def records(staff_user):
    lead = staff_user("Engagement", first_name="Erin", last_name="Engage")
    mental_health = Programme.objects.get_or_create(name="Mental health")[0]
    urgent_care = Programme.objects.get_or_create(name="Urgent care")[0]
    bootle, crosby = (Locality.objects.get_or_create(name=n, defaults={"slug": n.lower()})[0]
                      for n in ("Bootle", "Crosby"))
    today = timezone.localdate()
    this_year = reports.financial_year_of(today)
    start = reports.year_bounds(this_year)[0]

    def make(title, programme, kind, status, places=(), **values):
        activity = Activity.objects.create(title=title, programme=programme, kind=kind, status=status, lead=lead,
                                           created_by=lead, **values)
        activity.localities.set(places)
        return activity

    long_ago = make("Crisis line focus group", mental_health, "focus_group", "completed", places=(bootle, crosby),
                    starts_on=today - timedelta(weeks=60), completed_on=today - timedelta(weeks=20))
    make("Urgent treatment centre consultation", urgent_care, "consultation", "completed", places=(crosby,),
         starts_on=start, completed_on=today, equality_analysis_done=True, equality_analysis_on=start,
         we_did="Opening hours kept until 10pm", feedback_published_on=today)
    make("Perinatal co-production group", mental_health, "co_production", "in_progress", starts_on=start)
    make("Dementia survey", mental_health, "survey", "planned")
    ActivityHeadcount.objects.create(activity=long_ago, label="Drop-in, Bootle Strand", count=30, added_by=lead)
    return {"year": this_year, "earliest": reports.financial_year_of(today - timedelta(weeks=60))}


@pytest.fixture
def commissioner_site(open_site, staff_user):
    def make(*, javascript=True):
        site = open_site(javascript=javascript)
        sign_in_staff(site, staff_user("Commissioner", first_name="Cara", last_name="Commission"))
        return site
    return make


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_every_report_page_is_accessible(commissioner_site, records, javascript):
    site = commissioner_site(javascript=javascript)
    year = reverse("segments:activity_year_summary")
    site.assert_all_accessible([reverse("segments:activity_reports"), year,
                                f"{year}?year={records['earliest']}", f"{year}?year=1999"])


def test_report_pages_with_nothing_recorded_are_accessible(commissioner_site):
    commissioner_site().assert_all_accessible([reverse("segments:activity_reports"),
                                               reverse("segments:activity_year_summary")])


def test_the_reports_read_as_sentences_and_link_to_each_activity(commissioner_site, records):
    site = commissioner_site()
    page = site.goto(reverse("segments:activity_reports"))
    text = page.inner_text("main")
    assert "counts in each of them" in text
    assert "1 completed activity without feedback, 1 overdue." in text
    with page.expect_navigation():
        page.get_by_role("link", name="Crisis line focus group").first.click()
    assert site.path() == reverse("segments:activity_detail", args=[Activity.objects.get(
        title="Crisis line focus group").pk])


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_year_picker_shows_another_year(commissioner_site, records, javascript):
    site = commissioner_site(javascript=javascript)
    page = site.goto(reverse("segments:activity_year_summary"))
    assert "Opening hours kept until 10pm" in page.inner_text("main")
    page.get_by_label("Financial year").select_option(str(records["year"] - 1))
    site.submit(page.get_by_role("button", name="Show this year"))
    heading = page.locator("h1").inner_text()
    assert heading.startswith(f"Engagement from 1 April {records['year'] - 1}"), heading
    site.assert_accessible()


def test_the_figures_download_as_a_csv_file(commissioner_site, records):
    site = commissioner_site()
    page = site.goto(reverse("segments:activity_year_summary"))
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the figures (CSV)").click()
    assert download.value.suggested_filename == (
        f"engagement-figures-{records['year']}-{(records['year'] + 1) % 100:02d}.csv")
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "Activities that ran in the year," in content
