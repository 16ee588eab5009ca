"""Who may be emailed for a purpose now: contacts_reachable_for, reachable_contact_ids, is_reachable.

Expected answers are written out by hand from the rule "granted, and the address not suppressed
for that purpose"; they never come from the selectors under test.
"""

import pytest
from django.db import connection
from django.utils import timezone

from consent import selectors, services
from consent.models import ConsentState, Purpose, Suppression
from crm.audit import Actor
from crm.models import Contact

pytestmark = pytest.mark.django_db


def _raw_suppress(contact, code):
    """A suppression written straight to the table, as old data, a loader or another app might:
    the contact's state rows are NOT touched by any service here."""
    Suppression.objects.create(address_hash=contact.email_hash, purpose=Purpose.objects.get(code=code),
                               reason=Suppression.Reason.HARD_BOUNCE, created_at=timezone.now())


@pytest.fixture
def people(make_contact, public_actor):
    """Six people and, by hand, whether each may get the bulletin."""
    granted = make_contact(email="granted@example.org")
    events_only = make_contact(email="events@example.org", purposes=("events",))
    withdrawn = make_contact(email="withdrawn@example.org")
    services.withdraw(contact=withdrawn, purpose="bulletin", method="phone", actor=Actor.system())
    pending = services.sign_up(email="pending@example.org", name="Pending Person", purposes=["bulletin"],
                               actor=public_actor).contact
    # Granted (or pending) while the address is suppressed: the case no earlier test data had.
    granted_but_suppressed = make_contact(email="granted.suppressed@example.org", purposes=("bulletin", "events"))
    _raw_suppress(granted_but_suppressed, "bulletin")
    pending_but_suppressed = services.sign_up(email="pending.suppressed@example.org", name="P S",
                                              purposes=["bulletin"], actor=public_actor).contact
    _raw_suppress(pending_but_suppressed, "bulletin")
    return {
        "granted": (granted, True), "events_only": (events_only, False), "withdrawn": (withdrawn, False),
        "pending": (pending, False), "granted_but_suppressed": (granted_but_suppressed, False),
        "pending_but_suppressed": (pending_but_suppressed, False),
    }


def test_the_suppressed_state_really_says_granted(people):
    """The data really is the dangerous case: the ledger's own state still says granted."""
    contact, _ = people["granted_but_suppressed"]
    assert ConsentState.objects.get(contact=contact, purpose__code="bulletin").status == "granted"


def test_contacts_reachable_for_bulletin_is_exactly_the_granted_unsuppressed(people):
    expected = {people["granted"][0].pk}
    assert set(selectors.contacts_reachable_for(purpose="bulletin").values_list("pk", flat=True)) == expected
    assert selectors.contacts_reachable_for(purpose="bulletin").count() == 1


def test_suppression_for_one_purpose_leaves_the_other(people):
    contact, _ = people["granted_but_suppressed"]
    events = set(selectors.contacts_reachable_for(purpose="events").values_list("pk", flat=True))
    assert events == {contact.pk, people["events_only"][0].pk}


def test_reachable_contact_ids_and_is_reachable_agree_with_the_table(people):
    ids = [contact.pk for contact, _ in people.values()] + [987654321]  # and an id that names nobody
    expected = {contact.pk for contact, reachable in people.values() if reachable}
    assert selectors.reachable_contact_ids(contact_ids=ids, purpose="bulletin") == expected
    for name, (contact, reachable) in people.items():
        assert selectors.is_reachable(contact_id=contact.pk, purpose="bulletin") is reachable, name
    assert selectors.reachable_contact_ids(contact_ids=[], purpose="bulletin") == set()


def test_reachable_contact_ids_is_one_query(people, django_assert_num_queries):
    ids = [contact.pk for contact, _ in people.values()]
    with django_assert_num_queries(1):
        selectors.reachable_contact_ids(contact_ids=ids, purpose="bulletin")


def test_unsubscribe_mid_send_is_seen_by_the_batch_recheck(people, public_actor):
    contact, _ = people["granted"]
    services.unsubscribe_one_click(contact=contact, actor=public_actor)
    assert selectors.reachable_contact_ids(contact_ids=[contact.pk], purpose="bulletin") == set()


def test_lifting_the_raw_suppression_makes_them_reachable_again(people):
    contact, _ = people["granted_but_suppressed"]
    Suppression.objects.filter(address_hash=contact.email_hash).update(lifted_at=timezone.now())
    assert selectors.is_reachable(contact_id=contact.pk, purpose="bulletin")


def test_reachable_queryset_has_no_ordering_and_works_inside_insert_select(people):
    """Bulletins fan out with INSERT … SELECT from this queryset: no ORDER BY, no join by purpose code."""
    qs = selectors.contacts_reachable_for(purpose="bulletin")
    assert not qs.query.order_by and not qs.ordered
    sql, params = qs.values("pk").query.sql_with_params()
    assert "ORDER BY" not in sql.upper()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE reach_probe (contact_id integer)")
        cursor.execute(f"INSERT INTO reach_probe (contact_id) {sql}", params)  # noqa: S608 - our own SQL
        cursor.execute("SELECT contact_id FROM reach_probe")
        assert {row[0] for row in cursor.fetchall()} == {people["granted"][0].pk}
        cursor.execute("DROP TABLE reach_probe")


def test_email_change_onto_a_suppressed_address_is_unreachable(people):
    """However the address changes (here a plain UPDATE), the new address's suppression applies."""
    contact, _ = people["granted"]
    Suppression.objects.create(address_hash="f" * 64, purpose=Purpose.objects.get(code="bulletin"),
                               reason=Suppression.Reason.COMPLAINT, created_at=timezone.now())
    Contact.objects.filter(pk=contact.pk).update(email_hash="f" * 64)
    assert not selectors.is_reachable(contact_id=contact.pk, purpose="bulletin")
    Contact.objects.filter(pk=contact.pk).update(email_hash=contact.email_hash)
    assert selectors.is_reachable(contact_id=contact.pk, purpose="bulletin")
