"""The append-only, hash-chained audit log. Every service write records one entry here."""

import hashlib
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from crm.models import AuditEntry

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
        last = AuditEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first()
        prev_hash = last or GENESIS_HASH
        created_at = timezone.now()
        digest = entry_digest(
            prev_hash=prev_hash, created_at=created_at, actor_label=actor.label, action=action,
            object_type=object_type, object_id=object_id, summary=summary, changes=changes,
            ip_address=actor.ip_address,
        )
        return AuditEntry.objects.create(
            created_at=created_at, actor=actor.user, actor_label=actor.label, action=action,
            object_type=object_type, object_id=object_id, summary=summary, changes=changes,
            ip_address=actor.ip_address, prev_hash=prev_hash, entry_hash=digest,
        )


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def first_broken_link() -> ChainBreak | None:
    """Walk the chain in id order; report the first entry that was edited, removed or reordered."""
    prev_hash = GENESIS_HASH
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != prev_hash:
            return ChainBreak(entry.id, "previous entry was removed or altered")
        expected = entry_digest(
            prev_hash=entry.prev_hash, created_at=entry.created_at, actor_label=entry.actor_label,
            action=entry.action, object_type=entry.object_type, object_id=entry.object_id,
            summary=entry.summary, changes=entry.changes, ip_address=entry.ip_address,
        )
        if expected != entry.entry_hash:
            return ChainBreak(entry.id, "entry content does not match its hash")
        prev_hash = entry.entry_hash
    return None
