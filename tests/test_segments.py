"""Segments: rules validated, compiled to one query, protected characteristics guarded and audited.

The population below is small and hand-made; every expected set is counted by hand from it.
"""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent import services as consent_services
from crm import services as crm_services
from crm.audit import Actor
from crm.models import AuditEntry, Locality, Organisation, PostcodeDistrict, Topic
from segments import selectors, services
from segments.models import Segment
from segments.rules import RulesInvalid, parse_rules


@pytest.fixture
def people(db, make_contact, actor):
    """Five people:

    ann   North (ZE1), dementia, public, bulletin+events, age 80+, equality_targeting granted
    bob   South (ZE2), cancer, public, bulletin+events, age 80+, NO equality_targeting
    cat   North (ZE1), dementia+cancer, carer, bulletin only, large print, age 20-29, targeting granted
    dan   no postcode, organisation Healthwatch Test, events only, withdrew events later
    eve   South (ZE2), dementia, public, bulletin+events, then complained (suppressed, every purpose withdrawn)
    """
    north = Locality.objects.create(name="North Test", slug="north-test")
    south = Locality.objects.create(name="South Test", slug="south-test")
    PostcodeDistrict.objects.create(code="ZE1", locality=north)
    PostcodeDistrict.objects.create(code="ZE2", locality=south)
    dementia = Topic.objects.get(slug="dementia")
    cancer = Topic.objects.get(slug="cancer")
    org = Organisation.objects.create(name="Healthwatch Test", kind=Organisation.Kind.HEALTHWATCH)
    made = {
        "ann": make_contact(email="ann@example.org", postcode="ZE1 0AA", topics=[dementia],
                            purposes=("bulletin", "events", "equality_targeting")),
        "bob": make_contact(email="bob@example.org", postcode="ZE2 9ZZ", topics=[cancer],
                            purposes=("bulletin", "events")),
        "cat": make_contact(email="cat@example.org", postcode="ZE1 1AB", topics=[dementia, cancer], kind="carer",
                            purposes=("bulletin", "equality_targeting")),
        "dan": make_contact(email="dan@example.org", organisation=org, purposes=("events",)),
        "eve": make_contact(email="eve@example.org", postcode="ZE2 1AA", topics=[dementia],
                            purposes=("bulletin", "events")),
    }
    answers = {"ann": {"age_band": "80+"}, "bob": {"age_band": "80+"}, "cat": {"age_band": "20-29"}}
    for key, given in answers.items():
        crm_services.save_equality_answers(contact=made[key], answers=given, actor=actor)
    crm_services.set_communication_needs(contact=made["cat"], needs={"large_print": ""}, actor=actor)
    consent_services.withdraw(contact=made["dan"], purpose="events", method="staff_on_request", actor=actor)
    consent_services.suppress_address(email="eve@example.org", reason="complaint", actor=actor)
    return made


@pytest.fixture
def engagement(staff_user):
    return Actor.staff(staff_user("Engagement"))


@pytest.fixture
def equality_staff(staff_user):
    # Data protection holds crm.view_equality_data; Engagement does not.
    return Actor.staff(staff_user("Engagement", "Data protection"))


def names(queryset) -> set[str]:
    return {c.email.split("@")[0] for c in queryset}


def matching(rules, actor, **kwargs):
    return names(selectors.contacts_in_segment(rules=rules, actor=actor, use="test", **kwargs))


def rules(*conditions, match="all"):
    return {"version": 1, "match": match, "rules": list(conditions)}


@pytest.mark.parametrize(("condition", "expected"), [
    ({"field": "locality", "op": "in", "value": ["north-test"]}, {"ann", "cat"}),
    ({"field": "locality", "op": "not_in", "value": ["north-test"]}, {"bob", "dan", "eve"}),
    ({"field": "postcode_district", "op": "in", "value": ["ze2"]}, {"bob", "eve"}),
    ({"field": "topics", "op": "any", "value": ["dementia"]}, {"ann", "cat", "eve"}),
    ({"field": "topics", "op": "all", "value": ["dementia", "cancer"]}, {"cat"}),
    ({"field": "topics", "op": "none", "value": ["dementia"]}, {"bob", "dan"}),
    ({"field": "kind", "op": "in", "value": ["carer"]}, {"cat"}),
    ({"field": "organisation_kind", "op": "in", "value": ["healthwatch"]}, {"dan"}),
    ({"field": "communication_need", "op": "any", "value": ["large_print"]}, {"cat"}),
    ({"field": "purpose", "op": "reachable", "value": "events"}, {"ann", "bob"}),  # dan withdrew, eve suppressed
    ({"field": "purpose", "op": "withdrawn", "value": "events"}, {"dan", "eve"}),  # eve's complaint withdrew all
    ({"field": "purpose", "op": "not_asked", "value": "events"}, {"cat"}),
])
def test_each_condition_selects_the_hand_counted_people(people, engagement, condition, expected):
    assert matching(rules(condition), engagement) == expected


