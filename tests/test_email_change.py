"""A staff change of someone's email address does not carry consent to the new address.

The new address must confirm (a confirmation email goes there, and only there); granted purposes
wait, recorded as ledger events (the earlier events are untouched); a suppressed address is refused
with a field error; the old address and every link sent to it reach nothing.
"""

import pytest
from django.core import mail
from django.urls import reverse

from consent import addresses, selectors, services
from consent.models import ConsentEvent, ConsentState, Suppression
from consent.tokens import personal_link_tokens
from crm.audit import Actor
from crm.models import AuditEntry, Contact
from crm.normalise import address_hash
from crm.roles import COMMUNICATIONS, DATA_PROTECTION, ENGAGEMENT
from tests.public_support import last_link

pytestmark = pytest.mark.django_db

OLD, NEW = "old.address@example.org", "new.address@example.org"


def edit_form(contact, **overrides) -> dict:
    data = {"name": contact.name, "email": contact.email, "postcode": contact.postcode, "kind": contact.kind,
            "preferred_language": contact.preferred_language}
    data.update(overrides)
    return data


def statuses(contact) -> dict[str, str]:
    return dict(ConsentState.objects.filter(contact=contact).values_list("purpose__code", "status"))


def ledger_rows(contact) -> list[tuple]:
    return list(ConsentEvent.objects.filter(contact=contact).order_by("id").values_list(
        "id", "purpose__code", "action", "method", "statement_id", "occurred_at", "recorded_at", "evidence_reference"))


@pytest.fixture
def person(make_contact, actor):
    """Granted for the e-bulletin and events, withdrawn from involvement (all from the old address)."""
    contact = make_contact(email=OLD, name="Olwen Address", purposes=("bulletin", "events", "involvement"))
    services.withdraw(contact=contact, purpose="involvement", method="phone", actor=actor, evidence_reference="call 3")
    mail.outbox.clear()
    return contact


@pytest.fixture
def change_by_staff(staff_client, django_capture_on_commit_callbacks):
    client = staff_client(ENGAGEMENT)

    def post(contact, email):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("consent_staff:contact_edit", args=[contact.public_id]),
                               edit_form(contact, email=email))

    post.client = client
    return post


def test_granted_consent_waits_for_a_confirmation_from_the_new_address(person, change_by_staff, client):
    before = ledger_rows(person)
    assert statuses(person) == {"bulletin": "granted", "events": "granted", "involvement": "withdrawn"}

    response = change_by_staff(person, NEW)

    assert response.status_code == 302
    person.refresh_from_db()
    assert person.email_normalised == NEW
    assert statuses(person) == {"bulletin": "pending", "events": "pending", "involvement": "withdrawn"}
    rows = ledger_rows(person)
    assert rows[: len(before)] == before  # earlier events untouched: the change is new events only
    added = ConsentEvent.objects.filter(contact=person).exclude(pk__in=[row[0] for row in before])
    assert sorted(added.values_list("purpose__code", "action", "method")) == [
        ("bulletin", "new_address", "staff_on_request"), ("events", "new_address", "staff_on_request")]
    assert {e.recorded_by for e in added} == {change_by_staff.client.user}
    assert not selectors.contacts_reachable_for(purpose="bulletin").filter(pk=person.pk).exists()
    assert not selectors.contacts_reachable_for(purpose="events").filter(pk=person.pk).exists()

    # One email, a confirmation, to the new address only.
    assert [m.to for m in mail.outbox] == [[NEW]]
    confirm_path = last_link("confirm")
    assert client.get(confirm_path).status_code == 200
    assert client.post(confirm_path).status_code == 200
    assert statuses(person) == {"bulletin": "granted", "events": "granted", "involvement": "withdrawn"}
    assert selectors.contacts_reachable_for(purpose="bulletin").filter(pk=person.pk).exists()
    confirmed = ConsentEvent.objects.filter(contact=person, action="confirmed", method="email_confirmation")
    assert sorted(confirmed.values_list("purpose__code", flat=True)) == ["bulletin", "events"]


def test_the_change_is_audited_without_either_address(person, change_by_staff):
    change_by_staff(person, NEW)
    entries = AuditEntry.objects.filter(object_type="crm.contact", object_id=str(person.pk))
    actions = set(entries.values_list("action", flat=True))
    assert {"contact.email_changed", "contact.personal_links_invalidated",
            "contact.email_change_needs_confirmation", "consent.new_address"} <= actions
    waiting = entries.get(action="contact.email_change_needs_confirmation")
    assert waiting.changes == {"purposes_awaiting_confirmation": ["bulletin", "events"]}
    text = " ".join(f"{e.summary} {e.changes}" for e in entries)
    assert "old.address" not in text and "new.address" not in text


