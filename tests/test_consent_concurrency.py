"""Consent under concurrency: real concurrent connections race on one person, many times.

On PostgreSQL each round runs two threads, each with its own database connection, released
together by a barrier: confirm against one-click unsubscribe, a preference-centre save against
one-click unsubscribe, and two sign-ups of one new address. Afterwards every call has succeeded,
every state row equals the fold of its own ledger, suppression follows that fold, and the audit
chain is intact. Before the contact row was locked first, the same races left states that
disagreed with their ledger, suppressions lifted by an earlier confirmation, and "deadlock
detected" errors (a preference save held the audit lock and waited for a state row that the
unsubscribe held while it waited for the audit lock).

SQLite serialises writers (IMMEDIATE transactions), so there the same scenarios run one after the
other in both orders, with the same checks.
"""

import threading

import pytest
from django.db import connection, connections

from consent import services
from consent.models import ConsentEvent, ConsentState, Suppression
from crm.audit import Actor, first_broken_link
from crm.models import Contact, Topic

ROUNDS = 40
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="real row locks: PostgreSQL only")
on_sqlite = pytest.mark.skipif(connection.vendor == "postgresql", reason="the sequential version, for SQLite")


def expected_status(events) -> str | None:
    """The ledger's rule, written out here independently of consent.selectors.fold_status: in occurrence
    order, a confirmation grants, a withdrawal withdraws, and a gift is pending unless already granted."""
    status = None
    for action in [e.action for e in sorted(events, key=lambda e: (e.occurred_at, e.pk))]:
        if action == "confirmed":
            status = "granted"
        elif action == "withdrawn":
            status = "withdrawn"
        elif action == "given":
            status = "granted" if status == "granted" else "pending"
    return status


def assert_ledger_consistent(contacts):
    for contact in contacts:
        events = list(ConsentEvent.objects.filter(contact=contact))
        states = {s.purpose_id: s for s in ConsentState.objects.filter(contact=contact)}
        for purpose_id in {e.purpose_id for e in events}:
            want = expected_status([e for e in events if e.purpose_id == purpose_id])
            state = states[purpose_id]
            assert state.status == want, f"contact {contact.pk}: state {state.status}, ledger says {want}"
            suppressed = Suppression.objects.filter(address_hash=contact.email_hash, purpose_id=purpose_id,
                                                    lifted_at__isnull=True).exists()
            assert suppressed == (want == "withdrawn"), f"contact {contact.pk}: suppression {suppressed}, {want}"
            assert state.suppressed == suppressed
    assert first_broken_link() is None


def race(first, second):
    """Run two callables at once on two connections; return the exceptions raised (none expected)."""
    barrier = threading.Barrier(2)
    failures = []

    def run(call):
        try:
            barrier.wait(timeout=10)
            call()
        except Exception as error:  # noqa: BLE001 - the test reports every failure
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return failures


def pending_person(n, purposes=("bulletin",)):
    return services.sign_up(email=f"racer{n}@example.org", name=f"Racer {n}", purposes=list(purposes),
                            actor=Actor.public("127.0.0.1")).contact


def confirmed_person(n):
    contact = pending_person(n, purposes=("bulletin", "events"))
    services.confirm_sign_up(contact=contact, actor=Actor.public("127.0.0.1"))
    return contact


def confirm(contact):
    return lambda: services.confirm_sign_up(contact=Contact.objects.get(pk=contact.pk), actor=Actor.public("10.0.0.1"))


def unsubscribe(contact):
    return lambda: services.unsubscribe_one_click(contact=Contact.objects.get(pk=contact.pk),
                                                  actor=Actor.public("10.0.0.2"))


def save_preferences(contact, n):
    def save():
        person = Contact.objects.get(pk=contact.pk)
        services.save_preference_centre(
            # Details unchanged, so the first write is the topics' audit entry (the audit lock), not
            # an UPDATE of the contact row: the order that deadlocked.
            contact=person, details={"name": person.name}, topics=list(Topic.objects.all()[:2]),
            needs={"large_print": ""}, wanted_purposes={"bulletin", "events", "involvement"},
            offered_purposes={"bulletin", "events", "involvement"}, actor=Actor.public("10.0.0.3"),
        )
    return save


def sign_up(n):
    return lambda: services.sign_up(email=f"twin{n}@example.org", name=f"Twin {n}", purposes=["bulletin", "events"],
                                    actor=Actor.public("10.0.0.4"))


def assert_one_contact_per_twin_address():
    for n in range(ROUNDS):
        twins = Contact.objects.filter(email_normalised=f"twin{n}@example.org")
        assert twins.count() == 1
        given = ConsentEvent.objects.filter(contact=twins.get()).values_list("purpose__code", "action")
        assert sorted(given) == [("bulletin", "given"), ("events", "given")]


# --- PostgreSQL: real races ----------------------------------------------------------------------

@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_confirm_races_one_click_unsubscribe(transactional_db):
    people = [pending_person(n) for n in range(ROUNDS)]
    failures = []
    for person in people:
        failures += race(confirm(person), unsubscribe(person))
    assert failures == []
    assert_ledger_consistent(people)
    # Whichever won, the unsubscribe is the person's last word unless the confirmation came later.
    for person in people:
        last = ConsentEvent.objects.filter(contact=person).order_by("occurred_at", "id").last()
        state = ConsentState.objects.get(contact=person)
        assert state.status == ("granted" if last.action == "confirmed" else "withdrawn")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_preference_centre_save_races_one_click_unsubscribe_without_deadlock(transactional_db):
    people = [confirmed_person(n) for n in range(ROUNDS)]
    failures = []
    for n, person in enumerate(people):
        failures += race(save_preferences(person, n), unsubscribe(person))
    assert failures == []  # before the fix: "deadlock detected" in a third of the rounds
    assert_ledger_consistent(people)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_sign_ups_of_one_new_address_make_one_contact(transactional_db):
    failures = []
    for n in range(ROUNDS):
        failures += race(sign_up(n), sign_up(n))
    assert failures == []  # before: IntegrityError on the unique address, a 500
    assert_one_contact_per_twin_address()
    assert_ledger_consistent(Contact.objects.all())


# --- SQLite: the same scenarios, one after the other, both orders -------------------------------

@on_sqlite
@pytest.mark.django_db
def test_sequential_confirm_and_unsubscribe_in_both_orders():
    people = [pending_person(n) for n in range(6)]
    for n, person in enumerate(people):
        steps = (confirm(person), unsubscribe(person)) if n % 2 else (unsubscribe(person), confirm(person))
        for step in steps:
            step()
    assert_ledger_consistent(people)
    assert {ConsentState.objects.get(contact=p).status for p in people} == {"withdrawn"}


@on_sqlite
@pytest.mark.django_db
def test_sequential_preference_save_and_unsubscribe_in_both_orders():
    people = [confirmed_person(n) for n in range(6)]
    for n, person in enumerate(people):
        steps = (save_preferences(person, n), unsubscribe(person))
        for step in steps if n % 2 else reversed(steps):
            step()
    assert_ledger_consistent(people)


@on_sqlite
@pytest.mark.django_db
def test_sequential_repeated_sign_up_makes_one_contact():
    for n in range(ROUNDS):
        sign_up(n)()
        sign_up(n)()
    assert_one_contact_per_twin_address()
