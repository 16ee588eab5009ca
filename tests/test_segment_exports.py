"""Invitation list exports: lawful rows only, inert cells, recorded, invited, expiring."""

import csv
import hashlib
import io

import openpyxl
import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from consent import services as consent_services
from crm import services as crm_services
from crm.audit import Actor
from crm.models import AuditEntry
from segments import exports, services, tasks
from segments.models import Event, Invitation
from segments.spreadsheet import neutralise

FORMULA_PAYLOADS = [
    '=HYPERLINK("http://x","y")', "==1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1",
    "\n=1+1", "  =1+1", "\u3000=1+1", "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff201",
]


@pytest.fixture
def population(db, make_contact, actor, staff_user):
    """Four named people in one segment ('everyone with the dementia topic'):

    ok1, ok2   reachable for events (ok2 also gave equality_targeting and answered age 80+)
    gone       withdrew events        -> never exported
    bulletin   bulletin consent only  -> never exported
    Plus one person per formula payload in the name, reachable for events.
    """
    from crm.models import Topic

    dementia = [Topic.objects.get(slug="dementia")]
    people = {
        "ok1": make_contact(email="ok1@example.org", name="Olive Ok", topics=dementia, purposes=("events",)),
        "ok2": make_contact(email="ok2@example.org", name="Oscar Ok", topics=dementia,
                            purposes=("events", "equality_targeting")),
        "gone": make_contact(email="gone@example.org", name="Gwen Gone", topics=dementia, purposes=("events",)),
        "bulletin": make_contact(email="b@example.org", name="Bea Bulletin", topics=dementia, purposes=("bulletin",)),
    }
    crm_services.save_equality_answers(contact=people["ok2"], answers={"age_band": "80+"}, actor=actor)
    crm_services.save_equality_answers(contact=people["ok1"], answers={"age_band": "70-79"}, actor=actor)
    consent_services.withdraw(contact=people["gone"], purpose="events", method="staff_on_request", actor=actor)
    for n, payload in enumerate(FORMULA_PAYLOADS):
        contact = make_contact(email=f"f{n}@example.org", name="Zed", topics=dementia, purposes=("events",))
        # Names are refused with control characters at the edge; the export must be safe anyway.
        type(contact).objects.filter(pk=contact.pk).update(name=f"Zed {n:02d}", postcode="", preferred_language=payload)
    engagement = Actor.staff(staff_user("Engagement"))
    segment = services.create_segment(name="Dementia", actor=engagement, rules={
        "version": 1, "match": "all", "rules": [{"field": "topics", "op": "any", "value": ["dementia"]}]})
    event = Event.objects.create(title="Big Chat, Bootle", starts_at=timezone.now() + timezone.timedelta(days=30),
                                 ends_at=timezone.now() + timezone.timedelta(days=30, hours=2),
                                 created_by=engagement.user)
    return {"people": people, "segment": segment, "event": event, "engagement": engagement}


def export(population, file_format="csv", columns=("name", "email", "preferred_language"), actor=None):
    return exports.create_invitation_export(
        segment=population["segment"], event=population["event"], stated_purpose="Big Chat, Bootle, 12 March",
        columns=list(columns), file_format=file_format, actor=actor or population["engagement"])


def read_csv(record) -> list[list[str]]:
    text = (exports.exports_dir() / record.file_name).read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def read_xlsx(record):
    book = openpyxl.load_workbook(exports.exports_dir() / record.file_name)
    return [list(row) for row in book.active.iter_rows()]


@pytest.mark.parametrize("payload", FORMULA_PAYLOADS)
def test_neutralise_makes_every_formula_payload_inert(payload):
    assert neutralise(payload).startswith("'")


def test_plain_values_are_left_alone():
    assert [neutralise(v) for v in ["Ann Smith", "L20 3NJ", 42, 3.5, "", "O'Neill", "a=b"]] == \
           ["Ann Smith", "L20 3NJ", 42, 3.5, "", "O'Neill", "a=b"]


def test_text_of_other_types_is_neutralised_too():
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy

    assert neutralise(mark_safe("=1+1")) == "'=1+1" and neutralise(mark_safe("ok")).__class__ is str
    assert neutralise(gettext_lazy("=1+1")) == "'=1+1"
    assert neutralise(None) == "" and neutralise(True) == "Yes"


def test_a_csv_longer_than_one_write_block_is_whole_and_hashed_as_written(tmp_path):
    from segments.spreadsheet import CSV_FLUSH_ROWS, write_csv

    rows = [[f"Person {n}", "=1+1" if n % 7 == 0 else n] for n in range(CSV_FLUSH_ROWS * 2 + 4)]  # ends on a row not divisible by 7
    path = tmp_path / "list.csv"
    count, digest = write_csv(path, ["Name", "Value"], iter(rows))
    data = path.read_bytes()
    assert count == len(rows) and digest == hashlib.sha256(data).hexdigest()
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert read[0] == ["Name", "Value"] and len(read) == len(rows) + 1
    assert read[1 + 7] == ["Person 7", "'=1+1"] and read[-1] == [f"Person {len(rows) - 1}", str(len(rows) - 1)]


