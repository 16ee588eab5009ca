"""The append-only, hash-chained audit log. Every service write records one entry here."""

import hashlib
import json
from dataclasses import dataclass

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


def client_ip(request) -> str | None:
    """The client address as the last trusted hop saw it (REMOTE_ADDR; a proxy must set it)."""
    return request.META.get("REMOTE_ADDR") or None


def actor_from_request(request) -> Actor:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor.staff(user, client_ip(request))
    return Actor.public(client_ip(request))


def entry_digest(*, prev_hash: str, created_at, actor_label: str, action: str, object_type: str,
                 object_id: str, summary: str, changes: dict, ip_address: str | None) -> str:
    payload = json.dumps(
        [prev_hash, created_at.isoformat(), actor_label, action, object_type, object_id, summary,
         changes, ip_address or ""],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record_audit(*, actor: Actor, action: str, obj=None, object_type: str = "", object_id: str = "",
                 summary: str = "", changes: dict | None = None) -> AuditEntry:
    """Append one entry to the chain. Never put names, addresses or postcodes in summary/changes."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    changes = changes or {}
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
            ip_address=actor.ip_address,
        )
        entry = AuditEntry.objects.create(
            created_at=created_at, actor=actor.user, actor_label=actor.label, action=action,
            object_type=object_type, object_id=object_id, summary=summary, changes=changes,
            ip_address=actor.ip_address, prev_hash=prev_hash, entry_hash=digest,
        )
        if head is None:
            AuditHead.objects.create(entry_id=entry.id, entry_hash=digest, entry_count=1)
        else:
            head.entry_id, head.entry_hash, head.entry_count = entry.id, digest, head.entry_count + 1
            head.save(update_fields=["entry_id", "entry_hash", "entry_count", "updated_at"])
        return entry


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def first_broken_link() -> ChainBreak | None:
    """Walk the chain in id order; report the first entry that was edited, removed or reordered.

    The head row is read first, so entries appended while the walk runs are checked for continuity
    but do not count as tampering; the entry the head names must be found, with its hash, at the
    position the head's count says — otherwise the newest entries were removed.
    """
    head = AuditHead.objects.filter(pk=AuditHead.SINGLETON_ID).first()
    prev_hash = GENESIS_HASH
    count = 0
    head_seen = False
    first_id = None
    # Plain tuples, not model instances: the walk reads every row, and this halves its cost.
    rows = AuditEntry.objects.order_by("id").values_list(
        "id", "prev_hash", "entry_hash", "created_at", "actor_label", "action", "object_type", "object_id",
        "summary", "changes", "ip_address",
    ).iterator(chunk_size=5000)
    for (entry_id, entry_prev_hash, entry_hash, created_at, actor_label, action, object_type, object_id,
         summary, changes, ip_address) in rows:
        first_id = first_id or entry_id
        if entry_prev_hash != prev_hash:
            return ChainBreak(entry_id, "previous entry was removed or altered")
        expected = entry_digest(
            prev_hash=entry_prev_hash, created_at=created_at, actor_label=actor_label, action=action,
            object_type=object_type, object_id=object_id, summary=summary, changes=changes, ip_address=ip_address,
        )
        if expected != entry_hash:
            return ChainBreak(entry_id, "entry content does not match its hash")
        count += 1
        if head is not None and entry_id == head.entry_id:
            head_seen = True
            if entry_hash != head.entry_hash or count != head.entry_count:
                return ChainBreak(entry_id, "entry does not match the chain head record")
        prev_hash = entry_hash
    if head is None:
        return ChainBreak(first_id, "the chain head record is missing") if count else None
    if head.entry_id is not None and not head_seen:
        return ChainBreak(head.entry_id, "the newest entry was removed (the chain head still names it)")
    return None


def chain_head() -> AuditHead | None:
    """The newest entry's id and hash: worth writing down elsewhere to anchor the chain externally."""
    return AuditHead.objects.filter(pk=AuditHead.SINGLETON_ID).first()


CHECK_ACTION = "audit.chain_checked"


def check_chain(*, actor: Actor) -> ChainBreak | None:
    """Walk the whole chain and record the outcome as an audit entry of its own.

    The walk takes seconds per hundred thousand entries (benchmarks/audit_bench.py), too long for a
    page request, so the staff page and the nightly schedule run it as a task and show the
    latest recorded outcome. Recording it in the chain means the record of checks is itself
    protected: removing an unwelcome result breaks the chain for the next check.
    """
    head = chain_head()
    broken = first_broken_link()
    changes = {"entries": head.entry_count if head else 0, "intact": broken is None}
    if broken is not None:
        changes.update(broken_entry_id=broken.entry_id, reason=broken.reason)
    record_audit(actor=actor, action=CHECK_ACTION, object_type="crm.auditentry", changes=changes)
    return broken


def last_chain_check() -> AuditEntry | None:
    return AuditEntry.objects.filter(action=CHECK_ACTION).order_by("-id").first()
