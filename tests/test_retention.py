"""Retention: unconfirmed sign-ups go after 30 days, but consent recorded with evidence counts as
confirmation, so a person staff confirmed is never deleted by the nightly run.

Time is frozen explicitly: the sign-ups happen on 1 October 2026, retention runs on 1 November
(31 days later) and, for the boundary, on 30 October (29 days later).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from consent import retention, services, tasks
from consent.models import ConsentEvent, ConsentState
from crm.audit import Actor
from crm.models import AuditEntry, Contact
from crm.roles import ENGAGEMENT

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
SIGN_UP_DAY = datetime(2026, 10, 1, 9, 30, tzinfo=LONDON)
THIRTY_ONE_DAYS_LATER = datetime(2026, 11, 1, 3, 17, tzinfo=LONDON)
TWENTY_NINE_DAYS_LATER = datetime(2026, 10, 30, 3, 17, tzinfo=LONDON)


def web_sign_up(email: str) -> Contact:
    return services.sign_up(email=email, name="Sam Signup", purposes=["bulletin", "events"],
                            actor=Actor.public("192.0.2.10")).contact


@pytest.fixture
def staff(staff_user):
    return Actor.staff(staff_user(ENGAGEMENT), "192.0.2.20")


@pytest.fixture
def sign_ups(staff, make_contact):
    """On 1 October: five people, each confirmed (or not) a different way."""
    with time_machine.travel(SIGN_UP_DAY, tick=False):
        people = {
            "nothing_confirmed": web_sign_up("never.clicked@example.org"),
            "staff_confirmed": web_sign_up("told.staff@example.org"),
            "staff_confirmed_then_withdrew": web_sign_up("changed.mind@example.org"),
            "staff_said_given_without_confirming": web_sign_up("only.given@example.org"),
            "staff_created": make_contact(email="paper.form@example.org"),
        }
    with time_machine.travel(datetime(2026, 10, 12, 14, 0, tzinfo=LONDON), tick=False):
        for key in ("staff_confirmed", "staff_confirmed_then_withdrew"):
            services.record_consent(contact=people[key], purpose="bulletin", action="confirmed", method="phone",
                                    actor=staff, evidence_reference="phone log 2026-10-12")
        services.withdraw(contact=people["staff_confirmed_then_withdrew"], purpose="bulletin", method="phone",
                          actor=staff, evidence_reference="phone log 2026-10-13")
        # A staff "given" (awaiting confirmation) is not a grant: this sign-up is still unconfirmed.
        services.record_consent(contact=people["staff_said_given_without_confirming"], purpose="events",
                                action="given", method="paper_form", actor=staff, evidence_reference="sheet 4")
    return people


KEPT = {"staff_confirmed", "staff_confirmed_then_withdrew", "staff_created"}


def remaining(people) -> set[str]:
    return {key for key, contact in people.items() if Contact.objects.filter(pk=contact.pk).exists()}


def test_staff_recorded_consent_with_evidence_counts_as_confirmation(sign_ups):
    with time_machine.travel(THIRTY_ONE_DAYS_LATER, tick=False):
        run = retention.run_retention(actor=Actor.system())
    assert run.deleted_unconfirmed == 2  # nothing_confirmed and staff_said_given_without_confirming
    assert remaining(sign_ups) == KEPT


def test_a_deleted_sign_up_leaves_an_audit_entry_with_counts_only(sign_ups):
    with time_machine.travel(THIRTY_ONE_DAYS_LATER, tick=False):
        retention.run_retention(actor=Actor.system())
    gone = sign_ups["nothing_confirmed"]
    assert not ConsentEvent.objects.filter(contact_id=gone.pk).exists()
    entry = AuditEntry.objects.get(action="contact.unconfirmed_expired", object_id=str(gone.pk))
    assert entry.changes["erased"]["consent"] == {"events": 2, "states": 2}  # given for bulletin and events


def test_nothing_is_deleted_before_thirty_days(sign_ups):
    with time_machine.travel(TWENTY_NINE_DAYS_LATER, tick=False):
        assert retention.delete_expired_sign_ups(actor=Actor.system()) == 0
        assert retention.expired_unconfirmed_sign_ups().count() == 0
    assert len(remaining(sign_ups)) == 5


def test_the_dashboard_counts_do_not_list_staff_confirmed_people_as_unconfirmed(sign_ups):
    """Two web sign-ups are unconfirmed (never clicked; only "given" by staff); the staff-confirmed two are not."""
    unconfirmed = set(retention.unconfirmed_sign_ups().values_list("email_normalised", flat=True))
    assert unconfirmed == {"never.clicked@example.org", "only.given@example.org"}
    with time_machine.travel(THIRTY_ONE_DAYS_LATER, tick=False):
        assert retention.expired_unconfirmed_sign_ups().count() == 2


def test_staff_created_contacts_are_confirmed_when_created(sign_ups):
    created = sign_ups["staff_created"]
    assert created.source == "staff" and created.confirmed_at == SIGN_UP_DAY
    assert ConsentState.objects.get(contact=created).status == "granted"


def test_the_nightly_task_keeps_staff_confirmed_people(sign_ups):
    with time_machine.travel(THIRTY_ONE_DAYS_LATER, tick=False):
        assert tasks.delete_expired_sign_ups.call_local() == 2
    assert remaining(sign_ups) == KEPT
