"""Staff API for engagement activities (mounted at /api/v1/activities): list, one, create, change, status.

The same policy as the pages, from the same services: anyone with ``segments.view_activity`` reads every
activity; creating needs ``segments.add_activity``; changing needs ``segments.change_activity`` and then
either ``segments.change_any_activity`` (Engagement) or being the lead — a Commissioner changing another
lead's activity gets 403 (also for an id that does not exist: "not yours" either way). Named
participants are not listed here, only their numbers.
"""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Path, Query, Router, Schema, Status

from crm.api_schemas import (
    MAX_ID,
    VALIDATION_DETAIL,
    ObjectBody,
    PlainText,
    UnicodeText,
    error_responses,
    service_errors,
)
from crm.audit import actor_from_request
from crm.models import Locality, Topic
from crm.staff.api_auth import StaffTokenAuth
from segments import activities
from segments.models import EXPECTED_AFFECTED_GROUPS, Activity, Event, Programme

router = Router(tags=["staff activities"])

VIEW, ADD, CHANGE = activities.VIEW, activities.ADD, activities.CHANGE
MAX_TEXT = 20_000
MAX_LIST = 200
Kind = Literal[tuple(Activity.Kind.values)]
LegalBasis = Literal[tuple(Activity.LegalBasis.values)]
StatusCode = Literal[tuple(Activity.Status.values)]
Group = Literal[tuple(code for code, _ in EXPECTED_AFFECTED_GROUPS)]
Sort = Literal[tuple(f"{prefix}{key}" for key in activities.SORTS for prefix in ("", "-"))]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Slug = Annotated[PlainText, Field(min_length=1, max_length=120)]


# --- output -----------------------------------------------------------------------------------------

class StaffOut(Schema):
    id: int
    name: str


class NamedOut(Schema):
    slug: str
    name: str


class ProgrammeOut(Schema):
    id: int
    name: str


class EventRefOut(Schema):
    public_id: UUID
    title: str
    starts_at: datetime


class NumbersOut(Schema):
    from_events: int = Field(description="Named people who attended a linked event")
    recorded: int = Field(description="Named participants recorded on the activity")
    named: int = Field(description="The two together, each person once")
    anonymous: int = Field(description="Sum of the anonymous headcounts")
    total: int = Field(description="named + anonymous")


class ActivitySummaryOut(Schema):
    id: int
    title: str
    programme: ProgrammeOut
    kind: str
    status: str
    starts_on: date | None
    ends_on: date | None
    completed_on: date | None
    lead: StaffOut
    updated_at: datetime


class ActivityOut(ActivitySummaryOut):
    summary: str
    legal_basis: str
    status_changed_at: datetime | None
    followers: list[StaffOut]
    topics: list[NamedOut]
    localities: list[NamedOut]
    events: list[EventRefOut]
    equality_analysis_done: bool
    equality_analysis_on: date | None
    equality_analysis_reference: str
    groups_expected_affected: list[str]
    themes_heard: str
    you_said: str
    we_did: str
    feedback_published_on: date | None
    feedback_sent_at: datetime | None
    feedback_sent_count: int | None
    participants: NumbersOut
    created_at: datetime


def _staff(user) -> dict:
    return {"id": user.pk, "name": user.get_full_name() or user.get_username()}


def _summary(activity: Activity) -> dict:
    return {
        "id": activity.pk, "title": activity.title,
        "programme": {"id": activity.programme_id, "name": activity.programme.name},
        "kind": activity.kind, "status": activity.status, "starts_on": activity.starts_on,
        "ends_on": activity.ends_on, "completed_on": activity.completed_on, "lead": _staff(activity.lead),
        "updated_at": activity.updated_at,
    }