def test_a_withdrawal_follows_the_person_to_the_new_address(person, change_by_staff):
    change_by_staff(person, NEW)
    suppressed = Suppression.objects.filter(address_hash=address_hash(NEW), lifted_at__isnull=True)
    assert list(suppressed.values_list("purpose__code", "reason")) == [("involvement", "withdrawal")]


def test_the_old_address_and_links_sent_to_it_reach_nothing(make_contact, change_by_staff):
    person = make_contact(email=OLD, purposes=("bulletin",))  # nothing withdrawn: the old address is not suppressed
    links = {kind: personal_link_tokens.make_token(person, kind) for kind in ("preferences", "unsubscribe", "confirm")}
    assert change_by_staff(person, NEW).status_code == 302
    for kind, token in links.items():
        assert personal_link_tokens.check_token(token, kind) is None, kind
    assert not Contact.objects.filter(email_normalised=OLD).exists()
    mail.outbox.clear()
    assert services.request_preferences_link(email=OLD, actor=Actor.public("192.0.2.4")) is False
    assert mail.outbox == []

    # Changing the address back does not bring the old links back to life.
    person.refresh_from_db()
    assert change_by_staff(person, OLD).status_code == 302
    person.refresh_from_db()
    assert person.email_normalised == OLD
    for kind, token in links.items():
        assert personal_link_tokens.check_token(token, kind) is None, kind


def test_an_address_the_person_withdrew_from_is_suppressed_so_it_cannot_come_back(person, change_by_staff):
    """Olwen withdrew from involvement at the old address: that address is now suppressed, and refused."""
    change_by_staff(person, NEW)
    person.refresh_from_db()
    refused = change_by_staff(person, OLD)
    assert refused.status_code == 200 and "This address is suppressed" in refused.content.decode()


def test_a_pending_sign_up_gets_its_confirmation_at_the_new_address_only(change_by_staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pending = services.sign_up(email=OLD, name="Olwen Address", purposes=["bulletin"],
                                   actor=Actor.public("192.0.2.5")).contact
    old_link = last_link("confirm")
    mail.outbox.clear()
    change_by_staff(pending, NEW)
    assert statuses(pending) == {"bulletin": "pending"}
    assert not ConsentEvent.objects.filter(contact=pending, action="new_address").exists()  # nothing was granted
    assert [m.to for m in mail.outbox] == [[NEW]] and last_link("confirm") != old_link


@pytest.mark.parametrize("purpose", [None, "bulletin"])
def test_a_suppressed_address_is_refused_with_a_field_error(person, change_by_staff, actor, purpose):
    services.suppress_address(email="Bounced@Example.org", reason="hard_bounce", actor=actor, purpose=purpose)
    before, entries_before = ledger_rows(person), AuditEntry.objects.count()

    response = change_by_staff(person, "bounced@example.org")

    html = response.content.decode()
    assert response.status_code == 200 and "This address is suppressed" in html and 'href="#id_email"' in html
    person.refresh_from_db()
    assert person.email_normalised == OLD and ledger_rows(person) == before
    assert statuses(person) == {"bulletin": "granted", "events": "granted", "involvement": "withdrawn"}
    assert AuditEntry.objects.count() == entries_before and mail.outbox == []


def test_the_service_refuses_a_suppressed_address_whoever_calls_it(person, actor):
    services.suppress_address(email="complained@example.org", reason="complaint", actor=actor)
    with pytest.raises(addresses.AddressRefused) as refused:
        addresses.change_email_address(contact=person, email="complained@example.org", actor=actor)
    assert "email" in refused.value.message_dict
    person.refresh_from_db()
    assert person.email_normalised == OLD


def test_another_persons_address_is_refused(person, make_contact, change_by_staff):
    make_contact(email="taken@example.org")
    response = change_by_staff(person, "Taken@example.org")
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert statuses(person)["bulletin"] == "granted"


def test_the_same_mailbox_written_differently_changes_no_consent(person, change_by_staff):
    before = ledger_rows(person)
    change_by_staff(person, "Old.Address@Example.ORG")
    person.refresh_from_db()
    assert person.email == "Old.Address@Example.ORG" and ledger_rows(person) == before
    assert statuses(person)["bulletin"] == "granted" and mail.outbox == []


@pytest.mark.parametrize("role", [COMMUNICATIONS, DATA_PROTECTION])
def test_roles_without_change_contact_cannot_change_an_address(person, staff_client, role):
    response = staff_client(role).post(reverse("consent_staff:contact_edit", args=[person.public_id]),
                                       edit_form(person, email=NEW))
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.email_normalised == OLD and statuses(person)["bulletin"] == "granted"
