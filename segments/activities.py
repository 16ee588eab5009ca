"""Engagement activity records: who took part and how many (reads), and every write about an activity.

The edit policy lives here, not in the views: whoever calls (page, API, another app), a user may edit an
activity only with ``segments.change_activity`` AND either ``segments.change_any_activity`` (Engagement)
or by being its lead (a Commissioner edits only the activities they lead). Refusals raise
PermissionDenied, which pages and the API turn into 403.

Status moves planned → in progress → completed. Two moves back are allowed because they happen: in
progress → planned (it did not start after all) and completed → in progress (reopened, e.g. for a
second round of feedback; the completion date is cleared and set again when it completes).

Anonymous headcounts, named participants and linked events are in ``segments.activity_evidence``; the
emails to the lead and followers in ``segments.activity_notifications``.
"""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from crm.audit import Actor, record_audit
from crm.models import Contact
from crm.validators import has_control_characters
from segments.models import EXPECTED_AFFECTED_GROUPS, Activity, ActivityParticipant, Invitation, Programme

VIEW = "segments.view_activity"
ADD = "segments.add_activity"
CHANGE = "segments.change_activity"
CHANGE_ANY = "segments.change_any_activity"
# Names of named participants (personal data) only to those who work with people's records.
SEE_PARTICIPANT_NAMES = "crm.view_contact"

Status = Activity.Status
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.PLANNED: (Status.IN_PROGRESS,),
    Status.IN_PROGRESS: (Status.COMPLETED, Status.PLANNED),
    Status.COMPLETED: (Status.IN_PROGRESS,),
}

# Plain fields a form or the API may set; many-to-many ones are passed separately.
ACTIVITY_FIELDS = ("title", "summary", "programme", "lead", "kind", "legal_basis", "starts_on", "ends_on",
                   "equality_analysis_done", "equality_analysis_on", "equality_analysis_reference",
                   "groups_expected_affected", "themes_heard", "you_said", "we_did", "feedback_published_on")
MANY_FIELDS = ("topics", "localities", "followers", "events")
GROUP_CODES = tuple(code for code, _ in EXPECTED_AFFECTED_GROUPS)


# --- the policy ---------------------------------------------------------------------------------

def can_view(user) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(VIEW))


def can_create(user) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(ADD))


def can_edit(user, activity: Activity) -> bool:
    if user is None or not user.is_active or not user.has_perm(CHANGE):
        return False
    return user.has_perm(CHANGE_ANY) or activity.lead_id == user.pk


def can_see_participant_names(user) -> bool:
    return bool(user is not None and user.has_perm(SEE_PARTICIPANT_NAMES))


def check_can_edit(actor: Actor, activity: Activity) -> None:
    if not can_edit(actor.user, activity):
        raise PermissionDenied("Only the activity's lead or the engagement team can change this activity")


# --- reads --------------------------------------------------------------------------------------

def participants(activity: Activity) -> QuerySet[Contact]:
    """Everyone named as taking part: attended a linked event, or recorded as a participant. One query
    (two subqueries, so each person once); usable as a subquery with ``.values("pk")``."""
    return Contact.objects.filter(
        Q(pk__in=Invitation.objects.filter(attended=True, event__activities=activity).values("contact_id"))
        | Q(pk__in=ActivityParticipant.objects.filter(activity=activity).values("contact_id"))
    )


def participants_of_programme(programme: Programme) -> QuerySet[Contact]:
    """Everyone named as taking part in any activity of the programme (each person once)."""
    return Contact.objects.filter(
        Q(pk__in=Invitation.objects.filter(attended=True, event__activities__programme=programme)
          .values("contact_id"))
        | Q(pk__in=ActivityParticipant.objects.filter(activity__programme=programme).values("contact_id"))
    )


@dataclass(frozen=True)
class ParticipantNumbers:
    from_events: int  # named people who attended a linked event
    recorded: int  # named participants recorded on the activity
    named: int  # the two together, each person once (someone can be in both)
    anonymous: int  # the headcounts' sum
    total: int  # named + anonymous

    @property
    def overlap(self) -> int:
        return self.from_events + self.recorded - self.named


def participant_numbers(activity: Activity) -> ParticipantNumbers:
    from_events = (Invitation.objects.filter(attended=True, event__activities=activity)
                   .values("contact_id").distinct().count())
    recorded = ActivityParticipant.objects.filter(activity=activity).count()
    named = participants(activity).count()
    anonymous = activity.headcounts.aggregate(total=Sum("count"))["total"] or 0
    return ParticipantNumbers(from_events, recorded, named, anonymous, named + anonymous)


def allowed_transitions(activity: Activity) -> tuple[str, ...]:
    return TRANSITIONS[activity.status]


def activities_visible_to(user) -> QuerySet[Activity]:
    """Every activity for anyone who may view activities (Commissioners see all); none otherwise."""
    if not can_view(user):
        return Activity.objects.none()
    return Activity.objects.select_related("programme", "lead")


