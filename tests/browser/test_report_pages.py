"""Browser tests for 'Who are we missing?' and the population baseline upload: axe (WCAG 2.2 AA), no CSP
refusals or script errors, reflow at 320px; the charts drawn by Chart.js with JavaScript (only the tables
without it); the form's errors; a baseline upload refused with its line, then accepted."""

from datetime import datetime

import pytest
from django.urls import reverse

from crm import services as crm_services
from crm.audit import Actor
from segments import activities, events
from segments.models import ActivityParticipant, Invitation, Programme
from tests.browser.conftest import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT = "segments:representation"


@pytest.fixture
def world(make_contact, staff_user, actor):
    """Eight people with monitoring consent and answers; six came to a Big Chat linked to an activity."""
    organiser = Actor.staff(staff_user("Engagement", username="organiser"))
    people = []
    for n in range(8):
        person = make_contact(email=f"p{n}@example.org", postcode="L20 3NJ",
                              purposes=("events", "equality_monitoring"))
        crm_services.save_equality_answers(contact=person, actor=actor, answers={
            "sex": "female" if n < 5 else "male", "age_band": "70-79" if n < 6 else "30-39",
            "ethnic_group": "white_british", "religion": "christian"})
        people.append(person)
    chat = events.save_event(actor=organiser, kind="big_chat", title="Big Chat, Bootle",
                             starts_at=datetime(2026, 10, 12, 10, 0), ends_at=datetime(2026, 10, 12, 12, 30))
    for person in people[:6]:
        Invitation.objects.create(event=chat, contact=person, attended=True)
    programme = Programme.objects.create(name="Mental health")
    activity = activities.create_activity(actor=organiser, title="Talking therapies review", programme=programme,
                                          kind="consultation", events=[chat])
    ActivityParticipant.objects.create(activity=activity, contact=people[7], added_by=organiser.user)
    return {"chat": chat, "activity": activity}


@pytest.fixture
def staff_site(open_site, staff_user):
    def make(role, *, javascript=True):
        site = open_site(javascript=javascript)
        site.user = staff_user(role)
        sign_in_staff(site, site.user)
        return site
    return make


def test_the_report_with_its_charts_is_accessible(staff_site, world):
    site = staff_site("Engagement")
    page = site.goto(reverse(REPORT))
    # Chart.js drew a chart for each characteristic the census has figures for, beside its table.
    for name in ("age", "sex", "ethnic_group", "religion"):
        assert page.locator(f"#chart-{name}").is_visible()
        assert page.evaluate(f"() => Boolean(window.Chart.getChart('chart-{name}'))")
    assert page.locator("#chart-locality").count() == 0 and page.locator("#chart-disability").count() == 0
    # Hidden small groups reach the chart as no bar at all.
    ours = page.evaluate("() => window.Chart.getChart('chart-sex').data.datasets[0].data")
    assert ours == [None, None]  # 5 women and 3 men: 3 hidden, so 5 as well
    site.assert_accessible()
    page.get_by_label("People who came to events or took part in an activity").check()
    page.get_by_label("Activity", exact=True).select_option(label="Talking therapies review")
    site.submit(page.get_by_role("button", name="Show the report"))
    assert "7 people counted" in page.locator("#sex-heading + p").inner_text()  # 6 came, 1 recorded
    site.assert_accessible()


def test_the_report_without_javascript_is_its_tables(staff_site, world):
    site = staff_site("Commissioner", javascript=False)
    page = site.goto(reverse(REPORT))
    assert page.locator("figure.mynhs-chart-figure").first.is_hidden()
    assert page.locator("table").count() == 6
    site.assert_accessible()
    page.get_by_label("People who came to events", exact=True).check()
    page.locator("#id_start_0").fill("13")
    page.locator("#id_start_1").fill("10")
    page.locator("#id_start_2").fill("2026")
    page.locator("#id_end_0").fill("1")
    page.locator("#id_end_1").fill("10")
    page.locator("#id_end_2").fill("2026")
    site.submit(page.get_by_role("button", name="Show the report"))
    assert page.title().startswith("Error: ")
    assert page.locator(".nhsuk-error-summary").is_visible()
    site.assert_accessible()


def test_the_baseline_upload_refuses_a_bad_line_then_takes_a_good_file(staff_site, world, tmp_path):
    site = staff_site("Data protection", javascript=False)
    page = site.goto(reverse("segments:baseline_upload"))
    site.assert_accessible()
    header = "area_code,area_name,characteristic,category,residents\n"
    rows = ["sex,Female,600", "sex,Male,400", "age,70-79,1000", "ethnic_group,White,1000", "religion,Christian,1000"]
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "".join(f"E99000001,Testshire,{r}\n" for r in rows).replace("600", "six hundred"))
    page.get_by_label("Census baseline (CSV)").set_input_files(str(bad))
    site.submit(page.get_by_role("button", name="Upload the baseline"))
    assert "Line 2: residents 'six hundred' is not a whole number" in page.locator(".nhsuk-error-summary").inner_text()
    site.assert_accessible()
    good = tmp_path / "good.csv"
    good.write_text(header + "".join(f"E99000001,Testshire,{r}\n" for r in rows))
    page.get_by_label("Census baseline (CSV)").set_input_files(str(good))
    site.submit(page.get_by_role("button", name="Upload the baseline"))
    assert "It now uses Testshire (E99000001)" in page.locator("main").inner_text()
    site.assert_accessible()
