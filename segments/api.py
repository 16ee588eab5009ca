"""Staff API for segments (mounted at /api/v1/segments): list, create, update, count and preview.

Each route checks, through the personal token, the permission the matching staff page needs. Rules
that use protected characteristics need the equality permission too (403 otherwise, from the
service), and every such use is audited. Invalid rules answer 422 with a message per rule.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Path, Router, Schema, Status

from crm.api_schemas import MAX_ID, VALIDATION_DETAIL, PlainText, error_responses, service_errors
from crm.audit import actor_from_request
from crm.staff.api_auth import StaffTokenAuth
from segments import selectors, services
from segments.models import Segment
from segments.rules import RulesInvalid

router = Router(tags=["staff segments"])


class RulesIn(Schema):
    rules: dict[str, Any] = Field(description='{"version": 1, "match": "all"|"any", "rules": [conditions or groups]}')


class SegmentIn(RulesIn):
    name: PlainText = Field(max_length=120)
    description: PlainText = Field("", max_length=300)


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    rules: dict[str, Any]
    uses_equality: bool
    created_at: datetime
    updated_at: datetime


class CountOut(Schema):
    matching: int = Field(description="Contacts the rules select")
    reachable_for_events: int = Field(description="Of those, how many may be invited to events now")
    reachable_for_bulletin: int = Field(description="Of those, how many may be sent the e-bulletin now")


class PreviewPersonOut(Schema):
    public_id: UUID
    name: str
    locality: str
    kind: str


def _rules_invalid(error: RulesInvalid) -> Status:
    errors: dict[str, list[str]] = {}
    for item in error.errors:
        key = ".".join(["rules", *item["loc"]])
        errors.setdefault(key, []).append(item["msg"])
    return Status(422, {"detail": VALIDATION_DETAIL, "errors": errors})


def _segment(request: HttpRequest, segment_id: int) -> Segment:
    return get_object_or_404(selectors.segments_visible_to(request.user), pk=segment_id)


@router.get("", response={200: list[SegmentOut], **error_responses(401, 403)},
            auth=StaffTokenAuth("segments.view_segment"), summary="Segments you may see")
def list_segments(request: HttpRequest):
    return list(selectors.segments_visible_to(request.user).order_by("name")[:500])


@router.post("", response={201: SegmentOut, **error_responses(400, 401, 403, 422)},
             auth=StaffTokenAuth("segments.add_segment"), summary="Save a new segment")
def create_segment(request: HttpRequest, payload: SegmentIn):
    try:
        segment = services.create_segment(name=payload.name, description=payload.description, rules=payload.rules,
                                          actor=actor_from_request(request))
    except RulesInvalid as error:
        return _rules_invalid(error)
    except ValidationError as error:
        return Status(422, {"detail": VALIDATION_DETAIL, "errors": service_errors(error)})
    return Status(201, segment)


@router.get("/{int:segment_id}", response={200: SegmentOut, **error_responses(401, 403, 404, 422)},
            auth=StaffTokenAuth("segments.view_segment"), summary="One segment")
def get_segment(request: HttpRequest, segment_id: int = Path(..., ge=1, le=MAX_ID)):
    return _segment(request, segment_id)


@router.put("/{int:segment_id}", response={200: SegmentOut, **error_responses(400, 401, 403, 404, 422)},
            auth=StaffTokenAuth("segments.change_segment"), summary="Change a segment's name or rules")
def update_segment(request: HttpRequest, payload: SegmentIn, segment_id: int = Path(..., ge=1, le=MAX_ID)):
    segment = _segment(request, segment_id)
    try:
        return services.update_segment(segment=segment, name=payload.name, description=payload.description,
                                       rules=payload.rules, actor=actor_from_request(request))
    except RulesInvalid as error:
        return _rules_invalid(error)
    except ValidationError as error:
        return Status(422, {"detail": VALIDATION_DETAIL, "errors": service_errors(error)})


@router.post("/count", response={200: CountOut, **error_responses(400, 401, 403, 422)},
             auth=StaffTokenAuth("segments.view_segment"), summary="Count unsaved rules")
def count_rules(request: HttpRequest, payload: RulesIn):
    try:
        return selectors.count_segment(rules=payload.rules, actor=actor_from_request(request))
    except RulesInvalid as error:
        return _rules_invalid(error)


@router.get("/{int:segment_id}/count", response={200: CountOut, **error_responses(401, 403, 404, 422)},
            auth=StaffTokenAuth("segments.view_segment"), summary="Count a saved segment")
def count_segment(request: HttpRequest, segment_id: int = Path(..., ge=1, le=MAX_ID)):
    segment = _segment(request, segment_id)
    return selectors.count_segment(rules=segment.rules, actor=actor_from_request(request), segment=segment)


def _preview(people) -> list[dict]:
    return [{"public_id": c.public_id, "name": c.name, "locality": c.locality.name if c.locality else "",
             "kind": c.get_kind_display()} for c in people]


@router.post("/preview", response={200: list[PreviewPersonOut], **error_responses(400, 401, 403, 422)},
             auth=StaffTokenAuth("segments.view_segment", "crm.view_contact"), summary="A sample for unsaved rules")
def preview_rules(request: HttpRequest, payload: RulesIn):
    try:
        return _preview(selectors.preview_segment(rules=payload.rules, actor=actor_from_request(request)))
    except RulesInvalid as error:
        return _rules_invalid(error)


@router.get("/{int:segment_id}/preview", response={200: list[PreviewPersonOut], **error_responses(401, 403, 404, 422)},
            auth=StaffTokenAuth("segments.view_segment", "crm.view_contact"), summary="A sample of a saved segment")
def preview_segment(request: HttpRequest, segment_id: int = Path(..., ge=1, le=MAX_ID)):
    segment = _segment(request, segment_id)
    people = selectors.preview_segment(rules=segment.rules, actor=actor_from_request(request), segment=segment)
    return _preview(people)
