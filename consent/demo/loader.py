"""Load or remove the demo population in bulk, writing exactly the rows the services would write.

The per-person services (``consent.services``) cost a transaction and an audit entry each; at
100,000 people that is minutes. Here each batch of people becomes a handful of multi-row INSERTs:
contact (normalised address and keyed hash from ``crm.normalise``, ``confirmed_at`` set), topic
links, communication needs, equality answers, append-only consent events on published statements
(method "demo"), the matching ConsentState pointing at each pair's last event, and a suppression
for every withdrawal (lifted when the person came back, as a confirmed sign-up would). The whole
load is one transaction with ONE audit entry.
"""

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from consent.demo.bulk import TableWriter, datetime_adapter, reserve_ids
from consent.demo.population import DEMO_DOMAINS, ORGANISATIONS, DemoPerson, Population
from consent.models import ConsentEvent, ConsentState, ConsentStatement, ErasurePermit, Purpose, Suppression
from crm.audit import Actor, record_audit
from crm.models import CommunicationNeed, Contact, EqualityProfile, Organisation, PostcodeDistrict, Topic
from crm.normalise import address_hash, normalise_email, outward_code

BATCH_SIZE = 2000
EVIDENCE = "Demo data"
Action, Status = ConsentEvent.Action, ConsentState.Status
# Plain strings for the database driver (the TextChoices members are str subclasses).
CONFIRMED, WITHDRAWN = str(Action.CONFIRMED), str(Action.WITHDRAWN)
GRANTED_STATUS, WITHDRAWN_STATUS = str(Status.GRANTED), str(Status.WITHDRAWN)
DEMO_METHOD, DEMO_SOURCE = str(ConsentEvent.Method.DEMO), str(Contact.Source.DEMO)
WITHDRAWAL_REASON = str(Suppression.Reason.WITHDRAWAL)
PURPOSES_USED = {"bulletin", "events", "involvement", "equality_monitoring", "equality_targeting"}

CONTACT_FIELDS = [
    "id", "public_id", "email", "email_normalised", "email_hash", "name", "postcode", "locality", "kind",
    "organisation", "preferred_language", "source", "confirmed_at", "created_at", "updated_at",
    "link_epoch", "data_link_counter",  # personal-link epoch and single-use data-link counter start at 0
]
EVENT_FIELDS = [
    "id", "contact", "purpose", "action", "statement", "method", "recorded_by", "recorded_by_label",
    "occurred_at", "recorded_at", "evidence_reference",
]
STATE_FIELDS = ["contact", "purpose", "status", "statement", "since", "last_event"]
SUPPRESSION_FIELDS = ["address_hash", "purpose", "reason", "created_at", "lifted_at"]
NEED_FIELDS = ["contact", "need", "detail"]
PROFILE_FIELDS = ["contact", *EqualityProfile.ANSWER_FIELDS, "updated_at"]


class DemoRefused(Exception):
    """Demo data is never loaded into (or removed from) a production database."""


@dataclass
class DemoSummary:
    contacts: int = 0
    consent_events: int = 0
    consent_states: int = 0
    withdrawals: int = 0  # consent events with action "withdrawn" (already in consent_events)
    suppressions: int = 0
    topic_links: int = 0
    communication_needs: int = 0
    equality_profiles: int = 0
    organisations_created: int = 0

    @property
    def rows(self) -> int:
        """Rows written in bulk (the few organisations aside)."""
        return (self.contacts + self.consent_events + self.consent_states + self.suppressions + self.topic_links
                + self.communication_needs + self.equality_profiles)


@dataclass
class _Reference:
    """Everything the rows point at, looked up once per load."""

    localities: dict[str, int]
    topics: dict[str, int]
    organisations: dict[str, int]
    purposes: dict[str, int]
    statements: dict[str, list[tuple[datetime, int]]]  # purpose code → [(published_at, id)] oldest first

    def statement_at(self, code: str, when: datetime) -> int:
        """The wording in force at ``when``; the first published one for earlier history."""
        versions = self.statements[code]
        current = versions[0][1]
        for published_at, statement_id in versions:
            if published_at <= when:
                current = statement_id
        return current


def load_demo(*, contacts: int, seed: int, actor: Actor,
              on_batch: Callable[[int], None] | None = None) -> DemoSummary:
    """Add ``contacts`` invented people. The caller decides whether existing data allows it."""
    _refuse_in_production()
    now = timezone.now()
    population = Population(seed=seed, now=now, size=contacts)
    summary = DemoSummary()
    with transaction.atomic():
        reference = _reference(summary)
        taken = _demo_addresses_in_use()
        writers = _Writers()
        index, batch = 0, []
        while summary.contacts + len(batch) < contacts:
            person = population.person(index)
            index += 1
            if _normalised(person.email) in taken:
                continue
            batch.append(person)
            if len(batch) == BATCH_SIZE or summary.contacts + len(batch) == contacts:
                _write_batch(batch, reference, writers, summary, now)
                if on_batch:
                    on_batch(len(batch))
                batch = []
        record_audit(actor=actor, action="demo.loaded", object_type="crm.contact",
                     summary=f"Demo data loaded: {summary.contacts} contacts",
                     changes={**asdict(summary), "seed": seed})
    return summary