def test_csv_lists_only_people_reachable_for_events_with_inert_cells(population):
    record = export(population)
    rows = read_csv(record)
    assert rows[0] == ["Name", "Email", "Preferred language"]
    emails = {r[1] for r in rows[1:]}
    assert {"ok1@example.org", "ok2@example.org"} <= emails
    assert not {"gone@example.org", "b@example.org"} & emails
    assert record.row_count == len(rows) - 1 == 2 + len(FORMULA_PAYLOADS)
    languages = [r[2] for r in rows[1:] if r[0].startswith("Zed")]
    assert len(languages) == len(FORMULA_PAYLOADS)
    assert all(value.startswith("'") for value in languages)


def test_xlsx_cells_are_typed_text_never_formulas(population):
    record = export(population, file_format="xlsx")
    rows = read_xlsx(record)
    cells = [row[2] for row in rows[1:] if str(row[0].value).startswith("Zed")]
    assert len(cells) == len(FORMULA_PAYLOADS)
    assert all(cell.data_type == "s" and str(cell.value).startswith("'") for cell in cells)
    assert not any(cell.data_type == "f" for row in rows for cell in row)


def test_export_is_recorded_with_checksum_rules_purpose_and_invites_the_people(population):
    record = export(population)
    data = (exports.exports_dir() / record.file_name).read_bytes()
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.rules_snapshot == population["segment"].rules
    assert record.stated_purpose == "Big Chat, Bootle, 12 March"
    invited = set(Invitation.objects.filter(event=population["event"]).values_list("contact__email", flat=True))
    assert {"ok1@example.org", "ok2@example.org"} <= invited and "gone@example.org" not in invited
    entry = AuditEntry.objects.filter(action="segment.exported").latest("id")
    assert entry.changes["rows"] == record.row_count and entry.changes["sha256"] == record.sha256
    # Exporting again invites nobody twice.
    export(population)
    assert Invitation.objects.filter(event=population["event"]).count() == len(invited)


def test_equality_columns_need_the_permission_and_the_persons_own_consent(population, staff_user):
    with pytest.raises(PermissionDenied):
        export(population, columns=("name", "age_band"))
    allowed = Actor.staff(staff_user("Engagement", "Data protection"))
    rows = {r[0]: r[1] for r in read_csv(export(population, columns=("name", "age_band"), actor=allowed))[1:]}
    assert rows["Oscar Ok"] == "80 or over"  # gave equality_targeting
    assert rows["Olive Ok"] == ""  # answered, but did not agree to be invited because of it


def test_download_link_expires_after_seven_days_and_the_file_is_deleted(population):
    record = export(population)
    token = exports.download_token(record)
    assert exports.export_for_download(token) == record
    assert exports.export_for_download(token[:-2] + "xx") is None
    with time_machine.travel(timezone.now() + timezone.timedelta(days=7, minutes=1)):
        assert exports.export_for_download(token) is None
        assert tasks.delete_expired_exports.call_local() == 1
    assert not (exports.exports_dir() / record.file_name).exists()
    record.refresh_from_db()
    assert record.file_deleted_at is not None


def test_a_purpose_is_required_and_unknown_columns_are_refused(population):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        exports.create_invitation_export(segment=population["segment"], event=population["event"], stated_purpose=" ",
                                         columns=["name"], file_format="csv", actor=population["engagement"])
    with pytest.raises(ValidationError):
        export(population, columns=("name", "national_insurance"))


def test_topics_needs_and_consent_wording_columns_read_as_staff_expect(db, make_contact, staff_user):
    """Topic names sorted and joined; communication needs labelled; the day each person agreed, in
    London time (23:30 UTC in summer is the next day), with the wording version they agreed to."""
    from crm.models import CommunicationNeed, Topic

    dementia, mental = Topic.objects.get(name="Dementia"), Topic.objects.get(name="Mental health")
    with time_machine.travel("2026-06-29 23:30:00+00:00", tick=False):  # 00:30 on 30 June, BST
        summer = make_contact(email="summer@example.org", name="Sam Summer", topics=[mental, dementia],
                              purposes=("events",))
    with time_machine.travel("2026-12-01 23:30:00+00:00", tick=False):  # 23:30 on 1 December, GMT
        winter = make_contact(email="winter@example.org", name="Wyn Winter", purposes=("events",))
    CommunicationNeed.objects.create(contact=winter, need=CommunicationNeed.Need.LARGE_PRINT)
    engagement = Actor.staff(staff_user("Engagement"))
    segment = services.create_segment(name="Everyone", actor=engagement,
                                      rules={"version": 1, "match": "all", "rules": []})
    event = Event.objects.create(title="Big Chat", starts_at=timezone.now(), ends_at=timezone.now(),
                                 created_by=engagement.user)
    record = exports.create_invitation_export(
        segment=segment, event=event, stated_purpose="Big Chat", file_format="csv", actor=engagement,
        columns=["name", "topics", "communication_needs", "consent"])
    rows = read_csv(record)
    version = summer.consent_states.get(purpose__code="events").statement.version
    assert rows == [
        ["Name", "Topics", "Communication needs", "Agreed to event invitations"],
        ["Sam Summer", "Dementia; Mental health", "", f"30 June 2026, wording version {version}"],
        ["Wyn Winter", "", "Large print", f"1 December 2026, wording version {version}"],
    ]
