"""The audit log reads as sentences: every action code recorded anywhere has a label, objects are
named (never by a person's name), details use names and labels rather than ids and codes."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from crm.audit import Actor, record_audit
from crm.audit_labels import ACTION_LABELS, action_label, register_action_labels
from crm.models import AuditEntry, Topic
from crm.roles import DATA_PROTECTION, ENGAGEMENT

ROOT = Path(__file__).resolve().parent.parent
APPS = ("crm", "consent", "segments", "bulletins")
# Codes built at run time, expanded by hand from the values their code can take.
DYNAMIC_CODES = {
    'f"consent.{action}"': ["consent.given", "consent.confirmed", "consent.withdrawn", "consent.new_address"],
    'f"consent.{event.action}"': ["consent.given", "consent.confirmed", "consent.withdrawn", "consent.new_address"],
    'f"consent.{action}_many"': ["consent.given_many", "consent.confirmed_many", "consent.withdrawn_many",
                                 "consent.new_address_many"],
    'f"bulletin.comment_{locked.status}"': ["bulletin.comment_approved", "bulletin.comment_rejected"],
}


def recorded_action_codes() -> tuple[set[str], list[str]]:
    """Every action code passed to record_audit in the apps' code, and any expression not understood."""
    codes, unknown = set(), []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or "tests" in path.parts:
                continue
            text = path.read_text()
            constants = dict(re.findall(r'^([A-Z_]+) = "([a-z_]+\.[a-z_]+)"', text, re.MULTILINE))
            for call in re.finditer(r"(?<!def )record_audit\((.*?)\)\n", text, re.DOTALL):
                found = re.search(r"action=(.+?)(?:,\s*(?:obj|object_type|object_id|summary|changes)=|\)$)",
                                  call.group(1), re.DOTALL)
                if found is None:
                    unknown.append(f"{path.name}: {call.group(1)[:80]}")
                    continue
                expression = found.group(1).strip()
                if expression in DYNAMIC_CODES:
                    codes.update(DYNAMIC_CODES[expression])
                elif expression in constants:
                    codes.add(constants[expression])
                elif literals := re.findall(r'(?<!f)"([a-z_]+\.[a-z_]+)"', expression):
                    codes.update(literals)
                else:
                    unknown.append(f"{path.relative_to(ROOT)}: action={expression}")
    return codes, unknown


def test_every_action_code_recorded_anywhere_has_a_label():
    codes, unknown = recorded_action_codes()
    assert not unknown, f"Teach DYNAMIC_CODES in {__name__} what these can be: {unknown}"
    assert {"sar.exported", "contact.topics_changed", "staff.roles_changed", "retention.run",
            "audit.chain_checked", "consent.withdrawn"} <= codes  # the scan finds the known ones
    missing = sorted(codes - set(ACTION_LABELS))
    assert not missing, f"Add labels (crm.audit_labels.register_action_labels) for: {missing}"


def test_labels_are_sentences_not_codes():
    for code, label in ACTION_LABELS.items():
        assert label[0].isupper() and "." not in label and "_" not in label, (code, label)
    assert action_label("sar.exported") == "Subject access export downloaded"


def test_later_apps_add_labels_and_unknown_codes_read_as_words():
    assert action_label("newsletter.sent_twice") == "Newsletter: sent twice"
    register_action_labels({"newsletter.sent_twice": "Newsletter sent twice"})
    try:
        assert action_label("newsletter.sent_twice") == "Newsletter sent twice"
    finally:
        ACTION_LABELS.pop("newsletter.sent_twice")


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 11, 23, 12, 0, tzinfo=UTC), tick=True)  # the case dates must not be future
def test_the_audit_page_reads_as_sentences_without_codes_ids_or_personal_data(staff_client, make_contact):
    from consent import cases
    from crm import services as crm_services

    client = staff_client(DATA_PROTECTION)
    engagement = staff_client(ENGAGEMENT).user
    actor = Actor.staff(engagement, "::ffff:10.0.0.9")
    contact = make_contact(email="Jo.Unique-Person@example.org", name="Jo Uniqueperson", postcode="L20 3AB")
    dementia, carers = Topic.objects.order_by("name")[:2]
    crm_services.set_contact_topics(contact=contact, topics=[dementia, carers], actor=actor)
    crm_services.update_contact_details(contact=contact, actor=actor, postcode="L21 9XY")
    case = cases.open_subject_access(received_on=date(2026, 11, 2), contact=contact, actor=actor,
                                     identity_checked_on=date(2026, 11, 3))
    cases.record_subject_access_export(case=case, export_format="json", actor=actor)
    record_audit(actor=actor, action="test.unlabelled_thing")

    html = client.get(reverse("staff:audit")).content.decode()
    added_in_id_order = ", ".join(t.name for t in sorted([dementia, carers], key=lambda t: t.pk))
    for sentence in ("Subject access export downloaded", "Subject access request opened",
                     "Topics of interest changed", f"Added: {added_in_id_order}",
                     f"Subject access request {case.reference}", "Contact record", "Contact details corrected",
                     "Fields: locality, postcode", "Consent given and confirmed", "How: Paper form at an event",
                     "Format: json", "Test: unlabelled thing", "from ::ffff:10.0.0.9", engagement.username):
        assert sentence in html, sentence
    assert reverse("consent_staff:sar", kwargs={"pk": case.pk}) in html
    assert reverse("consent_staff:contact", kwargs={"public_id": contact.public_id}) in html
    visible = re.sub(r"<[^>]+>", " ", html)  # codes may be option values, never text a reader sees
    for code in ("sar.exported", "crm.contact", "contact.topics_changed", "added: [", "consent.subjectaccessrequest",
                 "contact_id", "statement_version", "paper_form"):
        assert code not in visible, code
    for personal in ("Jo Uniqueperson", "Uniqueperson", "Jo.Unique-Person", "unique-person", "L20 3AB", "L21 9XY",
                     "L20", "L21"):
        assert personal not in html, personal
    assert AuditEntry.objects.filter(action="sar.exported").exists()


@pytest.mark.django_db
def test_links_only_to_pages_the_reader_may_open(staff_client, make_contact):
    from crm import services as crm_services

    contact = make_contact()
    crm_services.update_contact_details(contact=contact, actor=Actor.system(), name="Someone Else")
    from crm.audit_labels import audit_rows

    reader = staff_client(DATA_PROTECTION).user
    entry = AuditEntry.objects.filter(action="contact.details_changed").latest("id")
    [row] = audit_rows([entry], user=reader)
    assert reverse("consent_staff:contact", kwargs={"public_id": contact.public_id}) in row.about
    outsider = staff_client("Communications").user
    [row] = audit_rows([entry], user=outsider)
    assert row.about == "Contact record" and "href" not in row.about
    assert row.details == ["Fields: name"]
