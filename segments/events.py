"""Events (Big Chats, Mini Chats, …): writing them, answering invitations, recording who came.

Times are entered and shown in Europe/London and stored in UTC. Answers respect capacity: a "yes"
when the event is full goes on the waiting list, and a place given up goes to the first person
waiting. The event row is locked while a place is decided, so two last-minute answers cannot
both take the last place.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.audit import Actor, record_audit
from crm.london_time import first_occurrence_utc, wall_time_exists
from crm.models import Contact
from crm.normalise import normalise_email
from crm.validators import has_control_characters
from segments.models import Event, Invitation

EVENT_FIELDS = ("kind", "title", "description", "starts_at", "ends_at", "venue_name", "venue_address", "step_free",
                "hearing_loop", "bsl_interpreter", "accessibility_notes", "online_link", "locality", "capacity")


def london_to_utc(value: datetime) -> datetime:
    """A wall-clock time in London as an aware UTC time; a time the clocks skip is refused."""
    if timezone.is_aware(value):
        return value
    if not wall_time_exists(value):
        raise ValidationError(f"{value:%-d %B %Y %H:%M} does not exist in UK time (the clocks go forward)")
    return first_occurrence_utc(value)  # an autumn time that happens twice: the first (BST)


def save_event(*, actor: Actor, event: Event | None = None, topics=(), **values) -> Event:
    """Create (event=None) or change an event. Values are the model's fields; times in London or aware."""
    unknown = set(values) - set(EVENT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown event fields: {sorted(unknown)}")
    for name in ("starts_at", "ends_at"):
        if values.get(name) is not None:
            values[name] = london_to_utc(values[name])
    _check_text(values)
    with transaction.atomic():
        creating = event is None
        event = Event(created_by=actor.user) if creating else Event.objects.select_for_update().get(pk=event.pk)
        for name, value in values.items():
            setattr(event, name, value)
        if event.ends_at and event.starts_at and event.ends_at <= event.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start"})
        event.full_clean(exclude=["created_by"])
        event.save()
        event.topics.set(topics)
        record_audit(actor=actor, action="event.created" if creating else "event.updated", obj=event,
                     summary=event.title, changes={"fields": sorted(values)})
    return event


def _check_text(values: dict) -> None:
    errors = {name: "Remove line breaks and control characters" for name in ("title", "venue_name", "venue_address")
              if has_control_characters(values.get(name) or "")}
    if errors:
        raise ValidationError(errors)


# --- answers (RSVP) ---------------------------------------------------------------------------

def places_taken(event: Event) -> int:
    return event.invitations.filter(response=Invitation.Response.YES, waiting_list=False).count()


def respond(*, invitation: Invitation, response: str, access_needs: str = "", actor: Actor) -> Invitation:
    """The person's answer from their RSVP link. A full event puts a "yes" on the waiting list."""
    if response not in {Invitation.Response.YES, Invitation.Response.NO, Invitation.Response.MAYBE}:
        raise ValidationError({"response": "Choose yes, no or maybe"})
    access_needs = " ".join((access_needs or "").split())[:500]
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=invitation.event_id)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        gave_up_place = invitation.response == Invitation.Response.YES and not invitation.waiting_list \
            and response != Invitation.Response.YES
        if response == Invitation.Response.YES and not (invitation.response == response and not invitation.waiting_list):
            full = event.capacity is not None and places_taken(event) >= event.capacity
            invitation.waiting_list = full
        elif response != Invitation.Response.YES:
            invitation.waiting_list = False
        invitation.response, invitation.access_needs, invitation.responded_at = response, access_needs, timezone.now()
        invitation.save(update_fields=["response", "waiting_list", "access_needs", "responded_at"])
        record_audit(actor=actor, action="event.rsvp", obj=invitation,
                     changes={"event": event.pk, "response": response, "waiting_list": invitation.waiting_list})
        if gave_up_place:
            _offer_place_to_next(event, actor)
    return invitation


