"""Data-protection cases: subject access (deadlines, export of everything held) and erasure."""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from consent import cases, registry, services
from consent.models import ErasureRequest, SubjectAccessRequest, Suppression
from crm.audit import Actor, record_audit
from crm.models import AuditEntry, Contact, EqualityProfile, Organisation, Topic
from crm.roles import DATA_PROTECTION, ENGAGEMENT
from crm.services import set_communication_needs
from tests.erasure_support import assert_no_trace, rows_with, table_rows
from tests.public_support import database_dump

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def _on_a_fixed_day():
    """The cases below use dates in autumn 2026 ("received on 1 October 2026" must not be in the
    future): run every test on TODAY, whatever the real date, instead of failing before it."""
    with time_machine.travel(datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/London")), tick=True):
        yield


def date_fields(prefix: str, day: date) -> dict:
    return {f"{prefix}_0": day.day, f"{prefix}_1": day.month, f"{prefix}_2": day.year}


# --- deadlines ------------------------------------------------------------------------------

@pytest.mark.parametrize(("received", "due"), [
    (date(2026, 9, 3), date(2026, 10, 3)),
    (date(2026, 1, 31), date(2026, 2, 28)),  # no 31 February: last day of the month
    (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
    (date(2026, 3, 31), date(2026, 4, 30)),
    (date(2026, 12, 15), date(2027, 1, 15)),
    (date(2026, 2, 28), date(2026, 3, 28)),
])
def test_one_calendar_month_follows_the_ico_rule(received, due):
    assert cases.one_calendar_month_after(received) == due


def sar(**fields) -> SubjectAccessRequest:
    defaults = {"reference": f"T-{SubjectAccessRequest.objects.count() + 1}", "received_on": date(2026, 10, 1),
                "status": SubjectAccessRequest.Status.IN_PROGRESS}
    return SubjectAccessRequest.objects.create(**{**defaults, **fields})


def test_clock_does_not_start_until_identity_is_confirmed(actor):
    case = cases.open_subject_access(received_on=date(2026, 10, 1), actor=actor)
    assert case.status == "awaiting_id" and cases.due_date(case, TODAY) is None
    cases.record_identity_checked(case=case, checked_on=date(2026, 10, 9), actor=actor)
    case.refresh_from_db()
    assert case.status == "in_progress" and cases.due_date(case, TODAY) == date(2026, 11, 9)


def test_identity_checked_on_receipt_runs_from_receipt(actor):
    case = cases.open_subject_access(received_on=date(2026, 10, 31), identity_checked_on=date(2026, 10, 31),
                                     actor=actor)
    assert cases.due_date(case, TODAY) == date(2026, 11, 30)


def test_waiting_for_clarification_stops_the_clock(actor):
    case = cases.open_subject_access(received_on=date(2026, 10, 1), identity_checked_on=date(2026, 10, 1),
                                     actor=actor)
    cases.stop_clock_for_clarification(case=case, stopped_on=date(2026, 10, 10), actor=actor)
    case.refresh_from_db()
    # While stopped, the deadline moves one day for every day of waiting.
    assert cases.due_date(case, date(2026, 10, 15)) == date(2026, 11, 6)
    assert cases.due_date(case, date(2026, 10, 20)) == date(2026, 11, 11)
    cases.restart_clock(case=case, restarted_on=date(2026, 10, 17), actor=actor)
    case.refresh_from_db()
    assert case.days_paused == 7 and case.clock_stopped_on is None
    assert cases.due_date(case, TODAY) == date(2026, 11, 8)
    actions = list(AuditEntry.objects.filter(object_type="consent.subjectaccessrequest").values_list("action", flat=True))
    assert set(actions) == {"sar.opened", "sar.clock_stopped", "sar.clock_restarted"}


def test_open_cases_sorted_by_deadline_and_overdue_flagged():
    late = sar(received_on=date(2026, 9, 1))
    soon = sar(received_on=date(2026, 11, 1))
    waiting = sar(received_on=date(2026, 10, 1), status=SubjectAccessRequest.Status.AWAITING_ID)
    sar(received_on=date(2026, 1, 1), status=SubjectAccessRequest.Status.CLOSED)
    rows = cases.open_subject_access_cases(TODAY)
    assert [r.case for r in rows] == [late, soon, waiting]
    assert rows[0].overdue and rows[0].days_late == 53 and not rows[1].overdue and rows[1].days_left == 8
    assert rows[2].due is None and not rows[2].overdue


def test_case_dates_are_validated(actor):
    future = timezone.localdate() + timedelta(days=1)
    with pytest.raises(cases.ValidationError):
        cases.open_subject_access(received_on=future, actor=actor)
    case = cases.open_subject_access(received_on=date(2026, 10, 5), actor=actor)
    with pytest.raises(cases.ValidationError):
        cases.record_identity_checked(case=case, checked_on=date(2026, 10, 1), actor=actor)
    with pytest.raises(cases.ValidationError):
        cases.close_subject_access(case=case, closed_on=date(2026, 10, 6), outcome="  ", actor=actor)


# --- pages ----------------------------------------------------------------------------------

def test_subject_access_case_through_the_pages(staff_client, make_contact):
    contact = make_contact(email="asker@example.org")
    client = staff_client(DATA_PROTECTION)
    received = timezone.localdate() - timedelta(days=40)
    response = client.post(reverse("consent_staff:sar_new"), {
        **date_fields("received_on", received), "requester_description": "letter", "contact": "ASKER@example.org",
    })
    case = SubjectAccessRequest.objects.get()
    assert response.status_code == 302 and case.contact == contact and case.status == "awaiting_id"
    assert case.reference.startswith(f"SAR-{timezone.localdate().year}-")
    page = client.get(reverse("consent_staff:sar", args=[case.pk])).content.decode()
    assert "Clock not started" in page
    client.post(reverse("consent_staff:sar_identity", args=[case.pk]), date_fields("on", received))
    listing = client.get(reverse("consent_staff:sar_list")).content.decode()
    assert case.reference in listing and "Overdue" in listing  # received 40 days ago: past the month
    dashboard = client.get(reverse("consent_staff:dashboard")).content.decode()
    assert case.reference in dashboard and "Overdue" in dashboard

    missing = client.post(reverse("consent_staff:sar_close", args=[case.pk]), date_fields("closed_on", received))
    assert "Record what was sent, how and when" in missing.content.decode()
    client.post(reverse("consent_staff:sar_close", args=[case.pk]), {
        **date_fields("closed_on", timezone.localdate()), "outcome": "JSON and printed copy by recorded post"})
    case.refresh_from_db()
    assert case.status == "closed" and case.outcome == "JSON and printed copy by recorded post"
    assert "JSON and printed copy by recorded post" in client.get(reverse("consent_staff:sar", args=[case.pk])).content.decode()


def test_sar_form_errors_link_to_the_fields(staff_client):
    response = staff_client(DATA_PROTECTION).post(reverse("consent_staff:sar_new"), {"contact": "nobody@example.org"})
    html = response.content.decode()
    assert 'href="#id_received_on_0"' in html and "Enter the date the request was received" in html
    assert "No contact has this email address or reference" in html and not SubjectAccessRequest.objects.exists()


def test_case_pages_refuse_other_roles_before_lookup(staff_client, actor):
    case = cases.open_subject_access(received_on=date(2026, 10, 1), actor=actor)
    client = staff_client(ENGAGEMENT)
    for url in (reverse("consent_staff:sar_list"), reverse("consent_staff:sar", args=[case.pk]),
                reverse("consent_staff:sar", args=[99999]), reverse("consent_staff:sar_export_json", args=[case.pk]),
                reverse("consent_staff:erasure_list"), reverse("consent_staff:erasure_confirm", args=[99999])):
        assert client.get(url).status_code == 403, url


# --- the export -----------------------------------------------------------------------------

@pytest.fixture
def rows_before_people(db):
    """Every row before the two people below exist (reference data holds outward codes and localities)."""
    return table_rows()


@pytest.fixture
def two_people(rows_before_people, make_contact, actor):
    """The requester with one of every kind of record, and someone else with theirs."""
    org = Organisation.objects.create(name="Netherton Carers Group", kind=Organisation.Kind.VOLUNTARY)
    me = make_contact(email="requester@example.org", name="Rhiannon Requester", postcode="L21 4AA",
                      topics=[Topic.objects.get(name="Cancer")], organisation=org,
                      purposes=("bulletin", "equality_monitoring"))
    services.withdraw(contact=me, purpose="bulletin", method="phone", actor=actor, evidence_reference="call log 7")
    set_communication_needs(contact=me, needs={"braille": ""}, actor=actor)
    EqualityProfile.objects.create(contact=me, ethnic_group="white_irish", carer="yes")
    other = make_contact(email="bystander@example.net", name="Barnaby Bystander", postcode="L30 9ZZ",
                         topics=[Topic.objects.get(name="Dementia")], purposes=("events",))
    EqualityProfile.objects.create(contact=other, ethnic_group="other_arab")
    set_communication_needs(contact=other, needs={"bsl": ""}, actor=actor)
    record_audit(actor=Actor.public("203.0.113.9"), action="preferences.viewed", obj=other)
    return me, other


def test_export_holds_every_kind_of_record_and_nothing_about_anyone_else(staff_client, two_people, actor):
    me, other = two_people
    case = cases.open_subject_access(received_on=date(2026, 11, 1), identity_checked_on=date(2026, 11, 1),
                                     contact=me, actor=actor)
    client = staff_client(DATA_PROTECTION)
    response = client.get(reverse("consent_staff:sar_export_json", args=[case.pk]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    data = json.loads(text)
    assert data["contact"]["email"] == "requester@example.org" and data["contact"]["postcode"] == "L21 4AA"
    assert data["contact"]["organisation"] == "Netherton Carers Group"
    assert [t["name"] for t in data["topics"]] == ["Cancer"]
    assert [n["need"] for n in data["communication_needs"]] == ["braille"]
    assert data["equality_answers"]["answers"]["ethnic_group"]["answer"] == "white_irish"
    assert {s["purpose"]: s["status"] for s in data["consent_states"]} == {
        "bulletin": "withdrawn", "equality_monitoring": "granted"}
    history = data["consent_history"]
    assert {e["action"] for e in history} == {"confirmed", "withdrawn"} and all(e["statement_text"] for e in history)
    assert any(e["evidence_reference"] == "call log 7" for e in history)
    assert [s["purpose"] for s in data["suppressions"]] == ["bulletin"]
    actions = {e["action"] for e in data["audit_entries"]}
    assert {"contact.created", "consent.confirmed", "consent.withdrawn", "contact.communication_needs_changed"} <= actions
    assert [c["reference"] for c in data["cases"]] == [case.reference]

    html = client.get(reverse("consent_staff:sar_export_html", args=[case.pk])).content.decode()
    assert "Rhiannon Requester" in html and "White: Irish" in html and "call log 7" in html
    for trace in ("Barnaby", "Bystander", "bystander@example.net", "L30 9ZZ", "Dementia", "other_arab", "Arab",
                  "bsl", "British Sign Language", "203.0.113.9", str(other.public_id)):
        assert trace not in text, trace
        assert trace not in html, trace

    exported = AuditEntry.objects.filter(action="sar.exported", object_id=str(case.pk))
    assert sorted(exported.values_list("changes__format", flat=True)) == ["html", "json"]
    assert AuditEntry.objects.filter(action="equality.answers_viewed", object_id=str(me.pk)).count() == 2


def test_export_includes_sections_registered_by_higher_layers(two_people, actor):
    me, _ = two_people
    registry.register_personal_data_section("deliveries", lambda contact: [{"bulletin": "November", "to": contact.pk}])
    try:
        assert cases.subject_access_data(me)["deliveries"] == [{"bulletin": "November", "to": me.pk}]
    finally:
        registry.unregister_personal_data_section("deliveries")


def test_export_includes_audit_entries_of_records_merged_into_this_one(make_contact, actor):
    from consent.merging import merge_contacts

    me, old = make_contact(email="me@example.org"), make_contact(email="old@example.org")
    old_id = old.pk
    merge_contacts(survivor=me, duplicate=old, actor=actor)
    ids = {e["action"] for e in cases.audit_entries_about(me)}
    assert "contact.merged_away" in ids and AuditEntry.objects.filter(object_id=str(old_id)).exists()


def test_export_needs_a_linked_contact(staff_client, actor):
    case = cases.open_subject_access(received_on=date(2026, 11, 1), actor=actor)
    response = staff_client(DATA_PROTECTION).get(reverse("consent_staff:sar_export_json", args=[case.pk]))
    assert response.status_code == 302 and not AuditEntry.objects.filter(action="sar.exported").exists()


# --- erasure --------------------------------------------------------------------------------

def test_erasure_leaves_no_trace_and_the_address_stays_refused(staff_client, rows_before_people, two_people):
    me, _ = two_people
    me_id = me.pk
    client = staff_client(DATA_PROTECTION)
    client.post(reverse("consent_staff:erasure_new"), {**date_fields("received_on", timezone.localdate()),
                                                       "contact": str(me.public_id), "notes": "by letter"})
    case = ErasureRequest.objects.get()
    assert case.contact_id == me_id and case.reference.startswith("ER-")

    asked = client.get(reverse("consent_staff:erasure_confirm", args=[case.pk])).content.decode()
    assert "This cannot be undone" in asked
    not_ticked = client.post(reverse("consent_staff:erasure_confirm", args=[case.pk]), {})
    assert "Confirm that you understand" in not_ticked.content.decode() and Contact.objects.filter(pk=me_id).exists()
    done = client.post(reverse("consent_staff:erasure_confirm", args=[case.pk]), {"understood": "on"})
    assert done.status_code == 302

    case.refresh_from_db()
    assert case.status == "completed" and case.contact is None and case.erased_contact_ref == str(me_id)
    dump = database_dump()
    for trace in ("Rhiannon", "Requester", "requester@example.org", "L21 4AA", str(me.public_id)):
        assert trace not in dump, trace
    assert "Barnaby Bystander" in dump  # the dump does include people's data: the check is real
    # Partial identifiers too: outward code, inward code, locality (L21 is Seaforth & Litherland), local part.
    assert_no_trace(before=rows_before_people, whole=["requester@example.org", "Rhiannon Requester", me.public_id.hex],
                    partial=["requester", "Rhiannon", "L21", "4AA", "Seaforth", "Litherland"])
    assert rows_with(table_rows() - rows_before_people, ["L30", "9ZZ", "bystander", "Barnaby"])  # the check is real
    assert Suppression.objects.filter(address_hash=me.email_hash, reason="erasure").exists()
    assert AuditEntry.objects.filter(action="contact.erased", object_id=str(me_id)).exists()

    staff = staff_client(ENGAGEMENT)
    again = staff.post(reverse("consent_staff:contact_add"), {
        "name": "Rhiannon Requester", "email": "Requester@Example.org", "kind": "public", "purposes": ["bulletin"],
        "method": "paper_form", "evidence_reference": "sheet", **date_fields("occurred_on", timezone.localdate()),
    })
    assert again.status_code == 200 and "This address is suppressed" in again.content.decode()
    assert not Contact.objects.filter(email_normalised="requester@example.org").exists()
    assert client.get(reverse("consent_staff:erasure", args=[case.pk])).status_code == 200


def test_erasure_can_be_refused_with_a_reason(staff_client, make_contact, actor):
    contact = make_contact()
    case = cases.open_erasure(received_on=date(2026, 11, 1), contact=contact, actor=actor)
    client = staff_client(DATA_PROTECTION)
    client.post(reverse("consent_staff:erasure_refuse", args=[case.pk]), {"reason": "Identity not confirmed"})
    case.refresh_from_db()
    assert case.status == "refused" and "Identity not confirmed" in case.notes
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert client.get(reverse("consent_staff:erasure_confirm", args=[case.pk])).status_code == 302
    with pytest.raises(cases.ValidationError):
        cases.complete_erasure(case=case, actor=actor)


def test_case_references_count_up_per_year(actor):
    first = cases.open_erasure(received_on=date(2026, 11, 1), actor=actor)
    second = cases.open_erasure(received_on=date(2026, 11, 2), actor=actor)
    year = timezone.localdate().year
    assert (first.reference, second.reference) == (f"ER-{year}-0001", f"ER-{year}-0002")
