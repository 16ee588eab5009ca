"""Set-based consent writes: suppressing addresses (hard bounces, complaints) and recording one
consent event for many people at once (imports, bulk staff actions).

Each is one transaction with one audit entry for the whole batch, and follows the same lock order
and the same policy as the one-person services (``consent.ledger``). Exported from
``consent.services``.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from consent import ledger
from consent.ledger import PERSONS_OWN_METHODS, ConsentRefused
from consent.models import ConsentEvent, ConsentState, ConsentStatement, Purpose, Suppression
from consent.selectors import current_statement
from crm.audit import Actor, record_audit
from crm.bulk_sql import in_list
from crm.models import Contact
from crm.normalise import address_hash, address_hashes, normalise_email

Action = ConsentEvent.Action
Status = ConsentState.Status
# Provider events that make an address undeliverable or unwelcome. A withdrawal is recorded with
# ``withdraw`` and an erasure by the erasure service; neither comes through here.
SUPPRESSION_METHODS = {
    Suppression.Reason.HARD_BOUNCE: ConsentEvent.Method.HARD_BOUNCE,
    Suppression.Reason.COMPLAINT: ConsentEvent.Method.COMPLAINT,
}


@dataclass(frozen=True)
class BulkConsentResult:
    recorded: tuple[int, ...] = ()  # contact ids that got the new event
    skipped: dict[int, str] = field(default_factory=dict)  # contact id → why not (shown to staff)

    @property
    def recorded_count(self) -> int:
        return len(self.recorded)


def _purpose(purpose: Purpose | str) -> Purpose:
    return purpose if isinstance(purpose, Purpose) else Purpose.objects.get(code=purpose)


def record_consent_for_many(*, contact_ids: Iterable[int], purpose: Purpose | str, action: str, method: str,
                            actor: Actor, statement: ConsentStatement | None = None, occurred_at=None,
                            evidence_reference: str = "") -> BulkConsentResult:
    """One event for each of many people, set-based: one transaction, one audit entry for the batch.

    People whose withdrawal or suppression forbids the event are skipped and reported, as are ids
    that name nobody; an event the person alone may record (their own confirmation) is refused whole.
    """
    purpose = _purpose(purpose)
    statement = statement or current_statement(purpose)
    now = timezone.now()
    occurred_at = occurred_at or now
    ledger.check_request(purpose=purpose, action=action, method=method, statement=statement,
                         occurred_at=occurred_at, now=now, actor=actor)
    if method in PERSONS_OWN_METHODS or action == Action.NEW_ADDRESS:
        raise ConsentRefused("This is recorded for one person at a time")
    wanted = {int(i) for i in contact_ids}
    with transaction.atomic():
        hashes = ledger.lock_contacts(wanted)
        skipped = dict.fromkeys(wanted - set(hashes), "No such contact")
        statuses = _statuses(hashes, purpose)
        suppressed = {h for h, _ in ledger.active_suppressions(hashes=hashes.values(), purpose_ids=[purpose.pk])}
        recorded = []
        for contact_id, email_hash in sorted(hashes.items()):
            status = statuses.get(contact_id)
            refusal = ("Already withdrawn" if action == Action.WITHDRAWN and status == Status.WITHDRAWN else
                       ledger.refusal_for(action=action, method=method, actor=actor, status=status,
                                          suppressed=email_hash in suppressed))
            if refusal:
                skipped[contact_id] = refusal
                continue
            recorded.append(contact_id)
        ledger.insert_events(contact_ids=recorded, purpose=purpose, action=action, statement=statement, method=method,
                             actor=actor, occurred_at=occurred_at, now=now, evidence_reference=evidence_reference)
        ledger.sync_suppressions(ledger.refold((contact_id, purpose.pk) for contact_id in recorded), hashes, now)
        record_audit(actor=actor, action=f"consent.{action}_many", object_type="consent.purpose",
                     object_id=purpose.code,
                     changes={"purpose": purpose.code, "method": method, "statement_version": statement.version,
                              "recorded": len(recorded), "skipped": len(skipped)})
    return BulkConsentResult(recorded=tuple(recorded), skipped=skipped)


def _statuses(hashes: dict[int, str], purpose: Purpose) -> dict[int, str]:
    ids = list(hashes)
    statuses = {}
    for start in range(0, len(ids), ledger.CHUNK):
        part = ids[start:start + ledger.CHUNK]
        statuses.update(ConsentState.objects.filter(in_list(ConsentState, "contact_id", part, purpose_id=purpose.pk))
                        .values_list("contact_id", "status"))
    return statuses


def suppress_address(*, email: str, reason: str, actor: Actor, purpose: Purpose | str | None = None,
                     occurred_at=None) -> None:
    """Never email this address again (for ``purpose``, or for every purpose when None).

    Works for an address nobody holds. When a contact holds it, a withdrawal (method hard_bounce or
    complaint) is recorded for each purpose they were granted or pending. Idempotent.
    """
    suppress_addresses(emails=[email], reason=reason, actor=actor, purpose=purpose, occurred_at=occurred_at)


def suppress_addresses(*, emails: Iterable[str], reason: str, actor: Actor, purpose: Purpose | str | None = None,
                       occurred_at=None) -> int:
    """``suppress_address`` for many addresses: one transaction, one audit entry.

    Returns how many addresses this call changed (a new suppression or a new withdrawal); an
    address already suppressed, with nothing left to withdraw, counts 0. Any invalid address
    refuses the whole call, naming its position, before anything is written.
    """
    if reason not in SUPPRESSION_METHODS:
        raise ValidationError({"reason": f"Suppress for a hard bounce or a complaint, not {reason!r}"})
    addresses = _normalised(emails)
    purposes = [_purpose(purpose)] if purpose is not None else list(Purpose.objects.all())
    now = timezone.now()
    occurred_at = occurred_at or now
    with transaction.atomic():
        holders, held = _lock_holders(addresses)
        changed = _suppress_unheld([a for a in addresses if a not in held], purposes, reason, now)
        added = ledger.add_suppressions([
            Suppression(address_hash=email_hash, purpose_id=p.pk, reason=reason, created_at=now)
            for email_hash in holders.values() for p in purposes
        ])
        changed_ids = {cid for cid, h in holders.items() if h in {a for a, _ in added}}
        changed_ids |= _withdraw_holders(holders, purposes, reason, actor, occurred_at, now)
        changed += len(changed_ids)
        if changed:
            record_audit(actor=actor, action="consent.suppressed", object_type="consent.suppression",
                         changes={"reason": reason, "purpose": purposes[0].code if purpose is not None else "all",
                                  "addresses": changed, "contacts_withdrawn": len(changed_ids)})
    return changed


def _normalised(emails: Iterable[str]) -> list[str]:
    addresses, errors = [], []
    for position, email in enumerate(emails, start=1):
        try:
            addresses.append(normalise_email(email))
        except ValidationError:
            errors.append(position)
    if errors:
        raise ValidationError({"emails": f"Not an email address at position {', '.join(map(str, errors[:20]))}"})
    return sorted(set(addresses))


def _lock_holders(addresses: list[str]) -> tuple[dict[int, str], set[str]]:
    """Lock the contacts holding these addresses (ascending id, as every batch does).

    Returns id → email hash, and the addresses held.
    """
    found = {}
    for start in range(0, len(addresses), ledger.CHUNK):
        found.update(Contact.objects.filter(email_normalised__in=addresses[start:start + ledger.CHUNK])
                     .values_list("pk", "email_normalised"))
    hashes = ledger.lock_contacts(found)
    return hashes, {found[cid] for cid in hashes}


def _suppress_unheld(unheld: list[str], purposes, reason, now) -> int:
    """Addresses nobody holds (yet): suppressed under the current key, unless under any key already."""
    every_key = {a: address_hashes(a) for a in unheld}
    existing = ledger.active_suppressions(hashes=[h for hs in every_key.values() for h in hs],
                                          purpose_ids=[p.pk for p in purposes])
    rows = [Suppression(address_hash=address_hash(a), purpose_id=p.pk, reason=reason, created_at=now)
            for a in unheld for p in purposes if not any((h, p.pk) in existing for h in every_key[a])]
    added = ledger.add_suppressions(rows)
    return len({email_hash for email_hash, _ in added})


def _withdraw_holders(holders, purposes, reason, actor, occurred_at, now) -> set[int]:
    """A withdrawal event for each purpose a holder is granted or pending for; returns their ids."""
    ids = list(holders)
    live = []
    for start in range(0, len(ids), ledger.CHUNK):
        live += ConsentState.objects.filter(
            contact_id__in=ids[start:start + ledger.CHUNK], purpose__in=purposes,
            status__in=[Status.GRANTED, Status.PENDING],
        ).values_list("contact_id", "purpose_id")
    by_id = {p.pk: p for p in purposes}
    statements = {p.pk: current_statement(p) for p in purposes}
    events = [ledger.new_event(contact_id=cid, purpose=by_id[pid], action=Action.WITHDRAWN,
                               statement=statements[pid], method=SUPPRESSION_METHODS[reason], actor=actor,
                               occurred_at=occurred_at, now=now, evidence_reference="")
              for cid, pid in live]
    ConsentEvent.objects.bulk_create(events, batch_size=1000)
    ledger.sync_suppressions(ledger.refold(live), holders, now)
    return {cid for cid, _ in live}