def activity_for_edit(user, pk: int) -> Activity:
    """The activity ``user`` may edit, for a page or API route that changes it.

    Someone who may edit any activity gets Activity.DoesNotExist (a 404) for a missing one. Anyone else
    gets PermissionDenied both for another lead's activity and for one that does not exist: "not yours"
    is the same answer whether or not it exists.
    """
    activity = Activity.objects.select_related("programme", "lead").filter(pk=pk).first()
    if activity is None:
        if user is not None and user.has_perm(CHANGE) and user.has_perm(CHANGE_ANY):
            raise Activity.DoesNotExist
        raise PermissionDenied("Only the activity's lead or the engagement team can change this activity")
    if not can_edit(user, activity):
        raise PermissionDenied("Only the activity's lead or the engagement team can change this activity")
    return activity


# Sort keys a list may ask for: key → ordering (a "-" prefix on the key reverses it).
SORTS = {
    "title": ("title", "pk"),
    "programme": ("programme__name", "title", "pk"),
    "status": ("status_order", "title", "pk"),
    "starts": ("starts_on", "title", "pk"),
    "updated": ("updated_at", "pk"),
}


def filter_activities(activities: QuerySet[Activity], *, status: str = "", programme=None, locality=None,
                      kind: str = "", lead=None, sort: str = "-updated") -> QuerySet[Activity]:
    """The list page's and the API's filters (all optional) and sort (an unknown key sorts by -updated)."""
    if status:
        activities = activities.filter(status=status)
    if programme is not None:
        activities = activities.filter(programme=programme)
    if locality is not None:
        activities = activities.filter(localities=locality)
    if kind:
        activities = activities.filter(kind=kind)
    if lead is not None:
        activities = activities.filter(lead=lead)
    key, descending = sort.lstrip("-"), sort.startswith("-")
    if key not in SORTS:
        key, descending = "updated", True
    # Planned, in progress, completed: the order work goes in, not the alphabet.
    activities = activities.annotate(status_order=Case(
        *(When(status=value, then=Value(index)) for index, value in enumerate(Status.values)),
        output_field=IntegerField()))
    fields = SORTS[key]
    if descending:
        fields = tuple(f"-{name}" for name in fields)
    return activities.order_by(*fields).distinct()


# --- writes -------------------------------------------------------------------------------------

def create_activity(*, actor: Actor, topics=(), localities=(), followers=(), events=(), **values) -> Activity:
    """A new activity (status planned). Values are ACTIVITY_FIELDS; lead defaults to the actor."""
    if not can_create(actor.user):
        raise PermissionDenied("Only the engagement team can create activities")
    values.setdefault("lead", actor.user)
    _check_values(values, creating=True)
    with transaction.atomic():
        activity = Activity(created_by=actor.user)
        for name, value in values.items():
            setattr(activity, name, value)
        _normalise_and_validate(activity)
        activity.save()
        _set_many(activity, {"topics": topics, "localities": localities, "followers": followers, "events": events})
        record_audit(actor=actor, action="activity.created", obj=activity, summary=activity.title,
                     changes={"status": activity.status})
        _notify(activity, "created", actor)
    return activity


def update_activity(*, activity: Activity, actor: Actor, topics=None, localities=None, followers=None,
                    events=None, **values) -> Activity:
    """Change the given fields (others stay). Many-to-many lists replace the current ones; None leaves them."""
    _check_values(values, creating=False)
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        check_can_edit(actor, activity)
        if "lead" in values and _pk(values["lead"]) != activity.lead_id and not actor.user.has_perm(CHANGE_ANY):
            raise PermissionDenied("Only the engagement team can hand an activity to another lead")
        new_programme = values.get("programme")
        if new_programme is not None and _pk(new_programme) != activity.programme_id and not new_programme.is_active:
            raise ValidationError({"programme": "This programme is no longer in use"})
        changed = sorted(name for name, value in values.items() if getattr(activity, name) != value)
        for name, value in values.items():
            setattr(activity, name, value)
        _normalise_and_validate(activity)
        activity.save()
        many = {"topics": topics, "localities": localities, "followers": followers, "events": events}
        many = {name: value for name, value in many.items() if value is not None}
        changed_many = [name for name, value in many.items()
                        if {_pk(v) for v in value} != set(getattr(activity, name).values_list("pk", flat=True))]
        _set_many(activity, many)
        if changed or changed_many:  # a save that changes nothing leaves no audit entry
            record_audit(actor=actor, action="activity.updated", obj=activity, summary=activity.title,
                         changes={"fields": sorted(set(changed) | set(changed_many))})
    return activity


