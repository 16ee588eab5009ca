"""Staff API for bulletins (mounted at /api/v1/staff/bulletins): write, check, approve; moderate comments.

Each route needs a personal token whose owner holds the same permissions as the matching staff
page; the services then apply their own policy (a second person approves, edits bump the version).

A bulletin may be an event invitation (its event, by public id, and a segment) or "you said, we did"
feedback (a completed activity, by id; it goes to the activity's participants, so no segment), as on
the pages: the event must be one the token's owner may see (``segments.view_event``), the activity one
they may view, and a protected-characteristic segment needs the equality permission. A reference the
owner may not see reads as unknown, so the answer never says whether it exists.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from bulletins import comments, services
from bulletins.accessibility import check_email_html
from bulletins.audience import audience_count
from bulletins.comments import MAX_COMMENT
from bulletins.models import Bulletin, Comment
from bulletins.rendering import render_variant
from crm.api_schemas import (
    MAX_ID,
    MAX_INT32,
    VALIDATION_DETAIL,
    PlainText,
    UnicodeText,
    error_responses,
    service_errors,
)
from crm.audit import actor_from_request
from crm.models import Topic
from crm.staff.api_auth import StaffTokenAuth
from segments.activities import activities_visible_to
from segments.models import Event, Segment

router = Router(tags=["staff bulletins"])
VIEW, ADD, CHANGE = "bulletins.view_bulletin", "bulletins.add_bulletin", "bulletins.change_bulletin"
VIEW_EVENT = "segments.view_event"


class BulletinIn(Schema):
    subject: PlainText = Field(min_length=1, max_length=200)
    preheader: PlainText = Field("", max_length=200)
    introduction: UnicodeText = Field("", max_length=20_000, description="Markdown")
    audience: Literal[tuple(Bulletin.Audience.values)] = Bulletin.Audience.TOPICS
    kind: Literal[tuple(Bulletin.Kind.values)] = Field(
        Bulletin.Kind.BULLETIN, description="event_invitation needs event and segment; activity_feedback needs "
        "activity (a completed one) and takes no segment")
    segment: int | None = Field(None, ge=1, le=MAX_ID, description="Id of a saved segment; required for an invitation")
    event: UUID | None = Field(None, description="Public id of the event an invitation is for")
    activity: int | None = Field(None, ge=1, le=MAX_ID, description="Id of the completed activity feedback is about")


class ItemIn(Schema):
    title: PlainText = Field(min_length=1, max_length=200)
    body_markdown: UnicodeText = Field(min_length=1, max_length=services.MAX_BODY, description="Markdown")
    topic: PlainText = Field(max_length=120, description="Topic slug")
    image_url: PlainText = Field("", max_length=200, description="https:// address of a published image")
    image_alt: PlainText = Field("", max_length=200, description="Required with an image")
    comments_enabled: bool = False


class ItemOut(Schema):
    id: int
    position: int
    title: str
    body_markdown: str
    topic: str
    image_url: str
    image_alt: str
    comments_enabled: bool


class BulletinOut(Schema):
    public_id: UUID
    subject: str
    preheader: str
    introduction: str
    audience: str
    kind: str
    segment: int | None = Field(description="Id of the segment it goes to, if any")
    event: UUID | None = Field(description="Public id of the event an invitation is for")
    activity: int | None = Field(description="Id of the activity feedback is about")
    status: str
    version: int
    approved_version: int | None
    scheduled_for: datetime | None
    created_at: datetime


class FindingOut(Schema):
    check: str
    message: str


class BulletinDetailOut(BulletinOut):
    items: list[ItemOut]
    audience_count: int = Field(description="People it would go to if sent now")
    accessibility: list[FindingOut] = Field(description="Problems found in the email; empty when it passes")


class ApproveIn(Schema):
    version: int = Field(ge=1, le=MAX_INT32, description="The version you read and approve")


class CommentOut(Schema):
    id: int
    bulletin: UUID
    item: str
    body: str
    status: str
    reply: str
    created_at: datetime


class ModerationIn(Schema):
    decision: Literal["approve", "reject"]
    reply: UnicodeText = Field("", max_length=MAX_COMMENT)


def _summary(bulletin: Bulletin) -> dict:
    return {**{name: getattr(bulletin, name) for name in (
        "public_id", "subject", "preheader", "introduction", "audience", "kind", "status", "version",
        "approved_version", "scheduled_for", "created_at")},
        "segment": bulletin.segment_id, "event": bulletin.event.public_id if bulletin.event_id else None,
        "activity": bulletin.activity_id}


def _detail(bulletin: Bulletin) -> dict:
    items = bulletin.items.select_related("topic").order_by("position")
    report = check_email_html(render_variant(bulletin=bulletin).html)
    return {
        **_summary(bulletin),
        "items": [{"id": i.pk, "position": i.position, "title": i.title, "body_markdown": i.body_markdown,
                   "topic": i.topic.slug, "image_url": i.image_url, "image_alt": i.image_alt,
                   "comments_enabled": i.comments_enabled} for i in items],
        "audience_count": audience_count(bulletin=bulletin),
        "accessibility": [{"check": f.check, "message": f.message} for f in report.findings],
    }


def _unknown(field: str, message: str) -> Status:
    return Status(422, {"detail": VALIDATION_DETAIL, "errors": {field: [message]}})


def _references(user, payload: BulletinIn) -> dict | Status:
    """The segment, event and activity the payload names, as the user may see them; a 422 otherwise."""
    found = {"segment": None, "event": None, "activity": None}
    if payload.segment is not None:
        # Visibility (protected rules need the equality permission) is the service's check: same message.
        found["segment"] = Segment.objects.filter(pk=payload.segment).first()
        if found["segment"] is None:
            return _unknown("segment", "Choose a segment from the list")
    if payload.event is not None:
        found["event"] = Event.objects.filter(public_id=payload.event).first() if user.has_perm(VIEW_EVENT) else None
        if found["event"] is None:
            return _unknown("event", "Unknown event")
    if payload.activity is not None:
        found["activity"] = activities_visible_to(user).filter(pk=payload.activity).first()
        if found["activity"] is None:
            return _unknown("activity", "Unknown activity")
    return found


def _refused(error: ValidationError) -> Status:
    errors = service_errors(error)
    detail = " ".join(errors["body"]) if set(errors) == {"body"} else VALIDATION_DETAIL
    return Status(422, {"detail": detail, "errors": errors})


@router.get("", response={200: list[BulletinOut], **error_responses(401, 403)}, auth=StaffTokenAuth(VIEW),
            url_name="staff_bulletins", summary="Bulletins, newest first (at most 200)")
def list_bulletins(request: HttpRequest):
    return [_summary(b) for b in Bulletin.objects.select_related("event").order_by("-created_at")[:200]]


@router.post("", response={201: BulletinDetailOut, **error_responses(400, 401, 403, 422)},
             auth=StaffTokenAuth(VIEW, ADD), url_name="staff_bulletin_create",
             summary="Start a bulletin, an event invitation or activity feedback",
             description="422 when a field is invalid or a rule refuses it: an invitation without its event or "
                         "segment, feedback from an activity not yet completed, a segment, event or activity "
                         "unknown or not one you may see.")
def create_bulletin(request: HttpRequest, payload: BulletinIn):
    references = _references(request.user, payload)
    if isinstance(references, Status):
        return references
    fields = payload.dict(exclude={"segment", "event", "activity"})
    try:
        bulletin = services.create_bulletin(actor=actor_from_request(request), **fields, **references)
    except ValidationError as error:
        return _refused(error)
    return Status(201, _detail(bulletin))


@router.get("/{uuid:public_id}", response={200: BulletinDetailOut, **error_responses(401, 403, 404)},
            auth=StaffTokenAuth(VIEW), url_name="staff_bulletin",
            summary="One bulletin with its items, audience count and accessibility findings")
def bulletin_detail(request: HttpRequest, public_id: UUID):
    return _detail(get_object_or_404(Bulletin, public_id=public_id))


@router.post("/{uuid:public_id}/items", response={201: BulletinDetailOut, **error_responses(400, 401, 403, 404, 422)},
             auth=StaffTokenAuth(VIEW, CHANGE), url_name="staff_bulletin_items",
             summary="Add an item (makes a new version; withdraws any approval)")
def add_item(request: HttpRequest, public_id: UUID, payload: ItemIn):
    bulletin = get_object_or_404(Bulletin, public_id=public_id)
    topic = Topic.objects.filter(slug=payload.topic, is_active=True).first()
    if topic is None:
        return Status(422, {"detail": VALIDATION_DETAIL, "errors": {"topic": ["Unknown topic"]}})
    content = services.ItemContent(title=payload.title, body_markdown=payload.body_markdown, topic=topic,
                                   image_url=payload.image_url, image_alt=payload.image_alt,
                                   comments_enabled=payload.comments_enabled)
    try:
        services.add_item(bulletin=bulletin, content=content, actor=actor_from_request(request))
    except ValidationError as error:
        return _refused(error)
    bulletin.refresh_from_db()
    return Status(201, _detail(bulletin))


@router.post("/{uuid:public_id}/approval", response={200: BulletinDetailOut, **error_responses(400, 401, 403, 404, 409, 422)},
             auth=StaffTokenAuth(VIEW, "bulletins.approve_bulletin"), url_name="staff_bulletin_approval",
             summary="Approve the version you read (not your own bulletin)")
def approve(request: HttpRequest, public_id: UUID, payload: ApproveIn):
    bulletin = get_object_or_404(Bulletin, public_id=public_id)
    try:
        bulletin = services.approve_bulletin(bulletin=bulletin, version=payload.version,
                                             actor=actor_from_request(request))
    except ValidationError as error:
        return _refused(error)
    return _detail(bulletin)


def _comment(comment: Comment) -> dict:
    return {"id": comment.pk, "bulletin": comment.item.bulletin.public_id, "item": comment.item.title,
            "body": comment.body, "status": comment.status, "reply": comment.reply, "created_at": comment.created_at}


@router.get("/comments/pending", response={200: list[CommentOut], **error_responses(401, 403)},
            auth=StaffTokenAuth("bulletins.moderate_comment"), url_name="staff_bulletin_comments",
            summary="Comments waiting for moderation, oldest first (at most 200)")
def pending_comments(request: HttpRequest):
    return [_comment(c) for c in comments.comments_to_moderate()[:200]]


@router.post("/comments/{comment_id}/moderation",
             response={200: CommentOut, **error_responses(400, 401, 403, 404, 422)},
             auth=StaffTokenAuth("bulletins.moderate_comment"), url_name="staff_bulletin_comment_moderation",
             summary="Publish (optionally with a reply) or reject a comment")
def moderate(request: HttpRequest, comment_id: int, payload: ModerationIn):
    if not 1 <= comment_id <= MAX_ID:
        return Status(404, {"detail": "Not Found"})
    comment = get_object_or_404(Comment.objects.select_related("item__bulletin"), pk=comment_id)
    try:
        comment = comments.moderate_comment(comment=comment, decision=payload.decision, reply=payload.reply,
                                            actor=actor_from_request(request))
    except ValidationError as error:
        return _refused(error)
    return _comment(comment)