def _offer_place_to_next(event: Event, actor: Actor) -> Invitation | None:
    waiting = (event.invitations.select_for_update().filter(response=Invitation.Response.YES, waiting_list=True)
               .order_by("responded_at", "id").first())
    if waiting is None or (event.capacity is not None and places_taken(event) >= event.capacity):
        return None
    waiting.waiting_list = False
    waiting.save(update_fields=["waiting_list"])
    record_audit(actor=actor, action="event.place_offered", obj=waiting, changes={"event": event.pk})
    return waiting


# --- attendance -------------------------------------------------------------------------------

def record_register(*, event: Event, attended_contact_ids: set[int], actor: Actor) -> int:
    """The ticked register: exactly the ticked invitees attended. Returns how many attended."""
    now = timezone.now()
    with transaction.atomic():
        rows = Invitation.objects.select_for_update().filter(event=event)
        rows.filter(contact_id__in=attended_contact_ids).update(attended=True, attendance_recorded_at=now)
        rows.exclude(contact_id__in=attended_contact_ids).exclude(source=Invitation.Source.WALK_IN).update(
            attended=False, attendance_recorded_at=now)
        count = rows.filter(attended=True).count()
        record_audit(actor=actor, action="event.register_saved", obj=event, changes={"attended": count})
    return count


def add_walk_in(*, event: Event, email: str, actor: Actor) -> Invitation:
    """Someone came without an invitation: matched to their record by normalised address."""
    try:
        normalised = normalise_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from None
    contact = Contact.objects.filter(email_normalised=normalised).first()
    if contact is None:
        raise ValidationError({"email": "Nobody with this address is on the list yet: add them with their consent "
                                        "first, then record that they came"})
    with transaction.atomic():
        invitation, created = Invitation.objects.select_for_update().get_or_create(
            event=event, contact=contact, defaults={"source": Invitation.Source.WALK_IN})
        invitation.attended, invitation.attendance_recorded_at = True, timezone.now()
        invitation.save(update_fields=["attended", "attendance_recorded_at"])
        record_audit(actor=actor, action="event.attendance_added", obj=invitation,
                     changes={"event": event.pk, "walk_in": created})
    return invitation


@dataclass
class AttendanceUpload:
    matched: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def upload_attendance(*, event: Event, content: bytes, actor: Actor) -> AttendanceUpload:
    """A list of attendees' email addresses (CSV, first column or an "email" column). All or nothing:
    any line that cannot be matched is reported with its number and nothing is recorded."""
    result, addresses = AttendanceUpload(), []
    for line_number, address in _addresses_in(content):
        try:
            normalised = normalise_email(address)
        except ValidationError:
            result.rejected.append((line_number, "not an email address"))
            continue
        addresses.append((line_number, normalised))
    known = dict(Contact.objects.filter(email_normalised__in=[a for _, a in addresses]).values_list(
        "email_normalised", "pk"))
    result.rejected += [(n, "nobody with this address is on the list") for n, a in addresses if a not in known]
    if result.rejected or not addresses:
        result.rejected.sort()
        if not addresses and not result.rejected:
            result.rejected.append((1, "the file has no email addresses"))
        return result
    with transaction.atomic():
        for _, normalised in addresses:
            invitation, _ = Invitation.objects.get_or_create(event=event, contact_id=known[normalised],
                                                             defaults={"source": Invitation.Source.WALK_IN})
            if not invitation.attended:
                invitation.attended, invitation.attendance_recorded_at = True, timezone.now()
                invitation.save(update_fields=["attended", "attendance_recorded_at"])
        result.matched = len({a for _, a in addresses})
        record_audit(actor=actor, action="event.attendance_uploaded", obj=event, changes={"matched": result.matched})
    return result


def _addresses_in(content: bytes):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    column = 0
    start = 0
    if rows and any("email" in cell.strip().lower() for cell in rows[0]):
        column = next(i for i, cell in enumerate(rows[0]) if "email" in cell.strip().lower())
        start = 1
    for index, row in enumerate(rows[start:], start=start + 1):
        if row and len(row) > column and row[column].strip():
            yield index, row[column].strip()
