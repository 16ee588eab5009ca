"""The 'Who are we missing?' page and its CSV: the service's suppression reaches the page, the chart and the
download unchanged; populations per event, activity and programme; who may see it.

Population (hand-made, as in test_representation.py): North Test has 3 people, South Test 12, all with
equality-monitoring consent; two more South people without it are never counted. North: 3 women aged 80+.
South: 6 women (s0-s5) and 6 men (s6-s11) aged 20-29. Everyone answered ethnic group White British.
"""

import csv
import html
import io
import json
import re

import pytest
from django.urls import reverse

from crm import census
from crm import services as crm_services
from crm.audit import Actor
from crm.models import AuditEntry, Locality, PostcodeDistrict
from segments import activities
from segments.models import ActivityParticipant, Event, Invitation, Programme

REPORT = "segments:representation"


@pytest.fixture
def population(db, make_contact, actor):
    north = Locality.objects.create(name="North Test", slug="north-test")
    south = Locality.objects.create(name="South Test", slug="south-test")
    PostcodeDistrict.objects.create(code="ZE1", locality=north)
    PostcodeDistrict.objects.create(code="ZE2", locality=south)
    made = [(make_contact(email=f"n{n}@example.org", postcode="ZE1 0AA", purposes=("bulletin", "equality_monitoring")),
             "female", "80+") for n in range(3)]
    made += [(make_contact(email=f"s{n}@example.org", postcode="ZE2 0AA", purposes=("bulletin", "equality_monitoring")),
              "female" if n < 6 else "male", "20-29") for n in range(12)]
    made += [(make_contact(email=f"x{n}@example.org", postcode="ZE2 0AA", purposes=("bulletin",)), "male", "20-29")
             for n in range(2)]
    for contact, sex, age in made:
        crm_services.save_equality_answers(contact=contact, answers={"sex": sex, "age_band": age,
                                                                     "ethnic_group": "white_british"}, actor=actor)
    return [c for c, _, _ in made]


@pytest.fixture
def engagement(staff_client):
    return staff_client("Engagement")


@pytest.fixture
def big_chat(population, engagement):
    """An event on 1 November 2026 that s0-s6 came to (6 women, 1 man) and n0 was invited to but missed,
    linked to an activity of the 'Mental health' programme on which n1 (a woman) is recorded as taking part."""
    event = Event.objects.create(title="Big Chat, Bootle", starts_at="2026-11-01T10:00Z",
                                 ends_at="2026-11-01T12:00Z", created_by=engagement.user)
    for contact in population[3:10]:
        Invitation.objects.create(event=event, contact=contact, attended=True)
    Invitation.objects.create(event=event, contact=population[0], attended=False)
    programme = Programme.objects.create(name="Mental health")
    activity = activities.create_activity(actor=Actor.staff(engagement.user), title="Talking therapies review",
                                          programme=programme, kind="consultation", events=[event])
    ActivityParticipant.objects.create(activity=activity, contact=population[1], added_by=engagement.user)
    return {"event": event, "activity": activity, "programme": programme}


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def section(response, heading: str) -> str:
    """The text of one characteristic's section of the page."""
    page = response.content.decode()
    start = page.index(f'id="{heading}-heading"')
    end = page.find("<section", start)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[start:end if end > 0 else None])))


def figures(response) -> dict:
    raw = re.search(r'<script id="representation-figures" type="application/json">(.*?)</script>',
                    response.content.decode(), re.S).group(1)
    return {f["id"]: f for f in json.loads(raw)}


def test_a_locality_of_three_stays_hidden_on_the_page_and_in_the_csv(engagement, population):
    page = engagement.get(reverse(REPORT))
    locality = section(page, "locality")
    # North (3) is hidden; South (12) too, or the shown total 15 minus 12 would give North's 3.
    assert "North Test <5" in locality and "South Test <5" in locality and "Total 15" in locality
    assert not re.search(r"\b(3|12)\b", locality.split("Total")[0])
    response = engagement.get(reverse("segments:representation_csv"))
    assert response["Content-Disposition"].startswith('attachment; filename="who-are-we-missing-')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    by = {(r[0], r[1]): r for r in rows[2:]}
    assert by[("Locality", "North Test")][2:4] == ["<5", ""] and by[("Locality", "South Test")][2:4] == ["<5", ""]
    assert {r[2] for r in rows[2:] if r[0] == "Locality"} <= {"<5", "0"}
    entry = AuditEntry.objects.get(action="equality.report_downloaded")
    assert entry.actor_label and entry.summary == "People we can contact"


