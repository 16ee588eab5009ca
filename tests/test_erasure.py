"""Erasure: nothing about the person is left (whole or partial identifiers), and higher layers' rows go
too, through the erasure steps and personal-data sections they register in ``consent.registry``.

Every path that deletes a person (erasure, retention deletion, merging away a duplicate) runs the
registered steps inside its transaction, before the contact row goes; a step that fails undoes it.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from consent import cases, erasure, merging, registry, retention, services
from consent.exports import personal_data_for
from consent.models import ConsentEvent, ConsentState, ErasurePermit, Suppression
from crm.audit import Actor, record_audit
from crm.models import AuditEntry, Contact, EqualityProfile, Topic
from crm.services import set_communication_needs, update_contact_details
from tests.erasure_support import assert_no_trace, rows_with, table_rows

LONDON = ZoneInfo("Europe/London")

# The person, and the pieces of them an erasure must not leave behind (written out by hand).
REQUESTER = {"email": "rhiannon.requester@example.org", "name": "Rhiannon Requester", "postcode": "L21 4AA"}
REQUESTER_PARTS = ["rhiannon.requester", "Rhiannon", "Requester", "L21", "4AA", "Seaforth", "Litherland"]
# Someone else, whose records stay: proves the check sees people's data when it is there.
BYSTANDER = {"email": "barnaby.bystander@example.net", "name": "Barnaby Bystander", "postcode": "L30 9ZZ"}
BYSTANDER_PARTS = ["barnaby.bystander", "Barnaby", "L30", "9ZZ"]


def whole_identifiers(contact) -> list[str]:
    return [REQUESTER["email"], REQUESTER["name"], REQUESTER["postcode"], str(contact.public_id),
            contact.public_id.hex]


@pytest.fixture
def requester_with_everything(make_contact, actor):
    """The requester with one of every kind of record, and a bystander with theirs."""
    before = table_rows()
    me = make_contact(**REQUESTER, topics=[Topic.objects.get(name="Cancer")],
                      purposes=("bulletin", "events", "equality_monitoring"))
    services.withdraw(contact=me, purpose="events", method="phone", actor=actor, evidence_reference="call log 7")
    set_communication_needs(contact=me, needs={"other_language": "Welsh"}, actor=actor)
    EqualityProfile.objects.create(contact=me, ethnic_group="white_irish", carer="yes")
    update_contact_details(contact=me, name="Rhiannon Requester", kind="carer", actor=actor)
    record_audit(actor=Actor.public("203.0.113.9"), action="preferences.viewed", obj=me)
    other = make_contact(**BYSTANDER, topics=[Topic.objects.get(name="Dementia")], purposes=("events",))
    return before, me, other


def test_erasure_leaves_no_whole_or_partial_identifier_in_any_row(requester_with_everything, actor):
    before, me, _ = requester_with_everything
    whole = whole_identifiers(me)
    assert rows_with(table_rows() - before, REQUESTER_PARTS)  # the person is there before erasure

    erasure.erase_contact(contact=me, actor=actor, reason="erasure case ER-2026-0001")

    assert_no_trace(before=before, whole=whole, partial=REQUESTER_PARTS)
    found = {identifier for identifier, _ in rows_with(table_rows() - before, BYSTANDER_PARTS)}
    assert found == set(BYSTANDER_PARTS)  # the check does see a person's parts where they remain
    assert Suppression.objects.filter(address_hash=me.email_hash, reason="erasure").count() == 5


def test_the_partial_check_catches_an_outward_code_or_locality_in_an_audit_entry(requester_with_everything):
    """The check itself: an entry that kept only the outward code, or only the locality, fails it."""
    before, me, _ = requester_with_everything
    erasure.erase_contact(contact=me, actor=Actor.system())
    for kept in ({"district": "L21"}, {"area": "Seaforth & Litherland"}, {"who": "rhiannon.requester"}):
        entry = record_audit(actor=Actor.system(), action="contact.erased", object_type="crm.contact",
                             object_id="1", changes=kept)
        with pytest.raises(AssertionError, match="Traces of the erased person"):
            assert_no_trace(before=before, whole=[], partial=REQUESTER_PARTS)
        AuditEntry.objects.filter(pk=entry.pk).delete()


def test_erasure_through_the_case_leaves_no_partial_identifier(requester_with_everything, actor):
    before, me, _ = requester_with_everything
    case = cases.open_erasure(received_on=datetime.now(LONDON).date(), contact=me, actor=actor, notes="by letter")
    cases.complete_erasure(case=case, actor=actor)
    assert_no_trace(before=before, whole=whole_identifiers(me), partial=REQUESTER_PARTS)


# --- the registry: personal-data sections ----------------------------------------------------

@pytest.fixture
def registered():
    """Register sections/steps for one test, and always take them away again."""
    names = {"sections": [], "steps": []}

    def section(name, build):
        registry.register_personal_data_section(name, build)
        names["sections"].append(name)

    def step(name, erase):
        registry.register_erasure_step(name, erase)
        names["steps"].append(name)

    yield type("Registered", (), {"section": staticmethod(section), "step": staticmethod(step)})
    for name in names["sections"]:
        registry.unregister_personal_data_section(name)
    for name in names["steps"]:
        registry.unregister_erasure_step(name)


def test_registered_sections_are_in_download_my_data_and_the_subject_access_export(make_contact, registered):
    me = make_contact(email="me@example.org")
    registered.section("deliveries", lambda contact: [{"bulletin": "November", "to": contact.pk}])
    assert personal_data_for(me)["deliveries"] == [{"bulletin": "November", "to": me.pk}]
    assert cases.subject_access_data(me)["deliveries"] == [{"bulletin": "November", "to": me.pk}]


def test_a_section_may_not_hide_a_built_in_one(make_contact, registered):
    me = make_contact(email="me@example.org")
    registered.section("consent_history", lambda contact: [])
    with pytest.raises(ImproperlyConfigured):
        personal_data_for(me)


def test_unregistered_sections_are_gone(make_contact):
    me = make_contact(email="me@example.org")
    registry.register_personal_data_section("comments", lambda contact: ["hello"])
    registry.unregister_personal_data_section("comments")
    assert "comments" not in personal_data_for(me)


# --- the registry: erasure steps, on every path that deletes a person ------------------------

def _erase(person, survivor):
    erasure.erase_contact(contact=person, actor=Actor.system())
    return AuditEntry.objects.get(action="contact.erased", object_id=str(person.pk))


def _expire(person, survivor):
    with time_machine.travel(datetime(2026, 12, 5, 3, 17, tzinfo=LONDON), tick=False):
        retention.run_retention(actor=Actor.system())
    return AuditEntry.objects.get(action="contact.unconfirmed_expired", object_id=str(person.pk))


def _merge_away(person, survivor):
    merging.merge_contacts(survivor=survivor, duplicate=person, actor=Actor.system())
    return AuditEntry.objects.get(action="contact.merged_away", object_id=str(person.pk))


DELETING_PATHS = [pytest.param(_erase, id="erasure"), pytest.param(_expire, id="retention"),
                  pytest.param(_merge_away, id="merge")]


@pytest.fixture
def person_and_survivor(make_contact):
    """A web sign-up made on 1 November 2026 (expired by 5 December) and another confirmed record."""
    with time_machine.travel(datetime(2026, 11, 1, 10, 0, tzinfo=LONDON), tick=False):
        person = services.sign_up(email="pat.person@example.org", name="Pat Person", purposes=["bulletin"],
                                  actor=Actor.public("192.0.2.1")).contact
    return person, make_contact(email="survivor@example.org")


@pytest.mark.parametrize("delete", DELETING_PATHS)
def test_every_deleting_path_runs_the_steps_before_the_contact_goes_and_audits_their_counts(
        delete, person_and_survivor, registered):
    person, survivor = person_and_survivor
    seen = []

    def erase_deliveries(contact):
        seen.append((contact.pk, Contact.objects.filter(pk=contact.pk).exists(),
                     ConsentEvent.objects.filter(contact_id=contact.pk).count()))
        return {"deliveries": 12, "opens": 3}

    registered.step("deliveries", erase_deliveries)
    registered.step("comments", lambda contact: {"comments": 2})
    person_id = person.pk
    entry = delete(person, survivor)

    assert seen == [(person_id, True, 1)]  # once, while the person and their one "given" event still existed
    assert entry.changes["erased"]["deliveries"] == {"deliveries": 12, "opens": 3}
    assert entry.changes["erased"]["comments"] == {"comments": 2}
    assert not Contact.objects.filter(pk=person_id).exists()


@pytest.mark.parametrize("delete", DELETING_PATHS)
def test_a_failing_step_undoes_the_whole_deletion(delete, person_and_survivor, registered):
    person, survivor = person_and_survivor

    def broken(contact):
        raise RuntimeError("deliveries table unavailable")

    registered.step("deliveries", broken)
    entries_before = AuditEntry.objects.count()
    suppressions_before = Suppression.objects.count()
    with pytest.raises(RuntimeError):
        delete(person, survivor)
    assert Contact.objects.filter(pk=person.pk).exists()
    assert ConsentEvent.objects.filter(contact=person).count() == 1
    assert ConsentState.objects.get(contact=person).status == "pending"
    assert Suppression.objects.count() == suppressions_before
    assert AuditEntry.objects.count() == entries_before
    assert ConsentEvent.objects.filter(contact=survivor).count() == 1  # nothing was copied by the merge


def test_a_step_that_returns_anything_but_counts_is_refused(person_and_survivor, registered):
    person, _ = person_and_survivor
    registered.step("comments", lambda contact: {"author": contact.name})
    with pytest.raises(TypeError, match="comments"):
        erasure.erase_contact(contact=person, actor=Actor.system())
    assert Contact.objects.filter(pk=person.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_steps_run_inside_the_erasure_transaction(transactional_db, registered):
    """Outside any test transaction: the step sees an open atomic block, and a failure commits nothing."""
    person = services.sign_up(email="pat.person@example.org", name="Pat Person", purposes=["bulletin"],
                              actor=Actor.system()).contact
    in_transaction = []
    registered.step("deliveries", lambda contact: in_transaction.append(connection.in_atomic_block) or {"rows": 0})
    assert not connection.in_atomic_block
    erasure.erase_contact(contact=person, actor=Actor.system())
    assert in_transaction == [True]


def test_erasure_audit_entry_holds_counts_and_the_reason_only(make_contact, actor):
    me = make_contact(**REQUESTER, purposes=("bulletin", "events"))
    me_id = me.pk
    erasure.erase_contact(contact=me, actor=actor, reason="preference_centre")
    entry = AuditEntry.objects.get(action="contact.erased")
    assert entry.object_id == str(me_id) and entry.summary == "" and set(entry.changes) == {"reason", "erased"}
    assert entry.changes["reason"] == "preference_centre"
    assert entry.changes["erased"]["consent"] == {"events": 2, "states": 2}


@pytest.mark.django_db(transaction=True)
def test_delete_person_opens_its_own_transaction(transactional_db, registered, monkeypatch):
    """Called outside any transaction, a failure after the ledger rows went puts them all back."""
    person = services.add_contact_with_consent(email="pat.person@example.org", name="Pat Person", actor=Actor.system(),
                                               method="paper_form", purposes=["bulletin"], evidence_reference="sheet")
    registered.step("deliveries", lambda contact: {"deliveries": 0})

    def contact_delete_fails(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Contact, "delete", contact_delete_fails)
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError):
        erasure.delete_person(person)
    assert ConsentEvent.objects.filter(contact=person).count() == 1
    assert ConsentState.objects.filter(contact=person).count() == 1
    assert not ErasurePermit.objects.exists()
