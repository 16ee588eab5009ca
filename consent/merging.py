"""Merging two records of one person, keeping both consent histories.

The ledger cannot be edited (a trigger refuses UPDATE), so the duplicate's events are not moved:
they are copied onto the survivor as new rows that keep what happened (occurred_at, statement,
method, who recorded it, the original recorded_at) and say where they came from in the evidence
reference. The survivor's state is then re-derived from the combined history with the same fold
the rest of the ledger uses, so a withdrawal in either history still wins if it is the latest
fact. Finally the duplicate is deleted through the erasure path (``consent.erasure.delete_person``),
which runs every erasure step registered by higher layers.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from consent import erasure, services
from consent.models import (
    ConsentEvent,
    ConsentState,
    ErasureRequest,
    Purpose,
    SubjectAccessRequest,
    Suppression,
)
from consent.selectors import fold_status
from crm.audit import Actor, record_audit
from crm.models import CommunicationNeed, Contact, EqualityProfile

# Sent inside the merge transaction, before the duplicate is deleted, with ``survivor`` and
# ``duplicate``. Higher layers (bulletins' deliveries and comments) connect to it to move their
# rows; this layer cannot import them.
contacts_merging = Signal()

EVIDENCE_LIMIT = ConsentEvent._meta.get_field("evidence_reference").max_length


@dataclass(frozen=True)
class MergePreview:
    survivor: Contact
    duplicate: Contact
    events_to_copy: int
    topics_added: list
    needs_added: list
    equality_from_duplicate: bool
    states_after: dict[str, str]  # purpose code → status after the merge
    states_before: dict[str, str]  # survivor's purpose code → status now


def _merged_events(survivor: Contact, duplicate: Contact) -> dict[int, list[ConsentEvent]]:
    events = ConsentEvent.objects.filter(contact__in=[survivor, duplicate]).order_by("occurred_at", "id")
    by_purpose: dict[int, list[ConsentEvent]] = {}
    for event in events:
        by_purpose.setdefault(event.purpose_id, []).append(event)
    return by_purpose


def _check_pair(survivor: Contact, duplicate: Contact) -> None:
    if survivor.pk == duplicate.pk:
        raise ValidationError("Choose two different records")


def preview_merge(*, survivor: Contact, duplicate: Contact) -> MergePreview:
    """What merging would do, without doing it (shown to staff before they confirm)."""
    _check_pair(survivor, duplicate)
    codes = dict(Purpose.objects.values_list("pk", "code"))
    survivor_topics = set(survivor.topics.values_list("pk", flat=True))
    survivor_needs = set(survivor.communication_needs.values_list("need", flat=True))
    return MergePreview(
        survivor=survivor,
        duplicate=duplicate,
        events_to_copy=ConsentEvent.objects.filter(contact=duplicate).count(),
        topics_added=list(duplicate.topics.exclude(pk__in=survivor_topics)),
        needs_added=list(duplicate.communication_needs.exclude(need__in=survivor_needs)),
        equality_from_duplicate=(not EqualityProfile.objects.filter(contact=survivor).exists()
                                 and EqualityProfile.objects.filter(contact=duplicate).exists()),
        states_after={codes[pid]: fold_status(events)[0] for pid, events in _merged_events(survivor, duplicate).items()},
        states_before=dict(ConsentState.objects.filter(contact=survivor).values_list("purpose__code", "status")),
    )


def _copy_events(survivor: Contact, duplicate: Contact) -> int:
    copies = []
    for event in ConsentEvent.objects.filter(contact=duplicate).order_by("occurred_at", "id"):
        note = f"merged from contact {duplicate.pk} event {event.pk}"
        evidence = f"{event.evidence_reference} ({note})" if event.evidence_reference else note
        if len(evidence) > EVIDENCE_LIMIT:  # keep the provenance note whole, shorten the original
            evidence = f"{event.evidence_reference[: EVIDENCE_LIMIT - len(note) - 4]}… ({note})"
        copies.append(ConsentEvent(
            contact=survivor, purpose_id=event.purpose_id, action=event.action, statement_id=event.statement_id,
            method=event.method, recorded_by_id=event.recorded_by_id, recorded_by_label=event.recorded_by_label,
            occurred_at=event.occurred_at, recorded_at=event.recorded_at, evidence_reference=evidence,
        ))
    ConsentEvent.objects.bulk_create(copies)
    return len(copies)


def _merge_people_data(survivor: Contact, duplicate: Contact) -> dict:
    """Topics and needs are unioned; equality answers move only if the survivor has none."""
    survivor.topics.add(*duplicate.topics.all())
    have = set(survivor.communication_needs.values_list("need", flat=True))
    CommunicationNeed.objects.bulk_create([
        CommunicationNeed(contact=survivor, need=need.need, detail=need.detail)
        for need in duplicate.communication_needs.exclude(need__in=have)
    ])
    moved_equality = False
    if not EqualityProfile.objects.filter(contact=survivor).exists():
        moved_equality = EqualityProfile.objects.filter(contact=duplicate).update(contact=survivor) > 0
    if survivor.confirmed_at is None and duplicate.confirmed_at is not None:
        survivor.confirmed_at = duplicate.confirmed_at
        survivor.save(update_fields=["confirmed_at", "updated_at"])
    return {"equality_moved": moved_equality}


def _suppress_survivor_where_withdrawn(survivor: Contact) -> None:
    """The person withdrew (on either address): their remaining address must not be emailed either."""
    now = timezone.now()
    withdrawn = ConsentState.objects.filter(contact=survivor, status=ConsentState.Status.WITHDRAWN)
    for purpose_id in withdrawn.values_list("purpose_id", flat=True):
        if not Suppression.objects.filter(address_hash=survivor.email_hash, purpose_id=purpose_id,
                                          lifted_at__isnull=True).exists():
            Suppression.objects.create(address_hash=survivor.email_hash, purpose_id=purpose_id,
                                       reason=Suppression.Reason.WITHDRAWAL, created_at=now)


def merge_contacts(*, survivor: Contact, duplicate: Contact, actor: Actor) -> Contact:
    """Fold ``duplicate`` into ``survivor`` and delete it. Both ids are audited."""
    _check_pair(survivor, duplicate)
    duplicate_id = duplicate.pk
    with transaction.atomic():
        # Lock both rows so no consent can be recorded on either while the histories are combined.
        locked = {c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=[survivor.pk, duplicate_id])}
        if len(locked) != 2:
            raise ValidationError("One of the records no longer exists")
        survivor, duplicate = locked[survivor.pk], locked[duplicate_id]
        copied = _copy_events(survivor, duplicate)
        for purpose in Purpose.objects.filter(pk__in=ConsentEvent.objects.filter(contact=survivor).values("purpose_id")):
            services._sync_state(contact=survivor, purpose=purpose)
        _suppress_survivor_where_withdrawn(survivor)
        extra = _merge_people_data(survivor, duplicate)
        SubjectAccessRequest.objects.filter(contact=duplicate).update(contact=survivor)
        ErasureRequest.objects.filter(contact=duplicate).update(contact=survivor)
        contacts_merging.send(sender=Contact, survivor=survivor, duplicate=duplicate)
        # What the signal's receivers did not move to the survivor, the erasure steps delete.
        erased = erasure.delete_person(duplicate)
        record_audit(actor=actor, action="contact.merged", obj=survivor,
                     changes={"survivor": survivor.pk, "duplicate": duplicate_id, "events_copied": copied, **extra})
        record_audit(actor=actor, action="contact.merged_away", object_type="crm.contact",
                     object_id=str(duplicate_id), changes={"survivor": survivor.pk, "erased": erased})
    return survivor