def test_groups_combine_with_and_or(people, engagement):
    either_north_or_cancer = rules(
        {"field": "purpose", "op": "reachable", "value": "bulletin"},
        {"match": "any", "rules": [
            {"field": "locality", "op": "in", "value": ["north-test"]},
            {"field": "topics", "op": "any", "value": ["cancer"]},
        ]},
    )
    # reachable for bulletin: ann, bob, cat (eve suppressed, dan never asked); then north or cancer.
    assert matching(either_north_or_cancer, engagement) == {"ann", "bob", "cat"}
    assert matching(rules({"field": "kind", "op": "in", "value": ["carer"]},
                          {"field": "organisation_kind", "op": "in", "value": ["healthwatch"]}, match="any"),
                    engagement) == {"cat", "dan"}


def test_the_segment_is_one_sql_query_usable_as_a_subquery(people, engagement):
    queryset = selectors.contacts_in_segment(rules=rules(
        {"field": "topics", "op": "all", "value": ["dementia", "cancer"]},
        {"field": "purpose", "op": "reachable", "value": "bulletin"},
        {"field": "communication_need", "op": "any", "value": ["large_print"]},
    ), actor=engagement, use="test")
    with CaptureQueriesContext(connection) as queries:
        assert queryset.count() == 1
    assert len(queries) == 1
    from crm.models import Contact

    assert Contact.objects.filter(pk__in=queryset.values("pk")).count() == 1


def test_a_protected_rule_never_matches_anyone_without_equality_targeting_consent(people, equality_staff):
    # ann and bob are both 80+; only ann gave equality_targeting consent.
    assert matching(rules({"field": "age_band", "op": "in", "value": ["80+"]}), equality_staff) == {"ann"}
    # Inside an OR group too: the characteristic half still needs the consent (bob is not let in).
    anyone = rules({"field": "age_band", "op": "in", "value": ["80+"]},
                   {"field": "kind", "op": "in", "value": ["carer"]}, match="any")
    assert matching(anyone, equality_staff) == {"ann", "cat"}
    # not_in: people who answered something else, and consented (cat), never the unanswered.
    assert matching(rules({"field": "age_band", "op": "not_in", "value": ["80+"]}), equality_staff) == {"cat"}


def test_staff_without_the_equality_permission_cannot_count_preview_or_save_protected_rules(people, engagement):
    protected = rules({"field": "sex", "op": "in", "value": ["female"]})
    with pytest.raises(PermissionDenied):
        selectors.count_segment(rules=protected, actor=engagement)
    with pytest.raises(PermissionDenied):
        selectors.preview_segment(rules=protected, actor=engagement)
    with pytest.raises(PermissionDenied):
        services.create_segment(name="Women", rules=protected, actor=engagement)
    assert not Segment.objects.exists()


def test_every_use_of_a_protected_rule_is_audited_without_naming_anyone(people, equality_staff):
    protected = rules({"field": "age_band", "op": "in", "value": ["80+"]})
    before = AuditEntry.objects.filter(action="segment.equality_rules_used").count()
    selectors.count_segment(rules=protected, actor=equality_staff)
    selectors.preview_segment(rules=protected, actor=equality_staff)
    segment = services.create_segment(name="Over 80s", rules=protected, actor=equality_staff)
    uses = list(AuditEntry.objects.filter(action="segment.equality_rules_used").order_by("id")[before:])
    assert [u.changes["use"] for u in uses] == ["count", "preview", "saved"]
    assert all(u.changes["fields"] == ["age_band"] for u in uses)
    assert segment.uses_equality
    dumped = json.dumps([u.changes for u in uses]) + "".join(u.summary for u in uses)
    assert "ann" not in dumped and "example.org" not in dumped


def test_protected_segments_are_hidden_from_and_locked_against_staff_without_the_permission(
        people, engagement, equality_staff):
    segment = services.create_segment(name="Over 80s", rules=rules({"field": "age_band", "op": "in", "value": ["80+"]}),
                                      actor=equality_staff)
    assert segment not in selectors.segments_visible_to(engagement.user)
    with pytest.raises(PermissionDenied):  # cannot even rewrite it into something harmless
        services.update_segment(segment=segment, name="Everyone", rules=rules(), actor=engagement)


@pytest.mark.parametrize(("bad", "where"), [
    (rules({"field": "favourite_colour", "op": "in", "value": ["red"]}), "rules.0.field"),
    (rules({"field": "locality", "op": "equals", "value": ["north-test"]}), "rules.0"),
    (rules({"field": "sex", "op": "in", "value": ["unknown"]}), "rules.0"),
    (rules({"field": "locality", "op": "in", "value": ["north-test"], "weight": 2}), "rules.0.weight"),
    ({"version": 2, "match": "all", "rules": []}, "version"),
    (rules({"match": "some", "rules": []}), "rules.0.match"),
    (rules({"field": "signed_up", "op": "before", "value": "12/03/2026"}), "rules.0"),
])
def test_unknown_fields_operators_and_values_are_errors_saying_where(bad, where):
    with pytest.raises(RulesInvalid) as raised:
        parse_rules(bad)
    assert [".".join(e["loc"]) for e in raised.value.errors] == [where]


