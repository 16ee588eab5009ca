"""Importing paper sign-ups: preview, evidence, all-or-nothing, and the ledger always winning."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from consent import services as consent_services
from consent.erasure import erase_contact
from consent.models import ConsentEvent, ConsentState
from consent.selectors import contacts_reachable_for
from crm.audit import Actor
from crm.models import Contact
from segments import imports
from segments.models import ContactImport

EVIDENCE = {"method": "paper_form", "statement_versions": None, "collected_on": date(2026, 11, 20),
            "collected_by": "Engagement team at Bootle Big Chat", "evidence_reference": "Box 12, Bootle office"}


@pytest.fixture
def engagement(staff_user):
    return Actor.staff(staff_user("Engagement"))


def preview(content: bytes, actor, file_name="signups.csv"):
    return imports.preview_import(content=content, file_name=file_name, actor=actor, **EVIDENCE)


def run(content: bytes, actor, file_name="signups.csv"):
    record, plan = preview(content, actor, file_name)
    return imports.confirm_import(record=record, actor=actor), plan


def reachable(email, purpose="bulletin") -> bool:
    return contacts_reachable_for(purpose=purpose).filter(email_normalised=email).exists()


GOOD = (
    b"Email,Name,Postcode,Topics,Bulletin,Events\n"
    b"ann@example.org,Ann Able,L20 3NJ,dementia,yes,Y\n"
    b"bob@example.org,Bob Baker,,cancer; dementia,TRUE,no\n"
    b"cat@example.org,Cat Cole,l23 4ab,,1,\n"
)


def test_preview_counts_and_writes_nobody(db, engagement):
    record, plan = preview(GOOD, engagement)
    assert plan.counts() == {"create": 3, "update": 0, "unchanged": 0, "rejected": 0}
    assert record.status == ContactImport.Status.PREVIEWED
    assert not Contact.objects.exists()


def test_confirmed_import_creates_people_with_consent_on_the_declared_evidence(db, engagement):
    record, _ = run(GOOD, engagement)
    assert record.counts["create"] == 3
    assert reachable("ann@example.org") and reachable("ann@example.org", "events")
    assert reachable("bob@example.org") and not reachable("bob@example.org", "events")
    assert reachable("cat@example.org") and not reachable("cat@example.org", "events")  # blank: nothing
    event = ConsentEvent.objects.get(contact__email_normalised="ann@example.org", purpose__code="bulletin")
    assert event.method == "paper_form" and "Box 12, Bootle office" in event.evidence_reference
    assert event.occurred_at.date() == date(2026, 11, 20)
    bob = Contact.objects.get(email_normalised="bob@example.org")
    assert sorted(bob.topics.values_list("slug", flat=True)) == ["cancer", "dementia"]
    assert Contact.objects.get(email_normalised="cat@example.org").postcode == "L23 4AB"


def test_re_importing_the_same_file_changes_nothing(db, engagement):
    run(GOOD, engagement)
    events = ConsentEvent.objects.count()
    record, plan = run(GOOD, engagement)
    assert plan.counts() == {"create": 0, "update": 0, "unchanged": 3, "rejected": 0}
    assert ConsentEvent.objects.count() == events


def test_a_malformed_row_is_reported_by_line_and_nothing_is_written(db, engagement):
    bad = (
        b"email,name,postcode,topics,bulletin\n"
        b"ok@example.org,Olive,,,yes\n"
        b"not-an-address,Nobody,,,yes\n"
        b"ok2@example.org,Oscar,ZZ99 ZZZ9,,yes\n"
        b"ok3@example.org,Otto,,knitting,yes\n"
        b"ok4@example.org,Ola,,,maybe\n"
        b"OK@Example.org,Olive again,,,yes\n"
    )
    record, plan = preview(bad, engagement)
    assert [(o.line, o.reason) for o in plan.rejected] == [
        (3, "invalid email address"), (4, "postcode is not a real UK postcode"), (5, "unknown topic 'knitting'"),
        (6, "bulletin: 'maybe' is not yes or no"), (7, "duplicate of line 2"),
    ]
    with pytest.raises(ValidationError, match="Lines 3, 4, 5, 6, 7 cannot be read"):
        imports.confirm_import(record=record, actor=engagement)
    assert not Contact.objects.exists() and not ConsentEvent.objects.exists()


@pytest.mark.parametrize("word", ["yes", "Y", "true", "1", "ticked", "x", "YES", " Ticked "])
def test_yes_words(word):
    assert imports.read_yes_no(word) is True


@pytest.mark.parametrize("word", ["no", "N", "false", "0", "unticked"])
def test_no_words(word):
    assert imports.read_yes_no(word) is False


@pytest.mark.parametrize("word", ["withdrawn", "maybe", "?", "ja"])
def test_anything_else_is_refused_never_read_as_no(word):
    with pytest.raises(ValueError):
        imports.read_yes_no(word)


def test_a_blank_cell_never_changes_an_existing_consent(db, engagement, make_contact):
    make_contact(email="ann@example.org", purposes=("bulletin", "events"))
    record, plan = run(b"email,bulletin,events\nann@example.org,,\n", engagement)
    assert plan.counts()["unchanged"] == 1
    assert reachable("ann@example.org") and reachable("ann@example.org", "events")


def test_suppressed_withdrawn_and_erased_people_are_never_re_subscribed(db, engagement, make_contact, actor):
    gone = make_contact(email="gone@example.org", purposes=("bulletin",))
    consent_services.withdraw(contact=gone, purpose="bulletin", method="one_click_unsubscribe", actor=actor)
    consent_services.suppress_address(email="bounced@example.org", reason="hard_bounce", actor=actor)
    erased = make_contact(email="erased@example.org", purposes=("bulletin",))
    erase_contact(contact=erased, actor=actor)
    content = (b"email,name,bulletin\n"
               b"GONE@example.org,Gwen,yes\n"
               b"bounced@example.org,Bo,yes\n"
               b"erased@example.org,Eve,yes\n"
               b"new@example.org,Nia,yes\n")
    record, plan = run(content, engagement)
    reasons = {o.line: o.reason for o in plan.rejected}
    assert set(reasons) == {2, 3, 4}
    assert "withdrew" in reasons[2] and "suppressed" in reasons[3] and "erased" in reasons[4]
    assert record.counts["create"] == 1
    assert not reachable("gone@example.org")
    assert not Contact.objects.filter(email_normalised__in=["bounced@example.org", "erased@example.org"]).exists()
    assert ConsentState.objects.get(contact=gone, purpose__code="bulletin").status == "withdrawn"


def test_addresses_match_existing_people_case_insensitively(db, engagement, make_contact):
    make_contact(email="Ann.Able@Example.org", name="Ann", purposes=("bulletin",))
    record, plan = run(b"email,name,events\nann.able@EXAMPLE.ORG,Ann Able,yes\n", engagement)
    assert plan.counts() == {"create": 0, "update": 1, "unchanged": 0, "rejected": 0}
    assert Contact.objects.count() == 1
    assert reachable("ann.able@example.org", "events")
    assert Contact.objects.get().name == "Ann Able"


def test_windows_1252_semicolons_and_utf8_bom_files_read_correctly(db, engagement):
    cp1252 = "email;name;bulletin\nzoe@example.org;Zoë Brontë;yes\n".encode("cp1252")
    run(cp1252, engagement)
    assert Contact.objects.get(email_normalised="zoe@example.org").name == "Zoë Brontë"
    bom = "\ufeffemail,name,bulletin\nrene@example.org,René Müller,yes\n".encode()
    run(bom, engagement)
    assert Contact.objects.get(email_normalised="rene@example.org").name == "René Müller"


def test_xlsx_files_import_too(db, engagement, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Email", "Name", "Bulletin"])
    book.active.append(["xl@example.org", "Xavier", "Yes"])
    path = tmp_path / "sheet.xlsx"
    book.save(path)
    run(path.read_bytes(), engagement, file_name="sheet.xlsx")
    assert reachable("xl@example.org")


def test_unreadable_files_get_a_clear_error(db, engagement):
    with pytest.raises(imports.ImportFileError, match="UTF-16"):
        preview("email\nx@example.org\n".encode("utf-16"), engagement)
    with pytest.raises(imports.ImportFileError, match="email"):
        preview(b"name,postcode\nAnn,L20 3NJ\n", engagement)


def test_evidence_is_required(db, engagement):
    with pytest.raises(ValidationError) as raised:
        imports.preview_import(content=GOOD, file_name="x.csv", actor=engagement, method="paper_form",
                               statement_versions=None, collected_on=date(2026, 11, 20), collected_by=" ",
                               evidence_reference="")
    assert set(raised.value.message_dict) == {"collected_by", "evidence_reference"}


def test_a_duplicate_is_found_with_its_first_line_across_chunks(db, monkeypatch, tmp_path):
    """The compact record of addresses seen answers across chunk boundaries, exactly."""
    monkeypatch.setattr(imports, "CHUNK", 3)
    rows = [f"person{n}@example.org" for n in range(10)] + ["Person4@Example.org", "person9@example.org",
                                                              "person0@example.org", "someone.new@example.org"]
    path = tmp_path / "list.csv"
    path.write_text("email\n" + "\n".join(rows) + "\n")
    plan = imports.plan_import(path, "list.csv")
    assert [(o.line, o.reason) for o in plan.malformed] == [
        (12, "duplicate of line 6"), (13, "duplicate of line 11"), (14, "duplicate of line 2")]
    assert plan.counts()["create"] == 11


def test_seen_addresses_keeps_the_first_line():
    seen = imports.SeenAddresses()
    seen.add("a@example.org", 2)
    seen.add("a@example.org", 9)
    assert seen.first_line("a@example.org") == 2
    seen.compact()
    seen.add("b@example.org", 10)
    assert (seen.first_line("a@example.org"), seen.first_line("b@example.org"), seen.first_line("c@example.org")) == \
           (2, 10, None)
    seen.compact()
    assert seen.first_line("b@example.org") == 10
