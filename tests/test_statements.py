"""Consent wording: draft, edit the draft, publish (then immutable), and who rests on which version."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.urls import reverse

from consent import services, statements
from consent.models import ConsentEvent, ConsentStatement, Purpose
from consent.selectors import current_statement
from crm.models import AuditEntry
from crm.roles import DATA_PROTECTION, ENGAGEMENT

pytestmark = pytest.mark.django_db


def test_draft_edit_publish_and_new_consents_use_the_new_wording(make_contact, actor):
    purpose = Purpose.objects.get(code="bulletin")
    v1 = current_statement(purpose)
    draft = statements.draft_statement(purpose=purpose, text="First draft", actor=actor)
    assert draft.version == v1.version + 1 and not draft.is_published
    assert current_statement(purpose) == v1  # a draft is never used
    with pytest.raises(ValidationError):
        statements.draft_statement(purpose=purpose, text="A second draft", actor=actor)
    statements.edit_draft(statement=draft, text="Final wording", actor=actor)
    statements.publish_statement(statement=draft, actor=actor)
    assert current_statement(purpose).text == "Final wording"
    contact = make_contact()
    assert ConsentEvent.objects.get(contact=contact).statement == draft

    with pytest.raises(ValidationError):
        statements.edit_draft(statement=draft, text="Changed after publishing", actor=actor)
    draft.text = "Tampered"
    with pytest.raises(DatabaseError), transaction.atomic():
        draft.save()  # the database refuses too
    actions = list(AuditEntry.objects.filter(object_type="consent.consentstatement").values_list("action", flat=True))
    assert sorted(actions) == ["statement.drafted", "statement.edited", "statement.published"]


def test_list_counts_people_on_each_version(make_contact, actor):
    purpose = Purpose.objects.get(code="bulletin")
    old = current_statement(purpose)
    early = [make_contact() for _ in range(2)]
    services.withdraw(contact=early[0], purpose="bulletin", method="phone", actor=actor)
    new = statements.draft_statement(purpose=purpose, text="Version two", actor=actor)
    statements.publish_statement(statement=new, actor=actor)
    make_contact()
    usage = {u.statement.pk: u for p, versions in statements.statements_with_usage() if p == purpose for u in versions}
    assert (usage[old.pk].granted, usage[old.pk].withdrawn) == (1, 1)
    assert (usage[new.pk].granted, usage[new.pk].total) == (1, 1)


def test_statement_pages(staff_client):
    client = staff_client(DATA_PROTECTION)
    purpose = Purpose.objects.get(code="events")
    listing = client.get(reverse("consent_staff:statements")).content.decode()
    assert purpose.name in listing and current_statement(purpose).text[:40] in listing

    empty = client.post(reverse("consent_staff:statement_new", args=["events"]), {"text": "  "})
    assert "Enter the wording people will agree to" in empty.content.decode()
    created = client.post(reverse("consent_staff:statement_new", args=["events"]), {"text": "New events wording"})
    draft = ConsentStatement.objects.get(text="New events wording")
    assert created.status_code == 302 and draft.created_by == client.user
    # A second "new" goes to the existing draft rather than making another.
    assert client.get(reverse("consent_staff:statement_new", args=["events"]))["Location"] == reverse(
        "consent_staff:statement_edit", args=[draft.pk])
    client.post(reverse("consent_staff:statement_edit", args=[draft.pk]), {"text": "Better events wording"})
    detail = client.get(reverse("consent_staff:statement", args=[draft.pk])).content.decode()
    assert "Better events wording" in detail and reverse("consent_staff:statement_edit", args=[draft.pk]) in detail

    asked = client.get(reverse("consent_staff:statement_publish", args=[draft.pk])).content.decode()
    assert "can never be changed" in asked
    client.post(reverse("consent_staff:statement_publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.is_published and draft.published_by == client.user
    # Published: no edit offered, and the edit URL sends you back.
    detail = client.get(reverse("consent_staff:statement", args=[draft.pk])).content.decode()
    assert reverse("consent_staff:statement_edit", args=[draft.pk]) not in detail
    assert client.get(reverse("consent_staff:statement_edit", args=[draft.pk])).status_code == 302
    client.post(reverse("consent_staff:statement_edit", args=[draft.pk]), {"text": "Sneaky"})
    draft.refresh_from_db()
    assert draft.text == "Better events wording"


def test_engagement_can_read_wording_but_not_draft_or_publish(staff_client, actor):
    draft = statements.draft_statement(purpose=Purpose.objects.get(code="events"), text="Draft", actor=actor)
    client = staff_client(ENGAGEMENT)
    assert client.get(reverse("consent_staff:statements")).status_code == 200
    listing = client.get(reverse("consent_staff:statements")).content.decode()
    assert reverse("consent_staff:statement_new", args=["events"]) not in listing
    assert client.get(reverse("consent_staff:statement_new", args=["events"])).status_code == 403
    assert client.post(reverse("consent_staff:statement_publish", args=[draft.pk])).status_code == 403
    draft.refresh_from_db()
    assert not draft.is_published