def reset_demo(*, actor: Actor) -> int:
    """Remove every demo contact (source "demo") and the ledger rows, suppressions and links made for them.

    Ledger rows go the only way the triggers allow: through an ErasurePermit per contact, as
    erasure does. Contacts entered any other way are left alone.
    """
    _refuse_in_production()
    demo = Contact.objects.filter(source=DEMO_SOURCE)
    with transaction.atomic():
        count = demo.count()
        Suppression.objects.filter(address_hash__in=demo.values("email_hash")).delete()
        permit_table, contact_table = ErasurePermit._meta.db_table, Contact._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {permit_table} (contact_id) SELECT id FROM {contact_table} "  # noqa: S608
                f"WHERE source = %s AND id NOT IN (SELECT contact_id FROM {permit_table})",
                [DEMO_SOURCE],
            )
        _raw_delete(ConsentState.objects.filter(contact__source=DEMO_SOURCE))
        _raw_delete(ConsentEvent.objects.filter(contact__source=DEMO_SOURCE))
        ErasurePermit.objects.filter(contact_id__in=demo.values("id")).delete()
        for model in (Contact.topics.through, CommunicationNeed, EqualityProfile):
            _raw_delete(model.objects.filter(contact__source=DEMO_SOURCE))
        # The ORM delete handles relations other apps add (and refuses if one protects a contact);
        # in batches, so memory stays flat however many demo contacts there are.
        while batch := list(demo.order_by().values_list("id", flat=True)[:BATCH_SIZE]):
            Contact.objects.filter(id__in=batch).delete()
        record_audit(actor=actor, action="demo.reset", object_type="crm.contact",
                     summary=f"Demo data removed: {count} contacts", changes={"contacts": count})
    return count


def _raw_delete(queryset) -> None:
    # One DELETE ... WHERE contact_id IN (SELECT ...) instead of the collector loading every row.
    queryset._raw_delete(queryset.db)


def _refuse_in_production() -> None:
    if settings.ENVIRONMENT == "production":
        raise DemoRefused("Demo data is never loaded into or removed from a production database.")


def _reference(summary: DemoSummary) -> _Reference:
    organisations = {}
    for name, kind in ORGANISATIONS:
        organisation = Organisation.objects.filter(name__iexact=name).first()
        if organisation is None:
            organisation = Organisation.objects.create(name=name, kind=kind)
            summary.organisations_created += 1
        organisations[name] = organisation.pk
    statements: dict[str, list[tuple[datetime, int]]] = {}
    for statement in ConsentStatement.objects.filter(published_at__isnull=False).select_related("purpose").order_by(
        "published_at", "version"
    ):
        statements.setdefault(statement.purpose.code, []).append((statement.published_at, statement.pk))
    missing = PURPOSES_USED - set(statements)
    if missing:
        raise DemoRefused(f"No published consent statement for: {', '.join(sorted(missing))}")
    return _Reference(
        localities=dict(PostcodeDistrict.objects.values_list("code", "locality_id")),
        topics=dict(Topic.objects.filter(is_active=True).values_list("name", "id")),
        organisations=organisations,
        purposes=dict(Purpose.objects.filter(code__in=statements).values_list("code", "id")),
        statements=statements,
    )


def _demo_addresses_in_use() -> set[str]:
    in_demo_domains = Q()
    for domain in DEMO_DOMAINS:
        in_demo_domains |= Q(email_normalised__endswith=f"@{domain}")
    return set(Contact.objects.filter(in_demo_domains).values_list("email_normalised", flat=True))


@cache
def _normalised_domain(domain: str) -> str:
    return normalise_email(f"x@{domain}").split("@", 1)[1]


def _normalised(email: str) -> str:
    # normalise_email's result, with the (slow, pure-Python) IDNA step done once per domain.
    local, _, domain = email.strip().rpartition("@")
    return f"{local.lower()}@{_normalised_domain(domain)}"


class _Writers:
    def __init__(self):
        self.contacts = TableWriter(Contact, CONTACT_FIELDS)
        self.events = TableWriter(ConsentEvent, EVENT_FIELDS)
        self.states = TableWriter(ConsentState, STATE_FIELDS)
        self.suppressions = TableWriter(Suppression, SUPPRESSION_FIELDS)
        self.topics = TableWriter(Contact.topics.through, ["contact", "topic"])
        self.needs = TableWriter(CommunicationNeed, NEED_FIELDS)
        self.profiles = TableWriter(EqualityProfile, PROFILE_FIELDS)


@dataclass(slots=True)
class _Event:
    contact_id: int
    purpose: str
    action: str
    occurred_at: datetime