def change_status(*, activity: Activity, status: str, actor: Actor) -> Activity:
    """Move the activity along (TRANSITIONS). Lead and followers are emailed after commit."""
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        check_can_edit(actor, activity)
        if status not in TRANSITIONS.get(activity.status, ()):
            raise ValidationError({"status": _transition_refusal(activity.status, status)})
        previous = activity.status
        activity.status, activity.status_changed_at = status, timezone.now()
        activity.completed_on = timezone.localdate() if status == Status.COMPLETED else None
        activity.save(update_fields=["status", "status_changed_at", "completed_on", "updated_at"])
        record_audit(actor=actor, action="activity.status_changed", obj=activity, summary=activity.title,
                     changes={"status": status, "previous_status": previous})
        _notify(activity, "status", actor, previous_status=previous)
    return activity


def record_feedback_sent(*, activity: Activity, sent_at, recipient_count: int, actor: Actor) -> Activity:
    """A "you said, we did" feedback send finished (called by bulletins): when, and how many it went to.

    The latest send replaces an earlier one on the activity; the audit log keeps every send. Not
    subject to the edit policy: it records a fact reported by the sending pipeline.
    """
    if isinstance(recipient_count, bool) or not isinstance(recipient_count, int) or recipient_count < 0:
        raise ValidationError({"recipient_count": "A whole number of people, zero or more"})
    if sent_at is None or timezone.is_naive(sent_at):
        raise ValidationError({"sent_at": "An aware date and time"})
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        activity.feedback_sent_at, activity.feedback_sent_count = sent_at, recipient_count
        activity.save(update_fields=["feedback_sent_at", "feedback_sent_count", "updated_at"])
        record_audit(actor=actor, action="activity.feedback_sent", obj=activity, summary=activity.title,
                     changes={"recipients": recipient_count})
    return activity


# --- helpers ------------------------------------------------------------------------------------

def _pk(value):
    return getattr(value, "pk", value)


def _check_values(values: dict, *, creating: bool) -> None:
    unknown = set(values) - set(ACTIVITY_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown activity fields: {sorted(unknown)}")
    if creating:
        missing = [name for name in ("title", "programme", "kind") if not values.get(name)]
        if missing:
            raise ValidationError(dict.fromkeys(missing, "This is needed"))


def clean_groups(value) -> list[str]:
    """The expected-affected groups as a list of known codes in the standard order (no repeats)."""
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(code, str) for code in value):
        raise ValidationError({"groups_expected_affected": "A list of protected characteristics"})
    unknown = sorted(set(value) - set(GROUP_CODES))
    if unknown:
        raise ValidationError({"groups_expected_affected": f"Not a protected characteristic: {', '.join(unknown)}"})
    return [code for code in GROUP_CODES if code in value]


def _normalise_and_validate(activity: Activity) -> None:
    activity.title = " ".join((activity.title or "").split())
    errors = {}
    if not activity.title:
        errors["title"] = "Give the activity a title"
    elif has_control_characters(activity.title):
        errors["title"] = "Remove control characters"
    if has_control_characters(activity.equality_analysis_reference or ""):
        errors["equality_analysis_reference"] = "Remove line breaks and control characters"
    activity.groups_expected_affected = clean_groups(activity.groups_expected_affected)
    if activity.equality_analysis_done:
        if not activity.equality_analysis_on:
            errors["equality_analysis_on"] = "Give the date the equality analysis was done"
        elif isinstance(activity.equality_analysis_on, date) and activity.equality_analysis_on > timezone.localdate():
            errors["equality_analysis_on"] = "The equality analysis date must be today or in the past"
    else:
        # Not done: no date or reference may suggest it was (the database also refuses a date).
        activity.equality_analysis_on, activity.equality_analysis_reference = None, ""
    if activity.starts_on and activity.ends_on and activity.ends_on < activity.starts_on:
        errors["ends_on"] = "The end date must be on or after the start date"
    lead = activity.lead if activity.lead_id else None
    if lead is not None and not (lead.is_active and lead.has_perm(VIEW)):
        errors["lead"] = "The lead must be a staff member who can see activities"
    if activity.programme_id and not activity.pk and not activity.programme.is_active:
        errors["programme"] = "This programme is no longer in use"
    if errors:
        raise ValidationError(errors)
    activity.full_clean(exclude=["created_by", "lead", "programme", "groups_expected_affected"])


def _set_many(activity: Activity, many: dict) -> None:
    followers = many.get("followers")
    if followers is not None:
        refused = [user for user in followers if not (user.is_active and user.has_perm(VIEW))]
        if refused:
            raise ValidationError({"followers": "Followers must be staff members who can see activities"})
    for name, value in many.items():
        getattr(activity, name).set(value)


def _transition_refusal(current: str, wanted: str) -> str:
    if wanted not in Status.values:
        return "Choose planned, in progress or completed"
    return f"An activity that is {Status(current).label.lower()} cannot be marked {Status(wanted).label.lower()}"


def _notify(activity: Activity, change: str, actor: Actor, previous_status: str = "") -> None:
    from segments.activity_notifications import notify_on_commit  # noqa: PLC0415 - it imports this module

    notify_on_commit(activity=activity, change=change, actor=actor, previous_status=previous_status)
