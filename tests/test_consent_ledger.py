from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from consent import erasure, selectors, services
from consent.models import ConsentEvent, ConsentState, ConsentStatement, Purpose, Suppression
from crm.audit import Actor
from crm.models import Contact
from crm.normalise import normalise_email
from tests.erasure_support import assert_no_trace, table_rows

pytestmark = pytest.mark.django_db


def test_email_normalisation_merges_case_and_idn_variants():
    assert normalise_email("  Alice@Example.ORG ") == normalise_email("alice@example.org")
    assert normalise_email("bob@MÜNCHEN.de") == normalise_email("Bob@xn--mnchen-3ya.de")


@pytest.mark.parametrize("variant", ["PERSON@EXAMPLE.org", " person@example.ORG", "Person@Example.Org"])
def test_case_variants_rejected_as_one_person(make_contact, variant):
    make_contact(email="person@example.org")
    with pytest.raises(services.crm_services.DuplicateContact):
        make_contact(email=variant)
    assert Contact.objects.count() == 1


def test_idn_variant_rejected_as_one_person(make_contact):
    make_contact(email="ann@bücher.example")
    with pytest.raises(services.crm_services.DuplicateContact):
        make_contact(email="ANN@xn--bcher-kva.example")


def test_database_rejects_update_of_consent_event(make_contact):
    contact = make_contact()
    event = ConsentEvent.objects.get(contact=contact)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE consent_consentevent SET action = 'withdrawn' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.action == "confirmed"


def test_database_rejects_delete_of_consent_event(make_contact):
    contact = make_contact()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM consent_consentevent WHERE contact_id = %s", [contact.pk])
    assert ConsentEvent.objects.filter(contact=contact).count() == 1


def test_orm_cannot_edit_an_event_either(make_contact):
    event = ConsentEvent.objects.get(contact=make_contact())
    event.evidence_reference = "tampered"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()


def test_published_statement_is_immutable():
    statement = selectors.current_statement("bulletin")
    statement.text = "Something else entirely"
    with pytest.raises(DatabaseError), transaction.atomic():
        statement.save()


def test_withdrawal_cannot_be_undone_by_staff_or_import(make_contact, actor):
    contact = make_contact()
    services.withdraw(contact=contact, purpose="bulletin", method="one_click_unsubscribe", actor=Actor.public())
    for method in ("paper_form", "phone", "import", "staff_on_request", "event", "web_form", "api"):
        with pytest.raises(services.ConsentRefused):
            services.record_consent(contact=contact, purpose="bulletin", action="confirmed", method=method, actor=actor)
    assert ConsentState.objects.get(contact=contact, purpose__code="bulletin").status == "withdrawn"
    assert not selectors.contacts_reachable_for(purpose="bulletin").filter(pk=contact.pk).exists()


def test_persons_own_confirmed_sign_up_restores_after_withdrawal(make_contact, public_actor):
    contact = make_contact()
    services.withdraw(contact=contact, purpose="bulletin", method="one_click_unsubscribe", actor=public_actor)
    assert Suppression.objects.filter(address_hash=contact.email_hash, lifted_at__isnull=True).exists()
    services.update_purposes_from_preference_centre(
        contact=contact, wanted={"bulletin"}, offered={"bulletin"}, actor=public_actor
    )
    assert selectors.contacts_reachable_for(purpose="bulletin").filter(pk=contact.pk).exists()
    assert not Suppression.objects.filter(address_hash=contact.email_hash, lifted_at__isnull=True).exists()


def test_reachability_at_date_across_give_withdraw_give(make_contact, actor, public_actor):
    start = timezone.now() - timedelta(days=30)
    contact = make_contact(purposes=(), occurred_at=None)
    statement_v1 = selectors.current_statement("bulletin")
    services.record_consent(contact=contact, purpose="bulletin", action="confirmed", method="paper_form",
                            actor=actor, occurred_at=start, evidence_reference="form 1")
    services.record_consent(contact=contact, purpose="bulletin", action="withdrawn", method="phone",
                            actor=actor, occurred_at=start + timedelta(days=10))
    statement_v2 = ConsentStatement.objects.create(
        purpose=Purpose.objects.get(code="bulletin"), version=2, text="New wording", published_at=timezone.now()
    )
    services.record_consent(contact=contact, purpose="bulletin", action="confirmed", method="preference_centre",
                            actor=public_actor, occurred_at=start + timedelta(days=20))

    def at(days):
        return selectors.reachability_at(contact=contact, purpose="bulletin", at=start + timedelta(days=days))

    assert not selectors.reachability_at(contact=contact, purpose="bulletin", at=start - timedelta(days=1)).reachable
    assert at(5).reachable and at(5).statement == statement_v1
    assert not at(15).reachable and at(15).status == "withdrawn"
    assert at(25).reachable and at(25).statement == statement_v2


def test_state_unique_per_contact_and_purpose(make_contact):
    contact = make_contact()
    state = ConsentState.objects.get(contact=contact)
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentState.objects.create(contact=contact, purpose=state.purpose, status="granted",
                                    statement=state.statement, since=timezone.now(), last_event=state.last_event)


def test_erasure_leaves_only_suppression_and_blocks_staff_re_add(make_contact, actor):
    before = table_rows()
    contact = make_contact(email="erase.me@example.org", name="Zebedee Quux", postcode="L23 0QB")
    erasure.erase_contact(contact=contact, actor=actor)
    assert not Contact.objects.exists()
    assert not ConsentEvent.objects.exists()
    # Nothing whole or partial is left: L23 is the outward code, Crosby its locality, erase.me the local part.
    assert_no_trace(before=before, whole=["erase.me@example.org", "Zebedee Quux", "L23 0QB", contact.public_id.hex],
                    partial=["erase.me", "Zebedee", "Quux", "L23", "0QB", "Crosby"])
    with pytest.raises(services.AddressSuppressed):
        make_contact(email="Erase.Me@example.org")
