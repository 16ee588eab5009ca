"""The append-only, hash-chained audit log. Every service write records one entry here.

Each entry's fingerprint is an HMAC-SHA256 over its content and its predecessor's fingerprint, keyed
with ``settings.AUDIT_HMAC_KEY`` (from the environment, never stored in the database): someone who
can write to the database but does not hold the key cannot forge an entry, or re-chain the log after
editing one, without the next check noticing.

Cut-over: entries written before the chain was keyed (plain SHA-256) do not verify under the key. The
demo database is rebuilt from scratch; a deployment with an older log re-creates it.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from crm.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
_PG_AUDIT_LOCK_KEY = 7_301_911  # any constant: serialises appends to the chain on PostgreSQL


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where. Built once per request and passed to services."""

    user: object | None = None
    label: str = "system"
    ip_address: str | None = None

    @classmethod
    def system(cls) -> "Actor":
        return cls(label="system")

    @classmethod
    def public(cls, ip_address: str | None = None) -> "Actor":
        return cls(label="public", ip_address=ip_address)

    @classmethod
    def staff(cls, user, ip_address: str | None = None) -> "Actor":
        return cls(user=user, label=user.get_username(), ip_address=ip_address)


logger = logging.getLogger(__name__)


def client_ip(request) -> str | None:
    """The client address as the last trusted hop saw it (REMOTE_ADDR; a proxy must set it)."""
    return request.META.get("REMOTE_ADDR") or None


def stored_ip(value) -> str | None:
    """The address exactly as ``AuditEntry.ip_address`` stores and reads it back, or None if it is not one.

    GenericIPAddressField rewrites IPv6 on save (``::FFFF:0A00:1`` and ``::ffff:a00:1`` both become
    ``::ffff:10.0.0.1``; ``2001:DB8:0:0::1`` becomes ``2001:db8::1``), and PostgreSQL's inet may
    hand back an address object. The fingerprint is computed over this form on write and on check.
    """
    if value in (None, ""):
        return None
    return _stored_ip(str(value).strip())


@lru_cache(maxsize=4096)  # the chain walk meets the same few addresses again and again
def _stored_ip(text: str) -> str | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # As django.utils.ipv6.clean_ipv6_address(unpack_ipv4=False) writes it (tests compare the two).
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def actor_from_request(request) -> Actor:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor.staff(user, client_ip(request))
    return Actor.public(client_ip(request))


def _key() -> bytes:
    return settings.AUDIT_HMAC_KEY.encode()