def test_a_locality_or_topic_that_does_not_exist_is_an_error_not_an_empty_segment(people, engagement):
    with pytest.raises(RulesInvalid, match="no-such-place"):
        selectors.count_segment(rules=rules({"field": "locality", "op": "in", "value": ["no-such-place"]}),
                                actor=engagement)


def test_count_reports_matching_and_reachable_for_events_and_bulletin(people, engagement):
    dementia = rules({"field": "topics", "op": "any", "value": ["dementia"]})
    count = selectors.count_segment(rules=dementia, actor=engagement)
    # ann, cat, eve match; events: ann (cat not asked, eve suppressed); bulletin: ann, cat.
    assert (count.matching, count.reachable_for_events, count.reachable_for_bulletin) == (3, 1, 2)


def test_segment_names_are_unique_and_required(people, engagement):
    services.create_segment(name="North", rules=rules(), actor=engagement)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.create_segment(name="  North ", rules=rules(), actor=engagement)  # spaces trimmed first
    with pytest.raises(ValidationError):
        services.create_segment(name="   ", rules=rules(), actor=engagement)


# --- the staff API ------------------------------------------------------------------------------

def api_token(user) -> dict:
    from crm.staff.services import create_api_token

    _, raw = create_api_token(user=user, name="segments test", actor=Actor.staff(user))
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, path, body, auth):
    return client.post(path, data=json.dumps(body), content_type="application/json", **auth)


# Hand-written: who may do what over /api/v1/segments (the same as the pages).
API_ROLE_TABLE = [
    # role, method, path, expected status
    ("Engagement", "post", "/api/v1/segments/count", 200),
    ("Engagement", "post", "/api/v1/segments/preview", 200),
    ("Engagement", "post", "/api/v1/segments", 201),
    ("Engagement", "get", "/api/v1/segments", 200),
    ("Data protection", "post", "/api/v1/segments/count", 200),
    ("Data protection", "post", "/api/v1/segments", 403),
    ("Communications", "post", "/api/v1/segments/count", 403),
    ("Communications", "get", "/api/v1/segments", 403),
    ("Administrator", "post", "/api/v1/segments/count", 403),
    (None, "post", "/api/v1/segments/count", 401),
]


@pytest.mark.parametrize(("role", "method", "path", "expected"), API_ROLE_TABLE)
def test_segment_api_permissions(client, people, staff_user, role, method, path, expected):
    auth = api_token(staff_user(role)) if role else {}
    body = {"name": "North", "rules": rules({"field": "locality", "op": "in", "value": ["north-test"]})}
    response = post(client, path, body, auth) if method == "post" else client.get(path, **auth)
    assert response.status_code == expected, response.content


def test_api_counts_previews_saves_and_updates(client, people, staff_user):
    auth = api_token(staff_user("Engagement"))
    north = rules({"field": "locality", "op": "in", "value": ["north-test"]})
    count = post(client, "/api/v1/segments/count", {"rules": north}, auth).json()
    assert count == {"matching": 2, "reachable_for_events": 1, "reachable_for_bulletin": 2}  # ann, cat
    preview = post(client, "/api/v1/segments/preview", {"rules": north}, auth).json()
    assert sorted(p["locality"] for p in preview) == ["North Test", "North Test"]
    created = post(client, "/api/v1/segments", {"name": "North", "rules": north}, auth)
    segment_id = created.json()["id"]
    assert client.get(f"/api/v1/segments/{segment_id}/count", **auth).json()["matching"] == 2
    south = rules({"field": "locality", "op": "in", "value": ["south-test"]})
    updated = client.put(f"/api/v1/segments/{segment_id}", data=json.dumps({"name": "South", "rules": south}),
                         content_type="application/json", **auth)
    assert updated.status_code == 200 and updated.json()["name"] == "South"
    assert client.get(f"/api/v1/segments/{segment_id}/count", **auth).json()["matching"] == 2  # bob, eve


def test_api_invalid_rules_are_422_naming_the_rule(client, people, staff_user):
    auth = api_token(staff_user("Engagement"))
    response = post(client, "/api/v1/segments/count",
                    {"rules": rules({"field": "locality", "op": "near", "value": ["north-test"]})}, auth)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["rules.rules.0"]
    assert "near" in response.json()["errors"]["rules.rules.0"][0]


def test_api_protected_rules_need_the_equality_permission(client, people, staff_user):
    protected = {"rules": rules({"field": "age_band", "op": "in", "value": ["80+"]})}
    assert post(client, "/api/v1/segments/count", protected, api_token(staff_user("Engagement"))).status_code == 403
    allowed = post(client, "/api/v1/segments/count", protected, api_token(staff_user("Engagement", "Data protection")))
    assert allowed.status_code == 200 and allowed.json()["matching"] == 1  # ann only: bob has no targeting consent
    assert post(client, "/api/v1/segments/preview", protected,
                api_token(staff_user("Engagement"))).status_code == 403