def _full(activity: Activity) -> dict:
    numbers = activities.participant_numbers(activity)
    return {
        **_summary(activity),
        **{name: getattr(activity, name) for name in (
            "summary", "legal_basis", "status_changed_at", "equality_analysis_done", "equality_analysis_on",
            "equality_analysis_reference", "groups_expected_affected", "themes_heard", "you_said", "we_did",
            "feedback_published_on", "feedback_sent_at", "feedback_sent_count", "created_at")},
        "followers": [_staff(u) for u in activity.followers.order_by("pk")],
        "topics": [{"slug": t.slug, "name": t.name} for t in activity.topics.order_by("name")],
        "localities": [{"slug": loc.slug, "name": loc.name} for loc in activity.localities.order_by("name")],
        "events": [{"public_id": e.public_id, "title": e.title, "starts_at": e.starts_at}
                   for e in activity.events.order_by("starts_at")],
        "participants": {"from_events": numbers.from_events, "recorded": numbers.recorded, "named": numbers.named,
                         "anonymous": numbers.anonymous, "total": numbers.total},
    }


# --- input ------------------------------------------------------------------------------------------

class ActivityListIn(Schema):
    status: Literal["", *Activity.Status.values] = ""
    kind: Literal["", *Activity.Kind.values] = ""
    programme_id: int | None = Field(None, ge=1, le=MAX_ID)
    locality: PlainText = Field("", max_length=50, description="Locality slug")
    lead_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only activities this staff member leads")
    sort: Sort = "-updated"
    limit: int = Field(100, ge=1, le=500)


class ActivityChangeIn(ObjectBody):
    """Fields to change; a field left out stays as it is. Lists replace the current ones."""

    title: PlainText | None = Field(None, min_length=1, max_length=200)
    summary: UnicodeText | None = Field(None, max_length=MAX_TEXT)
    programme_id: int | None = Field(None, ge=1, le=MAX_ID)
    kind: Kind | None = None
    legal_basis: LegalBasis | None = None
    lead_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only the engagement team may change the lead")
    follower_ids: list[Id] | None = Field(None, max_length=MAX_LIST)
    topics: list[Slug] | None = Field(None, max_length=MAX_LIST, description="Topic slugs")
    localities: list[Slug] | None = Field(None, max_length=MAX_LIST, description="Locality slugs")
    event_ids: list[UUID] | None = Field(None, max_length=MAX_LIST, description="Events' public ids")
    starts_on: date | None = None
    ends_on: date | None = None
    equality_analysis_done: bool | None = None
    equality_analysis_on: date | None = None
    equality_analysis_reference: PlainText | None = Field(None, max_length=200)
    groups_expected_affected: list[Group] | None = Field(None, max_length=len(EXPECTED_AFFECTED_GROUPS) * 2)
    themes_heard: UnicodeText | None = Field(None, max_length=MAX_TEXT)
    you_said: UnicodeText | None = Field(None, max_length=MAX_TEXT)
    we_did: UnicodeText | None = Field(None, max_length=MAX_TEXT)
    feedback_published_on: date | None = None


class ActivityIn(ActivityChangeIn):
    title: PlainText = Field(..., min_length=1, max_length=200)
    programme_id: int = Field(..., ge=1, le=MAX_ID)
    kind: Kind
    lead_id: int | None = Field(None, ge=1, le=MAX_ID, description="Defaults to you")


class StatusIn(Schema):
    status: StatusCode = Field(description="planned → in_progress → completed; in_progress → planned; "
                                           "completed → in_progress (reopen)")


def _invalid(errors: dict[str, list[str]]) -> Status:
    return Status(422, {"detail": VALIDATION_DETAIL, "errors": errors})


def _resolve(values: dict) -> tuple[dict, dict]:
    """API names (ids, slugs) → the services' values and many-to-many lists; ValidationError if unknown."""
    values = dict(values)
    plain, many, errors = {}, {}, {}
    users = get_user_model().objects.filter(is_active=True)
    if "programme_id" in values:
        programme = Programme.objects.filter(pk=values.pop("programme_id")).first() if values["programme_id"] else None
        if programme is None:
            errors["programme_id"] = ["No such programme"]
        plain["programme"] = programme
    if "lead_id" in values:
        lead_id = values.pop("lead_id")
        if lead_id is not None:
            plain["lead"] = users.filter(pk=lead_id).first()
            if plain["lead"] is None:
                errors["lead_id"] = ["No such active staff member"]
    lookups = {"follower_ids": ("followers", users, "pk", "No such active staff member"),
               "topics": ("topics", Topic.objects.all(), "slug", "No such topic"),
               "localities": ("localities", Locality.objects.all(), "slug", "No such locality"),
               "event_ids": ("events", Event.objects.all(), "public_id", "No such event")}
    for key, (name, queryset, field, message) in lookups.items():
        if key not in values:
            continue
        wanted = values.pop(key)
        if wanted is None:
            continue
        found = list(queryset.filter(**{f"{field}__in": set(wanted)}))
        if len(found) != len(set(wanted)):
            errors[key] = [message]
        many[name] = found
    for key, value in values.items():
        if value is None and key in ("title", "kind", "legal_basis", "equality_analysis_done"):
            errors[key] = ["This cannot be empty"]
        elif value is None and key in ("summary", "equality_analysis_reference", "themes_heard", "you_said",
                                       "we_did", "groups_expected_affected"):
            plain[key] = [] if key == "groups_expected_affected" else ""
        else:
            plain[key] = value
    if errors:
        raise ValidationError(errors)
    return plain, many


