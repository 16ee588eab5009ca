"""The set-based ledger writes (executemany INSERT/UPDATE instead of bulk_create/bulk_update) keep
the ledger's meaning: each event as the one-person path records it, each state row what its events
say, only changed rows written, the suppressed flag kept by the database triggers."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent import ledger, services
from consent.models import ConsentEvent, ConsentState, Purpose, Suppression
from consent.selectors import current_statement
from crm.audit import Actor
from crm.bulk_sql import in_list
from crm.models import Contact

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
EVENT_FIELDS = ("purpose_id", "action", "statement_id", "method", "recorded_by_id", "recorded_by_label",
                "occurred_at", "recorded_at", "evidence_reference")


def _event_row(event):
    return tuple(getattr(event, f) for f in EVENT_FIELDS)


@pytest.mark.parametrize("who", ["staff", "system"])
def test_insert_events_writes_what_new_event_and_save_write(make_contact, staff_user, who):
    actor = Actor.staff(staff_user("Engagement")) if who == "staff" else Actor.system()
    first, second = make_contact(purposes=()), make_contact(purposes=())
    purpose = Purpose.objects.get(code="events")
    statement = current_statement(purpose)
    occurred, now = datetime(2026, 11, 20, 12, tzinfo=LONDON), timezone.now()
    reference = "x" * 250  # longer than the column: cut to 200 both ways
    common = {"purpose": purpose, "action": "confirmed", "statement": statement, "method": "paper_form",
              "actor": actor, "occurred_at": occurred, "now": now, "evidence_reference": reference}
    ledger.new_event(contact_id=first.pk, **common).save(force_insert=True)
    ledger.insert_events(contact_ids=[second.pk], **common)
    by_orm = ConsentEvent.objects.get(contact=first, purpose=purpose)
    by_sql = ConsentEvent.objects.get(contact=second, purpose=purpose)
    assert _event_row(by_sql) == _event_row(by_orm)
    assert (by_sql.recorded_by_id is None) == (who == "system")
    assert len(by_sql.evidence_reference) == 200 and by_sql.occurred_at == occurred


def test_insert_events_with_nobody_writes_nothing(actor):
    purpose = Purpose.objects.get(code="bulletin")
    statement = current_statement(purpose)
    with CaptureQueriesContext(connection) as queries:
        ledger.insert_events(contact_ids=[], purpose=purpose, action="confirmed", statement=statement,
                             method="import", actor=actor, occurred_at=timezone.now(), now=timezone.now(),
                             evidence_reference="")
    assert len(queries) == 0


def test_refold_creates_updates_and_leaves_alone(make_contact, actor):
    """Three people, hand-written ledgers: a new pair gets a row, a changed one is rewritten, an
    unchanged one is not written at all."""
    purpose = Purpose.objects.get(code="events")
    statement = current_statement(purpose)
    new, changed, same = (make_contact(purposes=("bulletin",)) for _ in range(3))
    services.record_consent_for_many(contact_ids=[changed.pk, same.pk], purpose=purpose, action="confirmed",
                                     method="paper_form", actor=actor, occurred_at=timezone.now() - timedelta(days=3))
    before = {s.contact_id: s for s in ConsentState.objects.filter(purpose=purpose)}
    earlier, later = timezone.now() - timedelta(days=2), timezone.now() - timedelta(days=1)
    ledger.insert_events(contact_ids=[new.pk], purpose=purpose, action="given", statement=statement,
                         method="paper_form", actor=actor, occurred_at=earlier, now=timezone.now(),
                         evidence_reference="")
    ledger.insert_events(contact_ids=[changed.pk], purpose=purpose, action="withdrawn", statement=statement,
                         method="phone", actor=actor, occurred_at=later, now=timezone.now(), evidence_reference="")
    with CaptureQueriesContext(connection) as queries:
        folds = ledger.refold([(new.pk, purpose.pk), (changed.pk, purpose.pk), (same.pk, purpose.pk)])
    # Django logs an executemany as "<n> times: <sql>": one INSERT of one row (the new pair), one
    # UPDATE of one row (the changed pair), nothing for the unchanged one.
    writes = {}
    for query in queries.captured_queries:
        times, _, sql = query["sql"].partition(" times: ") if " times: " in query["sql"] else ("1", "", query["sql"])
        verb = sql.lstrip().split(" ", 1)[0].upper()
        if verb in {"INSERT", "UPDATE"} and "consent_consentstate" in sql:
            writes[verb] = writes.get(verb, 0) + int(times)
    assert writes == {"INSERT": 1, "UPDATE": 1}
    after = {s.contact_id: s for s in ConsentState.objects.filter(purpose=purpose)}
    assert after[new.pk].status == "pending" and after[new.pk].since == earlier
    assert after[changed.pk].status == "withdrawn" and after[changed.pk].since == later
    assert after[same.pk].status == "granted"
    assert (after[same.pk].since, after[same.pk].last_event_id) == (before[same.pk].since,
                                                                    before[same.pk].last_event_id)
    last_event = ConsentEvent.objects.filter(contact=changed, purpose=purpose).latest("occurred_at", "id")
    assert after[changed.pk].last_event_id == last_event.pk
    assert folds[(new.pk, purpose.pk)][0] == "pending" and folds[(changed.pk, purpose.pk)][0] == "withdrawn"


def test_refold_of_a_new_row_for_a_suppressed_address_is_flagged_by_the_trigger(make_contact, actor):
    contact = make_contact(email="bounced@example.org", purposes=())
    services.suppress_address(email="bounced@example.org", reason="hard_bounce", actor=actor, purpose="events")
    purpose = Purpose.objects.get(code="events")
    assert not ConsentState.objects.filter(contact=contact, purpose=purpose).exists()
    ledger.insert_events(contact_ids=[contact.pk], purpose=purpose, action="given",
                         statement=current_statement(purpose), method="paper_form", actor=actor,
                         occurred_at=timezone.now(), now=timezone.now(), evidence_reference="")
    ledger.refold([(contact.pk, purpose.pk)])
    state = ConsentState.objects.get(contact=contact, purpose=purpose)
    assert state.status == "pending" and state.suppressed is True


def test_in_list_matches_exactly_the_values_given(make_contact):
    people = [make_contact(email=f"in.list{i}@example.org") for i in range(4)]
    wanted = [people[0].pk, people[2].pk, 99999999]
    assert set(Contact.objects.filter(in_list(Contact, "id", wanted)).values_list("pk", flat=True)) == {
        people[0].pk, people[2].pk}
    assert not Contact.objects.filter(in_list(Contact, "id", [])).exists()
    # with a join in the same query the column stays the right table's
    codes = set(ConsentState.objects.filter(in_list(ConsentState, "contact_id", [people[1].pk])).values_list(
        "purpose__code", flat=True))
    assert codes == {"bulletin"}
    assert not Suppression.objects.filter(in_list(Suppression, "address_hash", ["not-a-hash"])).exists()
