"""The staff contacts workspace: search with keyset pagination, the contact page and its consent
timeline, recording consent, adding and correcting people, merging two records, and the staff API."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consent import erasure, merging, search, services
from consent.models import ConsentEvent, ConsentState, ConsentStatement, Suppression
from consent.selectors import current_statement
from crm.audit import Actor
from crm.models import AuditEntry, Contact, EqualityProfile, Locality, Organisation, Topic
from crm.roles import COMMUNICATIONS, DATA_PROTECTION, ENGAGEMENT
from crm.services import set_communication_needs
from crm.staff.services import create_api_token

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def names(page) -> list[str]:
    return [c.name for c in page.rows]


def date_fields(prefix: str, day: date) -> dict:
    return {f"{prefix}_0": day.day, f"{prefix}_1": day.month, f"{prefix}_2": day.year}


# --- search ---------------------------------------------------------------------------------

@pytest.fixture
def people(make_contact, actor):
    """A small population with one distinguishing value per filter."""
    bootle = Locality.objects.get(name="Bootle")
    crosby = Locality.objects.get(name="Crosby")
    practice = Organisation.objects.create(name="Bootle Village Surgery", kind=Organisation.Kind.GP_PRACTICE)
    cancer, dementia = Topic.objects.get(name="Cancer"), Topic.objects.get(name="Dementia")
    ann = make_contact(email="ann.smith@example.org", name="Ann Smith", postcode="L20 3NJ", topics=[cancer])
    bob = make_contact(email="bob@example.net", name="Bob Smithson", postcode="L23 5TF",
                       kind="carer", topics=[dementia], purposes=("bulletin", "events"))
    cat = make_contact(email="cat@example.org", name="Catherine Jones", postcode="L20 9AB",
                       kind="partner", organisation=practice, purposes=("events",))
    dan = make_contact(email="dan@example.org", name="Dan Blacksmith", postcode="L30 1AA")
    services.withdraw(contact=dan, purpose="bulletin", method="phone", actor=actor)
    set_communication_needs(contact=bob, needs={"large_print": ""}, actor=actor)
    assert ann.locality == bootle and bob.locality == crosby
    return {"ann": ann, "bob": bob, "cat": cat, "dan": dan, "practice": practice, "cancer": cancer,
            "bootle": bootle}


def find(**filters) -> list[str]:
    return sorted(names(search.search_contacts(search.ContactFilters(**filters))))


def test_each_filter_narrows_the_search(people):
    assert find(name="ann") == ["Ann Smith"]
    assert find(name="SMITH", name_match="contains") == ["Ann Smith", "Bob Smithson", "Dan Blacksmith"]
    assert find(email="BOB@example.net") == ["Bob Smithson"]
    assert find(email="ann.") == ["Ann Smith"]
    assert find(email="cat@exa") == ["Catherine Jones"]
    assert find(postcode="l20") == ["Ann Smith", "Catherine Jones"]
    assert find(postcode="L203NJ") == ["Ann Smith"]
    assert find(locality=people["bootle"].pk) == ["Ann Smith", "Catherine Jones", "Dan Blacksmith"]
    assert find(topic=people["cancer"].pk) == ["Ann Smith"]
    assert find(purpose="bulletin", purpose_state="granted") == ["Ann Smith", "Bob Smithson"]
    assert find(purpose="bulletin", purpose_state="withdrawn") == ["Dan Blacksmith"]
    assert find(purpose="bulletin", purpose_state="none") == ["Catherine Jones"]
    assert find(purpose="events", purpose_state="granted") == ["Bob Smithson", "Catherine Jones"]
    assert find(kind="carer") == ["Bob Smithson"]
    assert find(organisation=people["practice"].pk) == ["Catherine Jones"]
    assert find(need="large_print") == ["Bob Smithson"]
    assert find(kind="carer", postcode="L20") == []


@pytest.mark.parametrize("limit", [0, 10_000], ids=["scan every filter", "drive from an index"])
def test_both_ways_of_answering_a_filter_agree(people, monkeypatch, limit):
    """Each filter is answered from its index when it matches few contacts, else by scanning."""
    monkeypatch.setattr(search, "DRIVING_LIMIT", limit)
    test_each_filter_narrows_the_search(people)
    assert find(email="ann.", postcode="L2", topic=people["cancer"].pk) == ["Ann Smith"]
    assert find(purpose="events", purpose_state="granted", need="large_print") == ["Bob Smithson"]
    sql = str(search.filtered_contacts(search.ContactFilters(topic=people["cancer"].pk)).query).upper()
    assert ("EXISTS" in sql) == (limit == 0) and ("IN (SELECT" in sql) == (limit > 0)


def test_name_prefix_is_case_insensitive_and_anchored(people):
    assert find(name="BOB", name_match="prefix") == ["Bob Smithson"]
    assert find(name="Smith", name_match="prefix") == []  # nobody's whole name starts with Smith
    assert find(name="smith") == ["Ann Smith", "Bob Smithson", "Dan Blacksmith"]  # contains, by default


def test_keyset_pagination_walks_forward_and_back_without_gaps(make_contact):
    made = [make_contact(name=f"Person {i:02d}") for i in range(7)]
    expected = [c.name for c in sorted(made, key=lambda c: -c.pk)]
    filters = search.ContactFilters()
    first = search.search_contacts(filters, size=3)
    assert names(first) == expected[:3] and first.prev_before is None and first.has_more
    second = search.search_contacts(filters, after=first.next_after, size=3)
    assert names(second) == expected[3:6] and second.prev_before == second.rows[0].pk
    third = search.search_contacts(filters, after=second.next_after, size=3)
    assert names(third) == expected[6:] and not third.has_more
    back = search.search_contacts(filters, before=third.prev_before, size=3)
    assert names(back) == expected[3:6]
    start = search.search_contacts(filters, before=back.prev_before, size=3)
    assert names(start) == expected[:3] and start.prev_before is None


def test_page_picks_its_ids_before_joining_for_display(people):
    """Filters, order and limit choose the page's ids; locality and organisation are joined to those
    rows alone, in the same query (a misjudged filter cannot make the database join every match)."""
    sql = str(search.search_queryset(search.ContactFilters(name="smith"), size=2).query).upper()
    outer, inner = sql.split(" IN (SELECT ", 1)
    assert "JOIN" in outer and "JOIN" not in inner and "LIMIT 3" in inner
    with CaptureQueriesContext(connection) as queries:
        page = search.search_contacts(search.ContactFilters(name="smith"), size=2)
        shown = [(c.name, c.locality and c.locality.name, c.organisation) for c in page.rows]
    assert len(queries) == 1 and [name for name, *_ in shown] == ["Dan Blacksmith", "Bob Smithson"]
    assert page.has_more and shown[1][1] == "Crosby"


def test_capped_count_stops_at_the_cap(make_contact):
    for i in range(5):
        make_contact(name=f"Counted {i}")
    assert search.capped_count(search.ContactFilters(name="counted"), cap=3) == (3, True)
    assert search.capped_count(search.ContactFilters(name="counted"), cap=10) == (5, False)


def test_search_page_never_counts_the_whole_table(staff_client, people):
    client = staff_client(ENGAGEMENT)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("consent_staff:contacts"))
        filtered = client.get(reverse("consent_staff:contacts"), {"postcode": "L20"})
    assert response.status_code == 200 and filtered.status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "crm_contact" in q["sql"]]
    assert counts, "the filtered page shows a capped count"
    assert all("LIMIT" in sql.upper() for sql in counts)
    assert "2 contacts match" in filtered.content.decode()


def test_search_page_links_carry_the_last_id(staff_client, make_contact):
    for i in range(search.PAGE_SIZE + 2):
        make_contact(name=f"Paged {i}")
    client = staff_client(ENGAGEMENT)
    html = client.get(reverse("consent_staff:contacts"), {"name": "paged"}).content.decode()
    oldest_on_page = Contact.objects.order_by("-pk")[search.PAGE_SIZE - 1].pk
    assert f"after={oldest_on_page}" in html and "name=paged" in html
    second = client.get(reverse("consent_staff:contacts"), {"name": "paged", "after": oldest_on_page})
    body = second.content.decode()
    assert "Paged 0" in body and "Paged 1<" in body and f"before={oldest_on_page - 1}" in body


def test_search_form_errors_are_shown_not_raised(staff_client):
    response = staff_client(ENGAGEMENT).get(reverse("consent_staff:contacts"), {"purpose_state": "granted"})
    assert response.status_code == 200
    assert "Choose the purpose whose consent state you want" in response.content.decode()


# --- the contact page -----------------------------------------------------------------------

def test_contact_page_shows_details_and_full_timeline_with_wording(staff_client, people, actor):
    dan = people["dan"]
    client = staff_client(ENGAGEMENT)
    html = client.get(reverse("consent_staff:contact", args=[dan.public_id])).content.decode()
    statement = current_statement("bulletin")
    assert "Dan Blacksmith" in html and "dan@example.org" in html and "L30 1AA" in html
    assert f"Version {statement.version}" in html and statement.text in html
    assert "Paper form at an event" in html and "Phone" in html and "test form" in html
    assert "by system" in html  # who recorded it
    assert html.count("Withdrawn") >= 2  # state and the event
    assert ConsentEvent.objects.filter(contact=dan).count() == 2


def test_wrong_role_gets_403_before_any_lookup(staff_client, people):
    client = staff_client(COMMUNICATIONS)
    assert client.get(reverse("consent_staff:contacts")).status_code == 403
    real = reverse("consent_staff:contact", args=[people["ann"].public_id])
    missing = reverse("consent_staff:contact", args=["00000000-0000-0000-0000-000000000000"])
    assert client.get(real).status_code == 403 and client.get(missing).status_code == 403
    assert staff_client(ENGAGEMENT).get(missing).status_code == 404


# --- recording consent ----------------------------------------------------------------------

def test_staff_record_consent_on_paper_with_statement_and_evidence(staff_client, make_contact):
    contact = make_contact(purposes=("bulletin",))
    statement = current_statement("events")
    client = staff_client(ENGAGEMENT)
    day = timezone.localdate() - timedelta(days=3)
    response = client.post(reverse("consent_staff:contact_consent", args=[contact.public_id]), {
        "statement": statement.pk, "action": "confirmed", "method": "event",
        **date_fields("occurred_on", day), "evidence_reference": "Crosby Big Chat sheet 2",
    })
    assert response.status_code == 302
    event = ConsentEvent.objects.get(contact=contact, purpose__code="events")
    assert event.statement == statement and event.method == "event" and event.recorded_by == client.user
    assert event.evidence_reference == "Crosby Big Chat sheet 2"
    assert timezone.localtime(event.occurred_at).date() == day
    assert ConsentState.objects.get(contact=contact, purpose__code="events").status == "granted"
    entry = AuditEntry.objects.filter(action="consent.confirmed", object_id=str(contact.pk)).first()  # newest
    assert entry.actor == client.user and contact.email not in str(entry.changes)


def test_withdrawal_on_a_past_day_wins_over_a_same_day_grant(staff_client, make_contact):
    contact = make_contact(purposes=("bulletin",))
    day = timezone.localdate() - timedelta(days=1)
    grant_at = timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time().replace(hour=15)))
    services.record_consent(contact=contact, purpose="events", action="confirmed", method="web_form",
                            occurred_at=grant_at, actor=Actor.system())
    client = staff_client(ENGAGEMENT)
    client.post(reverse("consent_staff:contact_consent", args=[contact.public_id]), {
        "statement": current_statement("events").pk, "action": "withdrawn", "method": "phone",
        **date_fields("occurred_on", day), "evidence_reference": "call note",
    })
    assert ConsentState.objects.get(contact=contact, purpose__code="events").status == "withdrawn"


def test_refused_consent_is_a_form_error_not_a_500(staff_client, make_contact):
    contact = make_contact()
    services.withdraw(contact=contact, purpose="bulletin", method="one_click_unsubscribe", actor=Actor.public())
    client = staff_client(ENGAGEMENT)
    response = client.post(reverse("consent_staff:contact_consent", args=[contact.public_id]), {
        "statement": current_statement("bulletin").pk, "action": "confirmed", "method": "paper_form",
        **date_fields("occurred_on", timezone.localdate()), "evidence_reference": "form",
    })
    html = response.content.decode()
    assert response.status_code == 200 and "There is a problem" in html and "has withdrawn consent" in html
    assert ConsentState.objects.get(contact=contact, purpose__code="bulletin").status == "withdrawn"


def test_record_consent_form_validates_dates_and_required_fields(staff_client, make_contact):
    contact = make_contact()
    client = staff_client(ENGAGEMENT)
    future = timezone.localdate() + timedelta(days=2)
    html = client.post(reverse("consent_staff:contact_consent", args=[contact.public_id]), {
        "statement": current_statement("bulletin").pk, **date_fields("occurred_on", future),
    }).content.decode()
    assert "The date must be today or in the past" in html
    assert "Select whether consent was given or withdrawn" in html and "Enter where the evidence is kept" in html
    assert 'href="#id_occurred_on_0"' in html and 'href="#id_action_0"' in html
    bad = client.post(reverse("consent_staff:contact_consent", args=[contact.public_id]),
                      {"occurred_on_0": "31", "occurred_on_1": "2", "occurred_on_2": "2026"}).content.decode()
    assert "Enter a real date" in bad


def test_only_published_wording_can_be_chosen(staff_client, make_contact, actor):
    from consent.statements import draft_statement

    contact = make_contact()
    draft = draft_statement(purpose=current_statement("bulletin").purpose, text="Draft words", actor=actor)
    client = staff_client(ENGAGEMENT)
    html = client.get(reverse("consent_staff:contact_consent", args=[contact.public_id])).content.decode()
    assert f'value="{draft.pk}"' not in html
    response = client.post(reverse("consent_staff:contact_consent", args=[contact.public_id]), {
        "statement": draft.pk, "action": "confirmed", "method": "phone",
        **date_fields("occurred_on", timezone.localdate()), "evidence_reference": "x",
    })
    assert response.status_code == 200 and not ConsentEvent.objects.filter(statement=draft).exists()


# --- adding and correcting people -----------------------------------------------------------

def add_form(**overrides) -> dict:
    data = {"name": "Pat Paper", "email": "Pat.Paper@Example.org", "postcode": "l22 1ab", "kind": "public",
            "purposes": ["bulletin", "events"], "method": "paper_form", "evidence_reference": "Maghull sheet 1",
            **date_fields("occurred_on", timezone.localdate() - timedelta(days=1))}
    data.update(overrides)
    return data


def test_staff_add_a_contact_with_consent(staff_client, topics):
    client = staff_client(ENGAGEMENT)
    response = client.post(reverse("consent_staff:contact_add"), add_form(topics=[topics[0].pk]))
    contact = Contact.objects.get(email_normalised="pat.paper@example.org")
    assert response.status_code == 302 and response["Location"].endswith(f"/{contact.public_id}/")
    assert contact.postcode == "L22 1AB" and contact.locality.name == "Crosby" and contact.source == "staff"
    assert set(ConsentState.objects.filter(contact=contact).values_list("purpose__code", "status")) == {
        ("bulletin", "granted"), ("events", "granted")}
    assert set(ConsentEvent.objects.filter(contact=contact).values_list("evidence_reference", flat=True)) == {
        "Maghull sheet 1"}
    assert list(contact.topics.all()) == [topics[0]]


def test_adding_a_suppressed_address_is_refused_with_a_clear_message(staff_client, make_contact, actor):
    contact = make_contact(email="gone@example.org")
    erasure.erase_contact(contact=contact, actor=actor)
    client = staff_client(ENGAGEMENT)
    response = client.post(reverse("consent_staff:contact_add"), add_form(email="GONE@example.org"))
    html = response.content.decode()
    assert response.status_code == 200 and "This address is suppressed" in html and 'href="#id_email"' in html
    assert not Contact.objects.filter(email_normalised="gone@example.org").exists()


def test_adding_a_known_address_is_refused(staff_client, make_contact):
    make_contact(email="known@example.org")
    response = staff_client(ENGAGEMENT).post(reverse("consent_staff:contact_add"), add_form(email="Known@example.org"))
    assert "already exists" in response.content.decode() and Contact.objects.count() == 1


def test_correct_details_goes_through_services_and_audits_without_values(staff_client, make_contact, topics):
    contact = make_contact(email="old@example.org", name="Old Name", postcode="L20 3NJ")
    client = staff_client(ENGAGEMENT)
    response = client.post(reverse("consent_staff:contact_edit", args=[contact.public_id]), {
        "name": "New Name", "email": "New@Example.org", "postcode": "L31 2AB", "kind": "carer",
        "preferred_language": "Polish", "topics": [topics[1].pk], "needs": ["other_language", "easy_read"],
        "language_detail": "Polish",
    })
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.email_normalised, contact.postcode, contact.kind) == (
        "New Name", "new@example.org", "L31 2AB", "carer")
    assert contact.locality.name == "Maghull" and list(contact.topics.all()) == [topics[1]]
    assert dict(contact.communication_needs.values_list("need", "detail")) == {
        "other_language": "Polish", "easy_read": ""}
    entries = AuditEntry.objects.filter(object_id=str(contact.pk), actor=client.user)
    assert {"contact.details_changed", "contact.email_changed", "contact.topics_changed",
            "contact.communication_needs_changed"} <= set(entries.values_list("action", flat=True))
    dump = " ".join(f"{e.summary} {e.changes}" for e in entries)
    for value in ("New Name", "new@example.org", "L31 2AB", "Old Name", "old@example.org"):
        assert value not in dump


def test_correct_details_refuses_another_persons_address(staff_client, make_contact):
    make_contact(email="taken@example.org")
    contact = make_contact(email="mine@example.org", name="Mine")
    response = staff_client(ENGAGEMENT).post(reverse("consent_staff:contact_edit", args=[contact.public_id]), {
        "name": "Changed", "email": "TAKEN@example.org", "postcode": "", "kind": "public",
    })
    assert response.status_code == 200 and "already exists" in response.content.decode()
    contact.refresh_from_db()
    assert contact.name == "Mine"  # one transaction: nothing half-saved


# --- merging --------------------------------------------------------------------------------

def at(days_ago: int):
    return timezone.now() - timedelta(days=days_ago)


def test_merge_keeps_both_histories_and_deletes_the_duplicate(make_contact, actor, topics):
    survivor = make_contact(email="one@example.org", topics=[topics[0]])
    duplicate = make_contact(email="two@example.org", topics=[topics[1]], purposes=("events",))
    set_communication_needs(contact=duplicate, needs={"braille": ""}, actor=actor)
    EqualityProfile.objects.create(contact=duplicate, age_band="60-69")
    original = ConsentEvent.objects.get(contact=duplicate)
    duplicate_id = duplicate.pk

    preview = merging.preview_merge(survivor=survivor, duplicate=duplicate)
    assert preview.events_to_copy == 1 and preview.topics_added == [topics[1]] and preview.equality_from_duplicate
    assert preview.states_after == {"bulletin": "granted", "events": "granted"}
    assert ConsentEvent.objects.filter(contact=survivor).count() == 1  # preview changed nothing

    merging.merge_contacts(survivor=survivor, duplicate=duplicate, actor=actor)
    assert not Contact.objects.filter(pk=duplicate_id).exists()
    copied = ConsentEvent.objects.get(contact=survivor, purpose__code="events")
    assert copied.occurred_at == original.occurred_at and copied.recorded_at == original.recorded_at
    assert copied.statement_id == original.statement_id and copied.method == original.method
    assert copied.evidence_reference == f"test form (merged from contact {duplicate_id} event {original.pk})"
    assert set(survivor.topics.all()) == {topics[0], topics[1]}
    assert list(survivor.communication_needs.values_list("need", flat=True)) == ["braille"]
    assert EqualityProfile.objects.get(contact=survivor).age_band == "60-69"
    assert dict(ConsentState.objects.filter(contact=survivor).values_list("purpose__code", "status")) == {
        "bulletin": "granted", "events": "granted"}
    merged = AuditEntry.objects.get(action="contact.merged")
    assert merged.object_id == str(survivor.pk) and merged.changes["duplicate"] == duplicate_id
    assert AuditEntry.objects.get(action="contact.merged_away").object_id == str(duplicate_id)


def test_merge_latest_withdrawal_in_either_history_wins(make_contact, actor):
    survivor = make_contact(email="a@example.org", occurred_at=at(30))
    duplicate = make_contact(email="b@example.org", occurred_at=at(60))
    services.record_consent(contact=duplicate, purpose="bulletin", action="withdrawn", method="phone",
                            occurred_at=at(10), actor=actor)
    merging.merge_contacts(survivor=survivor, duplicate=duplicate, actor=actor)
    assert ConsentState.objects.get(contact=survivor, purpose__code="bulletin").status == "withdrawn"
    # The person withdrew: their remaining address is suppressed too.
    assert Suppression.objects.filter(address_hash=survivor.email_hash, lifted_at__isnull=True).exists()


def test_merge_older_withdrawal_is_superseded_by_a_later_grant(make_contact, actor):
    survivor = make_contact(email="a@example.org", occurred_at=at(10))
    duplicate = make_contact(email="b@example.org", occurred_at=at(90))
    services.record_consent(contact=duplicate, purpose="bulletin", action="withdrawn", method="phone",
                            occurred_at=at(60), actor=actor)
    merging.merge_contacts(survivor=survivor, duplicate=duplicate, actor=actor)
    state = ConsentState.objects.get(contact=survivor, purpose__code="bulletin")
    assert state.status == "granted" and state.last_event.contact_id == survivor.pk
    assert ConsentEvent.objects.filter(contact=survivor).count() == 3


def test_merge_keeps_survivors_equality_answers(make_contact, actor):
    survivor, duplicate = make_contact(email="a@example.org"), make_contact(email="b@example.org")
    EqualityProfile.objects.create(contact=survivor, age_band="20-29")
    EqualityProfile.objects.create(contact=duplicate, age_band="80+")
    merging.merge_contacts(survivor=survivor, duplicate=duplicate, actor=actor)
    assert list(EqualityProfile.objects.values_list("age_band", flat=True)) == ["20-29"]


def test_merge_pages_preview_then_confirm(staff_client, make_contact):
    survivor = make_contact(email="keep@example.org", name="Keep Me")
    duplicate = make_contact(email="dupe@example.org", name="Dupe Me", purposes=("events",))
    client = staff_client(ENGAGEMENT)
    step1 = client.get(reverse("consent_staff:contact_merge", args=[survivor.public_id]), {"contact": "DUPE@example.org"})
    assert step1.status_code == 302
    preview = client.get(step1["Location"])
    html = preview.content.decode()
    assert "Keep Me" in html and "Dupe Me" in html and "1 consent event copied" in html
    assert Contact.objects.filter(pk=duplicate.pk).exists()
    refused = client.post(reverse("consent_staff:contact_merge_preview", args=[survivor.public_id]),
                          {"duplicate": duplicate.public_id})
    assert "Confirm that both records are the same person" in refused.content.decode()
    done = client.post(reverse("consent_staff:contact_merge_preview", args=[survivor.public_id]),
                       {"duplicate": duplicate.public_id, "same_person": "on"})
    assert done.status_code == 302 and not Contact.objects.filter(pk=duplicate.pk).exists()
    self_merge = client.get(reverse("consent_staff:contact_merge", args=[survivor.public_id]),
                            {"contact": "keep@example.org"})
    assert "That is this record" in self_merge.content.decode()


def test_merge_needs_the_merge_permission(staff_client, make_contact):
    survivor = make_contact()
    assert staff_client(DATA_PROTECTION).get(
        reverse("consent_staff:contact_merge", args=[survivor.public_id])).status_code == 403


# --- staff API ------------------------------------------------------------------------------

@pytest.fixture
def engagement_token(staff_user):
    user = staff_user(ENGAGEMENT)
    return create_api_token(user=user, name="t", actor=Actor.system())[1]


def test_api_search_is_keyset_paginated(people, engagement_token):
    api = Client()
    first = api.get("/api/v1/staff/contacts", {"limit": 2}, **bearer(engagement_token)).json()
    assert [i["name"] for i in first["items"]] == ["Dan Blacksmith", "Catherine Jones"]
    assert first["prev_before"] is None and first["next_after"] == people["cat"].pk
    second = api.get("/api/v1/staff/contacts", {"limit": 2, "after": first["next_after"]},
                     **bearer(engagement_token)).json()
    assert [i["name"] for i in second["items"]] == ["Bob Smithson", "Ann Smith"] and second["next_after"] is None
    filtered = api.get("/api/v1/staff/contacts", {"locality": "crosby", "purpose": "bulletin",
                                                  "purpose_state": "granted"}, **bearer(engagement_token)).json()
    assert [i["name"] for i in filtered["items"]] == ["Bob Smithson"]
    nowhere = api.get("/api/v1/staff/contacts", {"topic": "no-such-topic"}, **bearer(engagement_token)).json()
    assert nowhere["items"] == []


def test_api_contact_detail(people, engagement_token):
    bob = people["bob"]
    body = Client().get(f"/api/v1/staff/contacts/{bob.public_id}", **bearer(engagement_token)).json()
    assert body["email"] == "bob@example.net" and body["topics"] == ["dementia"]
    assert body["communication_needs"] == [{"need": "large_print", "detail": ""}]
    assert {s["purpose"]: s["status"] for s in body["consent_states"]} == {"bulletin": "granted", "events": "granted"}
    missing = Client().get("/api/v1/staff/contacts/00000000-0000-0000-0000-000000000000", **bearer(engagement_token))
    assert missing.status_code == 404


def test_api_record_consent(make_contact, engagement_token):
    contact = make_contact()
    url = f"/api/v1/staff/contacts/{contact.public_id}/consents"
    api = Client()
    created = api.post(url, {"purpose": "involvement", "action": "confirmed", "method": "phone",
                             "evidence_reference": "call 12/11"}, content_type="application/json",
                       **bearer(engagement_token))
    assert created.status_code == 201 and created.json()["state"] == "granted"
    withdrawn = api.post(url, {"purpose": "bulletin", "action": "withdrawn", "method": "phone",
                               "evidence_reference": "call"}, content_type="application/json",
                         **bearer(engagement_token))
    assert withdrawn.status_code == 201 and withdrawn.json()["state"] == "withdrawn"
    refused = api.post(url, {"purpose": "bulletin", "action": "confirmed", "method": "paper_form",
                             "evidence_reference": "form"}, content_type="application/json",
                       **bearer(engagement_token))
    assert refused.status_code == 422 and "withdrawn consent" in refused.json()["detail"]
    own_method = api.post(url, {"purpose": "events", "action": "confirmed", "method": "email_confirmation",
                                "evidence_reference": "x"}, content_type="application/json",
                          **bearer(engagement_token))
    assert own_method.status_code == 422  # staff cannot claim the person confirmed by email
    bad_version = api.post(url, {"purpose": "events", "action": "confirmed", "method": "phone",
                                 "statement_version": 99, "evidence_reference": "x"},
                           content_type="application/json", **bearer(engagement_token))
    assert bad_version.status_code == 422


def test_api_refuses_wrong_role_and_no_token(staff_user, make_contact):
    contact = make_contact()
    comms = create_api_token(user=staff_user(COMMUNICATIONS), name="t", actor=Actor.system())[1]
    api = Client()
    assert api.get("/api/v1/staff/contacts", **bearer(comms)).status_code == 403
    assert api.get(f"/api/v1/staff/contacts/{contact.public_id}", **bearer(comms)).status_code == 403
    assert api.get("/api/v1/staff/contacts/00000000-0000-0000-0000-000000000000", **bearer(comms)).status_code == 403
    assert api.post(f"/api/v1/staff/contacts/{contact.public_id}/consents", {}, content_type="application/json",
                    **bearer(comms)).status_code == 403
    assert api.get("/api/v1/staff/contacts").status_code == 401


def test_statement_choice_lists_every_published_version(staff_client, make_contact):
    contact = make_contact()
    html = staff_client(ENGAGEMENT).get(reverse("consent_staff:contact_consent", args=[contact.public_id]))
    published = ConsentStatement.objects.filter(published_at__isnull=False)
    for statement in published:
        assert f'value="{statement.pk}"' in html.content.decode()