def entry_digest(*, prev_hash: str, created_at, actor_label: str, action: str, object_type: str,
                 object_id: str, summary: str, changes: dict, ip_address: str | None, key: bytes | None = None) -> str:
    payload = json.dumps(
        [prev_hash, created_at.isoformat(), actor_label, action, object_type, object_id, summary,
         changes, stored_ip(ip_address) or ""],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hmac.new(key or _key(), payload.encode(), hashlib.sha256).hexdigest()


def record_audit(*, actor: Actor, action: str, obj=None, object_type: str = "", object_id: str = "",
                 summary: str = "", changes: dict | None = None) -> AuditEntry:
    """Append one entry to the chain. Never put names, addresses or postcodes in summary/changes."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    changes = changes or {}
    ip_address = stored_ip(actor.ip_address)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_AUDIT_LOCK_KEY])
        # Chain onto the head row, not onto whatever the newest row is now: if someone deleted the
        # newest entry, the next one still names the missing hash and the break shows. A missing
        # head (empty database, or a flushed test database) starts again from the genesis hash.
        head = AuditHead.objects.select_for_update().filter(pk=AuditHead.SINGLETON_ID).first()
        prev_hash = head.entry_hash if head else GENESIS_HASH
        created_at = timezone.now()
        digest = entry_digest(
            prev_hash=prev_hash, created_at=created_at, actor_label=actor.label, action=action,
            object_type=object_type, object_id=object_id, summary=summary, changes=changes,
            ip_address=ip_address,
        )
        entry = AuditEntry.objects.create(
            created_at=created_at, actor=actor.user, actor_label=actor.label, action=action,
            object_type=object_type, object_id=object_id, summary=summary, changes=changes,
            ip_address=ip_address, prev_hash=prev_hash, entry_hash=digest,
        )
        if head is None:
            AuditHead.objects.create(entry_id=entry.id, entry_hash=digest, entry_count=1)
        else:
            head.entry_id, head.entry_hash, head.entry_count = entry.id, digest, head.entry_count + 1
            head.save(update_fields=["entry_id", "entry_hash", "entry_count", "updated_at"])
        return entry


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int | None
    reason: str


PREVIOUS_MISSING = "previous entry was removed or altered"
CONTENT_ALTERED = "entry content does not match its fingerprint"
HEAD_MISMATCH = "entry does not match the chain head record"
NEWEST_REMOVED = "the newest entry was removed (the chain head still names it)"
HEAD_MISSING = "the chain head record is missing"


def broken_links() -> list[ChainBreak]:
    """Walk the chain in id order; report every entry that was edited, removed before, or reordered.

    After a break the walk carries on from the entry's own stored fingerprint, so one edit near the
    start cannot hide later ones. The head row is read first, so entries appended while the walk
    runs are checked for continuity but do not count as tampering; the entry the head names must be
    found, with its fingerprint, at the position the head's count says — otherwise the newest
    entries were removed.
    """
    head = AuditHead.objects.filter(pk=AuditHead.SINGLETON_ID).first()
    key = _key()
    breaks: list[ChainBreak] = []
    prev_hash, count, head_seen, first_id = GENESIS_HASH, 0, False, None
    # Plain tuples, not model instances: the walk reads every row, and this halves its cost.
    rows = AuditEntry.objects.order_by("id").values_list(
        "id", "prev_hash", "entry_hash", "created_at", "actor_label", "action", "object_type", "object_id",
        "summary", "changes", "ip_address",
    ).iterator(chunk_size=5000)
    for (entry_id, entry_prev_hash, entry_hash, created_at, actor_label, action, object_type, object_id,
         summary, changes, ip_address) in rows:
        first_id = first_id or entry_id
        if entry_prev_hash != prev_hash:
            breaks.append(ChainBreak(entry_id, PREVIOUS_MISSING))
        expected = entry_digest(
            prev_hash=entry_prev_hash, created_at=created_at, actor_label=actor_label, action=action,
            object_type=object_type, object_id=object_id, summary=summary, changes=changes, ip_address=ip_address,
            key=key,
        )
        if not hmac.compare_digest(expected, entry_hash):
            breaks.append(ChainBreak(entry_id, CONTENT_ALTERED))
        count += 1
        if head is not None and entry_id == head.entry_id:
            head_seen = True
            # A wrong count alone is already explained by any earlier break (a removed entry).
            if entry_hash != head.entry_hash or (count != head.entry_count and not breaks):
                breaks.append(ChainBreak(entry_id, HEAD_MISMATCH))
        prev_hash = entry_hash
    if head is None:
        if count:
            breaks.append(ChainBreak(first_id, HEAD_MISSING))
    elif head.entry_id is not None and not head_seen:
        breaks.append(ChainBreak(head.entry_id, NEWEST_REMOVED))
    return breaks


def first_broken_link() -> ChainBreak | None:
    breaks = broken_links()
    return breaks[0] if breaks else None


def chain_head() -> AuditHead | None:
    """The newest entry's id and hash: worth writing down elsewhere to anchor the chain externally."""
    return AuditHead.objects.filter(pk=AuditHead.SINGLETON_ID).first()


CHECK_ACTION = "audit.chain_checked"
RECORDED_BREAKS = 100  # a check entry lists at most this many broken entries (and counts them all)


def check_chain(*, actor: Actor) -> list[ChainBreak]:
    """Walk the whole chain and record the outcome, with the head it saw, as an audit entry of its own.

    The walk takes seconds per hundred thousand entries (benchmarks/audit_bench.py), too long for a
    page request, so the staff page and the nightly schedule run it as a task and show the
    latest recorded outcome. Recording it in the chain means the record of checks is itself
    protected: removing an unwelcome result breaks the chain for the next check. The head's
    fingerprint also goes to the application log, outside the database, so the data protection
    lead can compare the history on the check page with a record no database user can edit.
    """
    head = chain_head()
    breaks = broken_links()
    changes = {
        "entries": head.entry_count if head else 0, "intact": not breaks,
        "head_entry_id": head.entry_id if head else None, "head_hash": head.entry_hash if head else "",
    }
    if breaks:
        changes.update(broken_count=len(breaks), broken=[
            {"entry_id": found.entry_id, "reason": found.reason} for found in breaks[:RECORDED_BREAKS]
        ])
    record_audit(actor=actor, action=CHECK_ACTION, object_type="crm.auditentry", changes=changes)
    logger.info("Audit chain check: %s, %s entries, newest entry %s, fingerprint %s",
                "intact" if not breaks else f"{len(breaks)} broken links", changes["entries"],
                changes["head_entry_id"], changes["head_hash"])
    return breaks


def last_chain_check() -> AuditEntry | None:
    return AuditEntry.objects.filter(action=CHECK_ACTION).order_by("-id").first()


def chain_check_history(limit: int = 30) -> list[AuditEntry]:
    """The most recent recorded checks, newest first: each names the head it saw."""
    return list(AuditEntry.objects.filter(action=CHECK_ACTION).order_by("-id")[:limit])