def test_counts_shares_ratios_and_the_groups_we_are_missing(engagement, population):
    page = engagement.get(reverse(REPORT))
    sex = section(page, "sex")
    # 9 women and 6 men of 15; Sefton: 143,988 women, 135,242 men (51.6% and 48.4%).
    assert "Female 9 60.0% 51.6% 1.16" in sex and "Male 6 40.0% 48.4% 0.83" in sex
    assert "Under-represented" not in sex  # 0.83 is not under 0.8
    age = section(page, "age")
    assert "40-49 Under-represented 0 0.0% 11.6% 0.00" in age  # nobody aged 40-49 reached
    assert "80+ <5" in age and "20-29 <5" in age  # 3, and the 12 that would give it away
    assert "Sefton (E08000014)" in text(page)


def test_the_chart_gets_the_shown_shares_and_never_a_hidden_one(engagement, population):
    charts = figures(engagement.get(reverse(REPORT)))
    assert "chart-locality" not in charts and "chart-disability" not in charts  # no census figures for them
    assert charts["chart-sex"]["categories"] == ["Female", "Male"]
    assert charts["chart-sex"]["ours"] == [60.0, 40.0] and charts["chart-sex"]["population"] == [51.6, 48.4]
    ours = dict(zip(charts["chart-age"]["categories"], charts["chart-age"]["ours"], strict=True))
    assert ours["80+"] is None and ours["20-29"] is None and ours["40-49"] == 0.0


def test_people_who_came_took_part_in_an_activity_or_a_programme(engagement, big_chat):
    def sex(**query):
        return section(engagement.get(reverse(REPORT), query), "sex")

    assert "Total 7" in sex(population="attended")  # s0-s6: n0 missed it
    assert "Total 8" in sex(population="invited")  # and n0, invited
    # Took part: the 7 who came and n1, recorded on the activity: 7 women, 1 man (hidden, so 7 too).
    for query in ({"activity": big_chat["activity"].pk}, {"programme": big_chat["programme"].pk}, {}):
        shown = sex(population="took_part", **query)
        assert "Total 8" in shown and "Female <5" in shown and "Male <5" in shown
    # Chosen events: only the people who came to them.
    assert "Total 7" in sex(population="took_part", events=big_chat["event"].pk)
    # A period after the event: nobody came; the activity has no dates, so n1 still counts.
    assert "Total 1" not in sex(population="attended", start_0="1", start_1="12", start_2="2026")
    assert "0 people counted" in sex(population="attended", start_0="1", start_1="12", start_2="2026")
    assert "Total <5" in sex(population="took_part", start_0="1", start_1="12", start_2="2026")


def test_the_form_explains_what_it_cannot_count(engagement, big_chat):
    page = text(engagement.get(reverse(REPORT), {"population": "attended", "start_0": "2", "start_1": "11",
                                                 "start_2": "2026", "end_0": "1", "end_1": "11", "end_2": "2026"}))
    assert page.startswith("Error: Who are we missing?") or "Error: Who are we missing?" in page
    assert "The end date must be the same as or after the start date" in page
    page = text(engagement.get(reverse(REPORT), {"population": "reachable", "activity": big_chat["activity"].pk}))
    assert "Everyone we can contact is not counted per event or activity" in page
    assert "representation-figures" not in engagement.get(reverse(REPORT), {"population": "reachable",
                                                                           "activity": big_chat["activity"].pk}
                                                          ).content.decode()


def test_an_uploaded_baseline_is_the_one_compared_with(engagement, population, staff_user):
    content = (b"area_code,area_name,characteristic,category,residents\n"
               b"E99000001,Testshire,sex,Female,600\nE99000001,Testshire,sex,Male,400\n"
               b"E99000001,Testshire,age,20-29,1000\nE99000001,Testshire,ethnic_group,White,1000\n"
               b"E99000001,Testshire,religion,Christian,1000\n")
    census.upload_baseline(content=content, actor=Actor.staff(staff_user("Data protection")))
    page = engagement.get(reverse(REPORT))
    assert "the population of Testshire (E99000001)" in text(page)
    assert "Female 9 60.0% 60.0% 1.00" in section(page, "sex")


@pytest.mark.parametrize("role", ["Engagement", "Data protection", "Commissioner"])
def test_who_may_see_the_report(staff_client, role, db):
    client = staff_client(role)
    assert client.get(reverse(REPORT)).status_code == 200
    assert client.get(reverse("segments:representation_csv")).status_code == 200
    assert "Who are we missing" in text(client.get(reverse("consent_staff:dashboard")))


@pytest.mark.parametrize("role", ["Communications", "Administrator"])
def test_who_may_not(staff_client, role, db):
    client = staff_client(role)
    assert client.get(reverse(REPORT)).status_code == 403
    assert client.get(reverse("segments:representation_csv")).status_code == 403
    assert "Who are we missing" not in text(client.get(reverse("consent_staff:dashboard")))
    assert not AuditEntry.objects.filter(action="equality.report_downloaded").exists()