def _write_batch(people: list[DemoPerson], ref: _Reference, writers: _Writers, summary: DemoSummary,
                 now: datetime) -> None:
    db_datetime = datetime_adapter()
    contact_ids = reserve_ids(Contact, len(people))
    contact_rows, topic_rows, need_rows, profile_rows, events, hashes = [], [], [], [], [], {}
    for contact_id, person in zip(contact_ids, people, strict=True):
        person_events = _events_for(contact_id, person, now)
        events.extend(person_events)
        hashes[contact_id] = address_hash(_normalised(person.email))
        contact_rows.append(_contact_row(contact_id, person, ref, hashes[contact_id], person_events, db_datetime))
        topic_rows.extend((contact_id, ref.topics[t]) for t in person.topics if t in ref.topics)
        need_rows.extend((contact_id, need, detail) for need, detail in person.needs.items())
        if person.equality is not None:
            answers = tuple(person.equality.get(name, "") for name in EqualityProfile.ANSWER_FIELDS)
            profile_rows.append((contact_id, *answers, db_datetime(person.confirmed_at)))
    event_rows, state_rows, suppression_rows = _ledger_rows(events, ref, hashes, db_datetime)
    writers.contacts.write(contact_rows)
    writers.events.write(event_rows)
    writers.states.write(state_rows)
    writers.suppressions.write(suppression_rows)
    writers.topics.write(topic_rows)
    writers.needs.write(need_rows)
    writers.profiles.write(profile_rows)
    summary.contacts += len(contact_rows)
    summary.consent_events += len(event_rows)
    summary.consent_states += len(state_rows)
    summary.withdrawals += sum(1 for event in events if event.action == WITHDRAWN)
    summary.suppressions += len(suppression_rows)
    summary.topic_links += len(topic_rows)
    summary.communication_needs += len(need_rows)
    summary.equality_profiles += len(profile_rows)


def _events_for(contact_id: int, person: DemoPerson, now: datetime) -> list[_Event]:
    """The person's consent history, in time order per purpose."""
    events = []
    for code, history in person.purposes.items():
        events.append(_Event(contact_id, code, CONFIRMED, history.granted_at))
        if history.withdrawn_at:
            events.append(_Event(contact_id, code, WITHDRAWN, history.withdrawn_at))
        if history.returned_at:
            events.append(_Event(contact_id, code, CONFIRMED, history.returned_at))
    if person.equality is not None:
        # The separate "about you" step, a few minutes after confirming.
        answered_at = min(person.confirmed_at + timedelta(minutes=4), now)
        events.append(_Event(contact_id, "equality_monitoring", CONFIRMED, answered_at))
        if person.equality_targeting:
            events.append(_Event(contact_id, "equality_targeting", CONFIRMED, answered_at))
    return events


def _contact_row(contact_id: int, person: DemoPerson, ref: _Reference, email_hash: str,
                 events: list[_Event], db_datetime) -> tuple:
    last_change = max(event.occurred_at for event in events)
    return (
        contact_id, _db_uuid(uuid.uuid4()), person.email, _normalised(person.email), email_hash, person.name,
        person.postcode, ref.localities.get(outward_code(person.postcode)), person.kind,
        ref.organisations.get(person.organisation), person.language, DEMO_SOURCE,
        db_datetime(person.confirmed_at), db_datetime(person.created_at), db_datetime(last_change), 0, 0,
    )


def _ledger_rows(events: list[_Event], ref: _Reference, hashes: dict[int, str], db_datetime):
    """Event rows with reserved ids, one state per (contact, purpose) on its last event, suppressions."""
    event_ids = reserve_ids(ConsentEvent, len(events))
    event_rows, last, withdrawn_at = [], {}, {}
    for event_id, event in zip(event_ids, events, strict=True):
        statement_id = ref.statement_at(event.purpose, event.occurred_at)
        when = db_datetime(event.occurred_at)
        event_rows.append((
            event_id, event.contact_id, ref.purposes[event.purpose], event.action, statement_id,
            DEMO_METHOD, None, "system", when, when, EVIDENCE,
        ))
        key = (event.contact_id, event.purpose)
        last[key] = (event_id, event, statement_id, when)
        if event.action == WITHDRAWN:
            withdrawn_at[key] = event.occurred_at
    state_rows, suppression_rows = [], []
    for (contact_id, code), (event_id, event, statement_id, when) in last.items():
        status = WITHDRAWN_STATUS if event.action == WITHDRAWN else GRANTED_STATUS
        state_rows.append((contact_id, ref.purposes[code], status, statement_id, when, event_id))
        if (contact_id, code) in withdrawn_at:
            # Lifted only when the person came back: the last event is then their new confirmation.
            lifted = when if status == GRANTED_STATUS else None
            suppression_rows.append((
                hashes[contact_id], ref.purposes[code], WITHDRAWAL_REASON,
                db_datetime(withdrawn_at[(contact_id, code)]), lifted,
            ))
    return event_rows, state_rows, suppression_rows


def _db_uuid(value: uuid.UUID):
    return value if connection.features.has_native_uuid_field else value.hex