def _activity(activity_id: int) -> Activity:
    return get_object_or_404(Activity.objects.select_related("programme", "lead"), pk=activity_id)


@router.get("", response={200: list[ActivitySummaryOut], **error_responses(401, 403, 422)},
            auth=StaffTokenAuth(VIEW), summary="Engagement activities (every one; filters optional)")
def list_activities(request: HttpRequest, query: Query[ActivityListIn]):
    locality = None
    if query.locality:
        locality = Locality.objects.filter(slug=query.locality).first()
        if locality is None:
            return []
    rows = activities.filter_activities(
        activities.activities_visible_to(request.user), status=query.status, kind=query.kind,
        programme=query.programme_id, locality=locality, lead=query.lead_id, sort=query.sort)
    return [_summary(a) for a in rows[:query.limit]]


@router.post("", response={201: ActivityOut, **error_responses(400, 401, 403, 422)},
             auth=StaffTokenAuth(VIEW, ADD), summary="Record a new activity (status planned)")
def create_activity(request: HttpRequest, payload: ActivityIn):
    try:
        plain, many = _resolve(payload.model_dump(exclude_unset=True))
        activity = activities.create_activity(actor=actor_from_request(request), **plain, **many)
    except ValidationError as error:
        return _invalid(service_errors(error))
    return Status(201, _full(_activity(activity.pk)))


@router.get("/{int:activity_id}", response={200: ActivityOut, **error_responses(401, 403, 404, 422)},
            auth=StaffTokenAuth(VIEW), summary="One activity, with its participant numbers")
def get_activity(request: HttpRequest, activity_id: int = Path(..., ge=1, le=MAX_ID)):
    return _full(_activity(activity_id))


def _editable(request: HttpRequest, activity_id: int) -> Activity:
    try:
        return activities.activity_for_edit(request.user, activity_id)
    except Activity.DoesNotExist as missing:
        raise Http404 from missing


@router.patch("/{int:activity_id}", response={200: ActivityOut, **error_responses(400, 401, 403, 404, 422)},
              auth=StaffTokenAuth(VIEW, CHANGE),
              summary="Change an activity (its lead, or the engagement team); fields left out stay")
def update_activity(request: HttpRequest, payload: ActivityChangeIn, activity_id: int = Path(..., ge=1, le=MAX_ID)):
    activity = _editable(request, activity_id)
    try:
        plain, many = _resolve(payload.model_dump(exclude_unset=True))
        activities.update_activity(activity=activity, actor=actor_from_request(request), **plain, **many)
    except ValidationError as error:
        return _invalid(service_errors(error))
    return _full(_activity(activity.pk))


@router.post("/{int:activity_id}/status",
             response={200: ActivityOut, **error_responses(400, 401, 403, 404, 409, 422)},
             auth=StaffTokenAuth(VIEW, CHANGE), summary="Move an activity to another status (emails lead and followers)")
def change_status(request: HttpRequest, payload: StatusIn, activity_id: int = Path(..., ge=1, le=MAX_ID)):
    activity = _editable(request, activity_id)
    try:
        activities.change_status(activity=activity, status=payload.status, actor=actor_from_request(request))
    except ValidationError as error:
        return Status(409, {"detail": " ".join(error.messages)})
    return _full(_activity(activity.pk))
