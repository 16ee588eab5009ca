"""Consent wording: draft a new version, edit the draft, publish it (then a trigger freezes it).

A purpose has at most one draft at a time, numbered after the newest version, so version numbers
are never reused and the published history reads 1, 2, 3 without gaps.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from consent.models import ConsentState, ConsentStatement, Purpose
from crm.audit import Actor, record_audit


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Enter the wording people will agree to"})
    return text


def draft_for(purpose: Purpose) -> ConsentStatement | None:
    return ConsentStatement.objects.filter(purpose=purpose, published_at__isnull=True).first()


def draft_statement(*, purpose: Purpose, text: str, actor: Actor) -> ConsentStatement:
    text = _clean_text(text)
    with transaction.atomic():
        Purpose.objects.select_for_update().filter(pk=purpose.pk).first()  # one draft at a time
        if draft_for(purpose) is not None:
            raise ValidationError("There is already a draft for this purpose: edit or publish it")
        newest = ConsentStatement.objects.filter(purpose=purpose).aggregate(v=Max("version"))["v"] or 0
        statement = ConsentStatement.objects.create(purpose=purpose, version=newest + 1, text=text,
                                                    created_by=actor.user)
        record_audit(actor=actor, action="statement.drafted", obj=statement,
                     changes={"purpose": purpose.code, "version": statement.version})
    return statement


def edit_draft(*, statement: ConsentStatement, text: str, actor: Actor) -> ConsentStatement:
    text = _clean_text(text)
    if statement.is_published:
        raise ValidationError("A published statement cannot be changed: draft a new version")
    if text == statement.text:
        return statement
    with transaction.atomic():
        statement.text = text
        statement.save(update_fields=["text"])
        record_audit(actor=actor, action="statement.edited", obj=statement,
                     changes={"purpose": statement.purpose.code, "version": statement.version})
    return statement


def publish_statement(*, statement: ConsentStatement, actor: Actor) -> ConsentStatement:
    """From now on new consents for the purpose are recorded against this wording."""
    if statement.is_published:
        raise ValidationError("This version is already published")
    with transaction.atomic():
        statement.published_at, statement.published_by = timezone.now(), actor.user
        statement.save(update_fields=["published_at", "published_by"])
        record_audit(actor=actor, action="statement.published", obj=statement,
                     changes={"purpose": statement.purpose.code, "version": statement.version})
    return statement


@dataclass(frozen=True)
class VersionUsage:
    statement: ConsentStatement
    granted: int
    pending: int
    withdrawn: int

    @property
    def total(self) -> int:
        return self.granted + self.pending + self.withdrawn


def statements_with_usage() -> list[tuple[Purpose, list[VersionUsage]]]:
    """Per purpose, every version with how many people's current state rests on it (one GROUP BY)."""
    Status = ConsentState.Status
    counts = {
        row["statement_id"]: row
        for row in ConsentState.objects.order_by().values("statement_id").annotate(
            granted=Count("pk", filter=Q(status=Status.GRANTED)),
            pending=Count("pk", filter=Q(status=Status.PENDING)),
            withdrawn=Count("pk", filter=Q(status=Status.WITHDRAWN)),
        )
    }
    by_purpose: dict[int, list[VersionUsage]] = {}
    for statement in ConsentStatement.objects.select_related("purpose").order_by("purpose", "-version"):
        row = counts.get(statement.pk, {})
        by_purpose.setdefault(statement.purpose_id, []).append(VersionUsage(
            statement=statement, granted=row.get("granted", 0), pending=row.get("pending", 0),
            withdrawn=row.get("withdrawn", 0),
        ))
    return [(purpose, by_purpose.get(purpose.pk, [])) for purpose in Purpose.objects.all()]
