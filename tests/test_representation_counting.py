"""The representation report counts set-based: the same few queries however many people and answers,
and every table adds up to the same people (profile answers, missing profiles, no locality).

Population (hand-made): five people with monitoring consent in North Test. Ann (female, 20-29,
Christian, disabled a lot), Bea (female, 20-29, no religion, not disabled), Cal (male, 80+,
"prefer not to say" for religion, not disabled), Dee (no profile at all), and Eve with no postcode
(so no locality; female, 30-39, no religion, no disability answer). A sixth person answered but has
no monitoring consent: never counted.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import services as crm_services
from crm.models import Locality, PostcodeDistrict
from segments.representation import representation

PEOPLE = {
    "ann": ("ZE1 0AA", {"sex": "female", "age_band": "20-29", "religion": "christian", "disability": "yes_a_lot"}),
    "bea": ("ZE1 0AA", {"sex": "female", "age_band": "20-29", "religion": "none", "disability": "no"}),
    "cal": ("ZE1 0AA", {"sex": "male", "age_band": "80+", "religion": "prefer_not_to_say", "disability": "no"}),
    "dee": ("ZE1 0AA", None),
    "eve": ("", {"sex": "female", "age_band": "30-39", "religion": "none"}),
}


@pytest.fixture
def people(db, make_contact, actor):
    north = Locality.objects.create(name="North Test", slug="north-test")
    PostcodeDistrict.objects.create(code="ZE1", locality=north)

    def add(name, postcode, answers, purposes=("bulletin", "equality_monitoring")):
        contact = make_contact(email=f"{name}@example.org", postcode=postcode, purposes=purposes)
        if answers:
            crm_services.save_equality_answers(contact=contact, answers=answers, actor=actor)
        return contact

    made = [add(name, postcode, answers) for name, (postcode, answers) in PEOPLE.items()]
    add("fay", "ZE1 0AA", {"sex": "male", "age_band": "40-49"}, purposes=("bulletin",))
    return made


def counts(tables) -> dict[str, dict[str, int]]:
    return {t.characteristic: {**{c.category: c.count for c in t.cells if c.count},
                               "not answered": t.not_answered.count} for t in tables}


def test_every_table_counts_the_same_five_people(people):
    tables = representation(population="reachable")
    assert {t.characteristic: t.total for t in tables} == dict.fromkeys(
        ["locality", "age", "sex", "ethnic_group", "religion", "disability"], 5)
    got = counts(tables)
    assert got["locality"] == {"North Test": 4, "not answered": 1}  # Eve has no locality
    assert got["sex"] == {"Female": 3, "Male": 1, "not answered": 1}  # Dee has no profile
    assert got["age"] == {"20-29": 2, "30-39": 1, "80+": 1, "not answered": 1}
    assert got["religion"] == {"Christian": 1, "No religion": 2, "not answered": 2}  # Cal preferred not to say
    assert got["disability"] == {"Yes, limited a lot": 1, "No": 2, "not answered": 2}  # Eve left it blank
    assert got["ethnic_group"] == {"not answered": 5}  # nobody answered it


def test_the_number_of_queries_does_not_grow_with_people_or_answers(people, make_contact, actor):
    with CaptureQueriesContext(connection) as few:
        representation(population="reachable")
    for n in range(12):
        contact = make_contact(email=f"more{n}@example.org", postcode="ZE1 0AA",
                               purposes=("events", "equality_monitoring"))
        crm_services.save_equality_answers(contact=contact, actor=actor, answers={
            "sex": ["female", "male"][n % 2], "age_band": ["50-59", "60-69", "70-79"][n % 3],
            "religion": ["muslim", "hindu", "sikh", "jewish"][n % 4], "ethnic_group": "asian_indian"})
    with CaptureQueriesContext(connection) as many:
        tables = representation(population="reachable")
    assert {t.total for t in tables} == {17}
    assert len(many) == len(few)
    # The people are read by one grouped query (locality and all five answers together), not once
    # per characteristic; whatever else runs (the baseline, locality names) does not read them.
    reads = [q["sql"] for q in many.captured_queries if "consent_consentstate" in q["sql"]]
    assert len(reads) == 1
