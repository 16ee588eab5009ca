"""Evidence of who took part in an activity: anonymous headcounts, named participants, linked events.

Every write goes through the edit policy in ``segments.activities`` (the lead, or the engagement team)
and is audited. Audit entries never carry names or addresses: a named participant's entry holds only the
contact's id (the audit page hides it), a headcount's only its number.

A headcount's equality breakdown is ``{characteristic: {category code: count}}`` over
``crm.EqualityProfile.ANSWER_FIELDS`` and those fields' categories (ONS Census 2021). Per
characteristic the counts may not add up to more than the headcount (some people do not answer).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from crm.audit import Actor, record_audit
from crm.models import Contact, EqualityProfile
from crm.normalise import normalise_email
from crm.validators import has_control_characters
from segments.activities import can_see_participant_names, check_can_edit
from segments.models import Activity, ActivityHeadcount, ActivityParticipant, Event

MAX_HEADCOUNT = 1_000_000


def equality_categories() -> dict[str, dict[str, str]]:
    """{characteristic field: {category code: label}} from crm.EqualityProfile, in its order."""
    return {
        name: dict(EqualityProfile._meta.get_field(name).choices)
        for name in EqualityProfile.ANSWER_FIELDS
    }


def equality_labels() -> dict[str, str]:
    return {name: str(EqualityProfile._meta.get_field(name).verbose_name).capitalize()
            for name in EqualityProfile.ANSWER_FIELDS}


def clean_breakdown(value, *, count: int) -> dict[str, dict[str, int]]:
    """A validated breakdown in the standard order, zero counts dropped; raises ValidationError."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError({"equality_breakdown": "Counts by characteristic and category"})
    categories = equality_categories()
    cleaned: dict[str, dict[str, int]] = {}
    for characteristic, counts in value.items():
        if characteristic not in categories:
            raise ValidationError({"equality_breakdown": f"Not an equality question: {characteristic}"})
        if not isinstance(counts, dict):
            raise ValidationError({"equality_breakdown": f"Counts by category for {characteristic}"})
        for code, number in counts.items():
            if code not in categories[characteristic]:
                raise ValidationError({"equality_breakdown": f"Not a category of {characteristic}: {code}"})
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise ValidationError({"equality_breakdown": "Each count is a whole number, zero or more"})
        if sum(counts.values()) > count:
            raise ValidationError({"equality_breakdown": (
                f"The {characteristic.replace('_', ' ')} answers add up to more than the {count} people counted")})
        ordered = {code: counts[code] for code in categories[characteristic] if counts.get(code)}
        if ordered:
            cleaned[characteristic] = ordered
    return {name: cleaned[name] for name in categories if name in cleaned}


# --- headcounts -----------------------------------------------------------------------------------

def add_headcount(*, activity: Activity, actor: Actor, label: str, count: int, locality=None,
                  equality_breakdown=None) -> ActivityHeadcount:
    label = " ".join((label or "").split())
    errors = {}
    if not label:
        errors["label"] = "Say where or how these people took part, for example “Drop-in at the shopping centre”"
    elif len(label) > 200 or has_control_characters(label):
        errors["label"] = "Use up to 200 letters, without control characters"
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_HEADCOUNT:
        errors["count"] = "Enter how many people took part, 1 or more"
    if errors:
        raise ValidationError(errors)
    breakdown = clean_breakdown(equality_breakdown, count=count)
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        check_can_edit(actor, activity)
        headcount = ActivityHeadcount.objects.create(activity=activity, label=label, count=count,
                                                     locality=locality, equality_breakdown=breakdown,
                                                     added_by=actor.user)
        record_audit(actor=actor, action="activity.headcount_added", obj=activity, summary=activity.title,
                     changes={"count": count})
    return headcount


def remove_headcount(*, headcount: ActivityHeadcount, actor: Actor) -> None:
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=headcount.activity_id)
        check_can_edit(actor, activity)
        count = headcount.count
        deleted, _ = ActivityHeadcount.objects.filter(pk=headcount.pk).delete()
        if deleted:
            record_audit(actor=actor, action="activity.headcount_removed", obj=activity, summary=activity.title,
                         changes={"count": count})


# --- named participants ---------------------------------------------------------------------------

def find_contact_by_email(email: str) -> Contact | None:
    """The contact with exactly this address (normalised), or None: staff add people they know.
    An address that is not one raises ValidationError (crm.normalise)."""
    normalised = normalise_email(email or "")
    return Contact.objects.filter(email_normalised=normalised).first()


def add_participant(*, activity: Activity, contact: Contact, actor: Actor) -> tuple[ActivityParticipant, bool]:
    """Record a named participant; returns (row, created). Adding someone already there changes nothing.
    Only staff who may see contact records name people here (a Commissioner lead adds headcounts)."""
    if not can_see_participant_names(actor.user):
        raise PermissionDenied("Only staff who work with contact records can name participants")
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        check_can_edit(actor, activity)
        existing = ActivityParticipant.objects.filter(activity=activity, contact=contact).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                participant = ActivityParticipant.objects.create(activity=activity, contact=contact,
                                                                 added_by=actor.user)
        except IntegrityError:  # added at the same moment by someone else
            return ActivityParticipant.objects.get(activity=activity, contact=contact), False
        record_audit(actor=actor, action="activity.participant_added", obj=activity, summary=activity.title,
                     changes={"contact": contact.pk})
    return participant, True


def remove_participant(*, participant: ActivityParticipant, actor: Actor) -> None:
    if not can_see_participant_names(actor.user):
        raise PermissionDenied("Only staff who work with contact records can change named participants")
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=participant.activity_id)
        check_can_edit(actor, activity)
        deleted, _ = ActivityParticipant.objects.filter(pk=participant.pk).delete()
        if deleted:
            record_audit(actor=actor, action="activity.participant_removed", obj=activity,
                         summary=activity.title, changes={"contact": participant.contact_id})


# --- linked events --------------------------------------------------------------------------------

def link_event(*, activity: Activity, event: Event, actor: Actor) -> bool:
    """Link an event (its attendees become named participants); False if it was linked already."""
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        check_can_edit(actor, activity)
        if activity.events.filter(pk=event.pk).exists():
            return False
        activity.events.add(event)
        record_audit(actor=actor, action="activity.event_linked", obj=activity, summary=activity.title,
                     changes={"event": event.pk})
    return True


def unlink_event(*, activity: Activity, event: Event, actor: Actor) -> bool:
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        check_can_edit(actor, activity)
        if not activity.events.filter(pk=event.pk).exists():
            return False
        activity.events.remove(event)
        record_audit(actor=actor, action="activity.event_unlinked", obj=activity, summary=activity.title,
                     changes={"event": event.pk})
    return True
