"""Subject access and erasure requests as cases: services (writes, audited) and their reads.

Time limits follow the ICO's guidance for UK GDPR Art. 12(3): one calendar month, counted from the
day of receipt to the corresponding date next month, or the last day of next month when that date
does not exist (31 January → 28/29 February). The clock does not start until identity is confirmed
when it has to be checked, and it stops while the requester is asked to clarify.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from consent import erasure
from consent.exports import personal_data_for
from consent.models import ErasureRequest, SubjectAccessRequest
from crm.audit import Actor, record_audit
from crm.models import AuditEntry, Contact
from crm.services import record_equality_view

SAR = SubjectAccessRequest.Status
ERASURE = ErasureRequest.Status


# --- time limits ----------------------------------------------------------------------------

def one_calendar_month_after(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def clock_start(case: SubjectAccessRequest) -> date | None:
    """None while waiting for identity: the clock has not started."""
    if case.status == SAR.AWAITING_ID:
        return None
    if case.identity_checked_on and case.identity_checked_on > case.received_on:
        return case.identity_checked_on
    return case.received_on


def due_date(case: SubjectAccessRequest, today: date | None = None) -> date | None:
    """The response deadline as of ``today``; a stopped clock pushes it back one day per day."""
    start = clock_start(case)
    if start is None:
        return None
    paused = case.days_paused
    if case.clock_stopped_on:
        paused += max(0, ((today or timezone.localdate()) - case.clock_stopped_on).days)
    return one_calendar_month_after(start) + timedelta(days=paused)


@dataclass(frozen=True)
class CaseDue:
    case: SubjectAccessRequest
    due: date | None
    days_left: int | None

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def days_late(self) -> int:
        return -self.days_left if self.overdue else 0


def with_due(case: SubjectAccessRequest, today: date | None = None) -> CaseDue:
    today = today or timezone.localdate()
    due = due_date(case, today)
    return CaseDue(case=case, due=due, days_left=(due - today).days if due else None)


def open_subject_access_cases(today: date | None = None) -> list[CaseDue]:
    """Open cases, soonest deadline first; cases whose clock has not started come last."""
    rows = [with_due(case, today) for case in SubjectAccessRequest.objects.exclude(status=SAR.CLOSED)]
    return sorted(rows, key=lambda row: (row.due is None, row.due or date.max, row.case.pk))


# --- references -----------------------------------------------------------------------------

def _create_with_reference(model: type[Model], prefix: str, **fields) -> Model:
    """``<prefix>-<year>-<n>``: readable in letters and phone calls, and never personal data."""
    year = timezone.localdate().year
    stem = f"{prefix}-{year}-"
    for _ in range(5):
        taken = model.objects.filter(reference__startswith=stem).count()
        try:
            with transaction.atomic():
                return model.objects.create(reference=f"{stem}{taken + 1:04d}", **fields)
        except IntegrityError:
            continue  # another case took the number at the same moment
    raise IntegrityError("Could not allocate a case reference")


def _check_not_future(day: date | None, field: str) -> None:
    if day and day > timezone.localdate():
        raise ValidationError({field: "The date must be today or in the past"})


# --- subject access -------------------------------------------------------------------------

def open_subject_access(*, received_on: date, actor: Actor, requester_description: str = "",
                        contact: Contact | None = None, identity_checked_on: date | None = None) -> SubjectAccessRequest:
    _check_not_future(received_on, "received_on")
    _check_not_future(identity_checked_on, "identity_checked_on")
    if identity_checked_on and identity_checked_on < received_on:
        raise ValidationError({"identity_checked_on": "Identity cannot be checked before the request was received"})
    with transaction.atomic():
        case = _create_with_reference(
            SubjectAccessRequest, "SAR", received_on=received_on, contact=contact,
            requester_description=requester_description[:200], identity_checked_on=identity_checked_on,
            status=SAR.IN_PROGRESS if identity_checked_on else SAR.AWAITING_ID, created_by=actor.user,
        )
        record_audit(actor=actor, action="sar.opened", obj=case,
                     changes={"contact_id": contact.pk if contact else None, "status": case.status})
    return case


def _open_case(case: SubjectAccessRequest) -> None:
    if case.status == SAR.CLOSED:
        raise ValidationError("This case is closed")


def link_subject_access_contact(*, case: SubjectAccessRequest, contact: Contact, actor: Actor) -> None:
    _open_case(case)
    with transaction.atomic():
        case.contact = contact
        case.save(update_fields=["contact"])
        record_audit(actor=actor, action="sar.contact_linked", obj=case, changes={"contact_id": contact.pk})


def record_identity_checked(*, case: SubjectAccessRequest, checked_on: date, actor: Actor) -> None:
    """Identity confirmed: the one-month clock starts on this date (if it had not already)."""
    _open_case(case)
    _check_not_future(checked_on, "checked_on")
    if checked_on < case.received_on:
        raise ValidationError({"checked_on": "Identity cannot be checked before the request was received"})
    with transaction.atomic():
        case.identity_checked_on = checked_on
        fields = ["identity_checked_on"]
        if case.status == SAR.AWAITING_ID:
            case.status = SAR.IN_PROGRESS
            fields.append("status")
        case.save(update_fields=fields)
        record_audit(actor=actor, action="sar.identity_checked", obj=case, changes={"checked_on": str(checked_on)})


def stop_clock_for_clarification(*, case: SubjectAccessRequest, stopped_on: date, actor: Actor) -> None:
    _open_case(case)
    _check_not_future(stopped_on, "stopped_on")
    if case.status != SAR.IN_PROGRESS:
        raise ValidationError("The clock can only be stopped on a case in progress")
    with transaction.atomic():
        case.status, case.clock_stopped_on = SAR.AWAITING_CLARIFICATION, stopped_on
        case.save(update_fields=["status", "clock_stopped_on"])
        record_audit(actor=actor, action="sar.clock_stopped", obj=case, changes={"stopped_on": str(stopped_on)})


def restart_clock(*, case: SubjectAccessRequest, restarted_on: date, actor: Actor) -> None:
    """Clarification received: the paused days are added to the deadline."""
    _open_case(case)
    _check_not_future(restarted_on, "restarted_on")
    if case.status != SAR.AWAITING_CLARIFICATION or case.clock_stopped_on is None:
        raise ValidationError("The clock is not stopped")
    if restarted_on < case.clock_stopped_on:
        raise ValidationError({"restarted_on": "The clock cannot restart before it stopped"})
    with transaction.atomic():
        paused = (restarted_on - case.clock_stopped_on).days
        case.days_paused += paused
        case.status, case.clock_stopped_on = SAR.IN_PROGRESS, None
        case.save(update_fields=["days_paused", "status", "clock_stopped_on"])
        record_audit(actor=actor, action="sar.clock_restarted", obj=case, changes={"days_paused": paused})


def close_subject_access(*, case: SubjectAccessRequest, closed_on: date, outcome: str, actor: Actor) -> None:
    """Closed with a record of what was sent, how and when (kept as the case's evidence)."""
    _open_case(case)
    _check_not_future(closed_on, "closed_on")
    if not outcome.strip():
        raise ValidationError({"outcome": "Record what was sent, how and when"})
    if closed_on < case.received_on:
        raise ValidationError({"closed_on": "A case cannot close before the request was received"})
    with transaction.atomic():
        case.status, case.closed_on, case.outcome = SAR.CLOSED, closed_on, outcome.strip()
        case.save(update_fields=["status", "closed_on", "outcome"])
        record_audit(actor=actor, action="sar.closed", obj=case, changes={"closed_on": str(closed_on)})


# --- the export -----------------------------------------------------------------------------

def _contact_ids_of_person(contact: Contact) -> list[str]:
    """This record plus any duplicate records merged into it (their audit entries are about them too)."""
    merged = AuditEntry.objects.filter(
        action="contact.merged", object_type="crm.contact", object_id=str(contact.pk)
    ).values_list("changes", flat=True)
    return [str(contact.pk), *(str(c["duplicate"]) for c in merged if c.get("duplicate"))]


def audit_entries_about(contact: Contact) -> list[dict]:
    entries = AuditEntry.objects.filter(object_type="crm.contact", object_id__in=_contact_ids_of_person(contact))
    return [
        {"at": entry.created_at.isoformat(), "by": entry.actor_label, "action": entry.action,
         "summary": entry.summary, "details": entry.changes, "from_address": entry.ip_address}
        for entry in entries.order_by("id")
    ]


def _cases_about(contact: Contact) -> list[dict]:
    sars = SubjectAccessRequest.objects.filter(contact=contact).order_by("received_on")
    erasures = ErasureRequest.objects.filter(contact=contact).order_by("received_on")
    return [
        *({"type": "subject access", "reference": c.reference, "received_on": str(c.received_on),
           "status": c.get_status_display()} for c in sars),
        *({"type": "erasure", "reference": c.reference, "received_on": str(c.received_on),
           "status": c.get_status_display()} for c in erasures),
    ]


def subject_access_data(contact: Contact) -> dict:
    """Everything held about one person, as one JSON-serialisable document.

    Sections registered by higher layers (``consent.registry``) come through ``personal_data_for``.
    """
    data = personal_data_for(contact)
    data["audit_entries"] = audit_entries_about(contact)
    data["cases"] = _cases_about(contact)
    return data


def record_subject_access_export(*, case: SubjectAccessRequest, export_format: str, actor: Actor) -> dict:
    """Build the export for the case's person and audit the read (equality answers included)."""
    if case.contact is None:
        raise ValidationError("Link the case to a contact before exporting")
    with transaction.atomic():
        data = subject_access_data(case.contact)
        record_equality_view(contact=case.contact, actor=actor)
        record_audit(actor=actor, action="sar.exported", obj=case,
                     changes={"format": export_format, "contact_id": case.contact_id})
    return data


# --- erasure --------------------------------------------------------------------------------

def open_erasure(*, received_on: date, actor: Actor, contact: Contact | None = None, notes: str = "") -> ErasureRequest:
    _check_not_future(received_on, "received_on")
    with transaction.atomic():
        case = _create_with_reference(ErasureRequest, "ER", received_on=received_on, contact=contact,
                                      notes=notes.strip(), created_by=actor.user)
        record_audit(actor=actor, action="erasure.opened", obj=case,
                     changes={"contact_id": contact.pk if contact else None})
    return case


def link_erasure_contact(*, case: ErasureRequest, contact: Contact, actor: Actor) -> None:
    _open_erasure(case)
    with transaction.atomic():
        case.contact = contact
        case.save(update_fields=["contact"])
        record_audit(actor=actor, action="erasure.contact_linked", obj=case, changes={"contact_id": contact.pk})


def _open_erasure(case: ErasureRequest) -> None:
    if case.status != ERASURE.OPEN:
        raise ValidationError("This case is no longer open")


def complete_erasure(*, case: ErasureRequest, actor: Actor) -> str:
    """Erase the person everywhere; the case keeps only the internal id and the suppression stays."""
    _open_erasure(case)
    if case.contact is None:
        raise ValidationError("Link the case to a contact before erasing")
    with transaction.atomic():
        reference = erasure.erase_contact(contact=case.contact, actor=actor, reason=f"erasure case {case.reference}")
        case.contact = None
        case.status, case.completed_on, case.erased_contact_ref = ERASURE.COMPLETED, timezone.localdate(), reference
        case.save(update_fields=["contact", "status", "completed_on", "erased_contact_ref"])
        record_audit(actor=actor, action="erasure.completed", obj=case, changes={"contact_id": reference})
    return reference


def refuse_erasure(*, case: ErasureRequest, reason: str, actor: Actor) -> None:
    """Refused (e.g. identity not confirmed, or a legal duty to keep): reason without personal data."""
    _open_erasure(case)
    if not reason.strip():
        raise ValidationError({"reason": "Record why the request was refused"})
    with transaction.atomic():
        case.status, case.completed_on = ERASURE.REFUSED, timezone.localdate()
        case.notes = f"{case.notes}\n\nRefused: {reason.strip()}".strip()
        case.save(update_fields=["status", "completed_on", "notes"])
        record_audit(actor=actor, action="erasure.refused", obj=case)
