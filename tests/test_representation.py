"""'Who are we missing': counts, shares against the census baseline, and small numbers that stay hidden.

Population (hand-made): North Test has 3 people, South Test 12, all with equality-monitoring consent;
two more South people without it are never counted. North: 3 women aged 80+. South: 6 women and 6
men aged 20-29. Everyone answered ethnic group White British.
"""

import csv
import io

import pytest

from crm import services as crm_services
from crm.models import Locality, PostcodeDistrict
from segments.models import Event, Invitation
from segments.representation import as_csv_rows, representation


@pytest.fixture
def population(db, make_contact, actor, staff_user):
    north = Locality.objects.create(name="North Test", slug="north-test")
    south = Locality.objects.create(name="South Test", slug="south-test")
    PostcodeDistrict.objects.create(code="ZE1", locality=north)
    PostcodeDistrict.objects.create(code="ZE2", locality=south)
    made = []
    for n in range(3):
        made.append((make_contact(email=f"n{n}@example.org", postcode="ZE1 0AA",
                                  purposes=("bulletin", "equality_monitoring")), "female", "80+"))
    for n in range(12):
        made.append((make_contact(email=f"s{n}@example.org", postcode="ZE2 0AA",
                                  purposes=("bulletin", "equality_monitoring")), "female" if n < 6 else "male",
                     "20-29"))
    for n in range(2):  # answered, but did not agree to their answers being used: never counted
        made.append((make_contact(email=f"x{n}@example.org", postcode="ZE2 0AA", purposes=("bulletin",)),
                     "male", "20-29"))
    for contact, sex, age in made:
        crm_services.save_equality_answers(contact=contact, answers={"sex": sex, "age_band": age,
                                                                     "ethnic_group": "white_british"}, actor=actor)
    return [c for c, _, _ in made]


def table(tables, name):
    return next(t for t in tables if t.characteristic == name)


def cells(t) -> dict[str, str]:
    return {c.category: c.shown for c in [*t.cells, t.not_answered]}


def test_a_locality_of_three_is_hidden_and_cannot_be_recovered_by_subtraction(population):
    locality = table(representation(population="reachable"), "locality")
    shown = cells(locality)
    assert shown["North Test"] == "<5"
    assert locality.total == 15 and locality.total_shown == "15"
    # With the total shown, South (12) must be hidden too, or 15 - 12 would give North's 3.
    assert shown["South Test"] == "<5"
    assert all(c.share is None for c in locality.cells if c.hidden)


def test_counts_shares_and_ratios_against_the_census_baseline(population):
    sex = table(representation(population="reachable"), "sex")
    by = {c.category: c for c in sex.cells}
    assert (by["Female"].count, by["Male"].count) == (9, 6)  # the two without consent are not counted
    assert by["Female"].share == pytest.approx(9 / 15)
    # Sefton, Census 2021: 143,988 women and 135,242 men.
    assert by["Female"].population_share == pytest.approx(143988 / (143988 + 135242))
    assert by["Male"].ratio == pytest.approx((6 / 15) / (135242 / (143988 + 135242)))
    assert not by["Male"].under_represented  # 0.83 of the population share: not under 0.8


def test_groups_we_are_missing_are_marked(population):
    age = table(representation(population="reachable"), "age")
    by = {c.category: c for c in age.cells}
    # Nobody aged 30-79 is reached: a zero is not hidden, and is under-represented.
    assert by["40-49"].shown == "0" and by["40-49"].under_represented
    assert by["80+"].hidden and by["20-29"].hidden  # 3 and its complement 12
    ethnic = table(representation(population="reachable"), "ethnic_group")
    assert {c.category: c.shown for c in ethnic.cells}["White"] == "15"
    assert {c.category for c in ethnic.cells if c.under_represented} == {
        "Asian", "Black", "Arab", "Mixed or multiple", "Other ethnic group"}


def test_attended_population_counts_only_people_who_came(population, staff_user):
    user = staff_user("Engagement")
    event = Event.objects.create(title="Big Chat", starts_at="2026-11-01T10:00Z", ends_at="2026-11-01T12:00Z",
                                 created_by=user)
    for contact in population[3:10]:  # seven South people came
        Invitation.objects.create(event=event, contact=contact, attended=True)
    Invitation.objects.create(event=event, contact=population[0], attended=False)  # invited, did not come
    sex = table(representation(population="attended"), "sex")
    assert {c.category: c.count for c in sex.cells} == {"Female": 6, "Male": 1}
    assert cells(sex)["Male"] == "<5" and cells(sex)["Female"] == "<5"  # 1 hidden, so 6 as well
    invited = table(representation(population="invited"), "sex")
    assert invited.total == 8


def test_csv_has_the_same_suppression(population):
    rows = list(csv.reader(io.StringIO("\n".join(",".join(f'"{v}"' for v in r) for r in
                                                as_csv_rows(representation(population="reachable"))))))
    north = next(r for r in rows if r[1] == "North Test")
    assert north[2] == "<5" and north[3] == ""
    assert "3" not in {r[2] for r in rows if r[0] == "Locality"}
