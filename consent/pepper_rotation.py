"""Rotating the suppression pepper (SUPPRESSION_PEPPERS) without losing a single suppression.

Each contact's ``email_hash`` and every suppression of an address someone still holds are hashed
again with the current pepper; suppressions of addresses nobody holds (erased people) cannot be,
since nobody knows the address any more: lookups find them under every configured pepper, and the
rotation reports how many still need each old one, so an old pepper is removed only at zero.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count

from consent import ledger
from consent.models import Suppression
from crm.audit import Actor, record_audit
from crm.models import Contact
from crm.normalise import address_hash, address_hashes, current_pepper_key_id

BATCH = 2000


@dataclass(frozen=True)
class PepperRotation:
    contacts_rehashed: int
    suppressions_rehashed: int
    still_under_old_keys: dict[str, int] = field(default_factory=dict)  # key id → suppressions nobody holds


def rotate_suppression_pepper(*, actor: Actor) -> PepperRotation:
    """Re-hash every contact (and their suppressions) with the current pepper, in batches of contacts.

    Each batch is one transaction: its contacts are locked first (the ledger's lock order), their
    suppressions re-keyed, then their hashes; the database triggers keep the reachability flags
    right throughout. One audit entry at the end. Safe to run again: it only touches rows whose
    hash is not the current pepper's.
    """
    current = current_pepper_key_id()
    contacts = suppressions = 0
    last_id = 0
    while True:
        with transaction.atomic():
            rows = list(Contact.objects.order_by("pk").filter(pk__gt=last_id)
                        .values_list("pk", "email_normalised", "email_hash")[:BATCH])
            if not rows:
                break
            last_id = rows[-1][0]
            stale = [(pk, address, old) for pk, address, old in rows if old != address_hash(address)]
            if stale:
                ledger.lock_contacts(pk for pk, _, _ in stale)
                for pk, address, old in stale:
                    new = address_hash(address)
                    # Under the old stored hash or any older pepper's: every suppression of this address.
                    suppressions += Suppression.objects.filter(
                        address_hash__in={old, *address_hashes(address)} - {new}).update(address_hash=new,
                                                                                          key_id=current)
                    Contact.objects.filter(pk=pk).update(email_hash=new)
                contacts += len(stale)
    remaining = dict(Suppression.objects.filter(lifted_at__isnull=True).exclude(key_id=current).values("key_id").annotate(n=Count("id"))
                     .values_list("key_id", "n"))
    record_audit(actor=actor, action="suppression.pepper_rotated", object_type="consent.suppression",
                 changes={"key_id": current, "contacts_rehashed": contacts, "suppressions_rehashed": suppressions,
                          "still_under_old_keys": remaining})
    return PepperRotation(contacts, suppressions, remaining)
