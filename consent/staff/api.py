"""Staff API for contacts (mounted at /api/v1/staff/contacts): search, one contact, record consent.

Each route checks, through the personal token, the same permissions as the matching staff page.
Equality answers are included only for tokens whose owner holds ``crm.view_equality_data``, and
each such read is audited exactly like the page. Numbers and text are bounded at the edge, so
nothing a client sends can overflow or be refused by the database (422, never 500).
"""

from datetime import datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from consent import services
from consent.exports import personal_data_for
from consent.models import ConsentState, ConsentStatement, Purpose
from consent.search import MAX_PAGE_SIZE, PAGE_SIZE, PURPOSE_STATES, ContactFilters, search_contacts
from consent.staff.forms import STAFF_ACTIONS, STAFF_METHODS
from crm.api_schemas import MAX_ID, MAX_INT32, VALIDATION_DETAIL, PlainText, error_responses, service_errors
from crm.audit import actor_from_request
from crm.models import CommunicationNeed, Contact, Locality, Topic
from crm.services import record_equality_view
from crm.staff.api_auth import StaffTokenAuth

router = Router(tags=["staff contacts"])

# A client's clock may run a little ahead of ours (the ledger allows the same).
FUTURE_TOLERANCE = timedelta(minutes=5)
StaffMethod = Literal[tuple(value for value, _ in STAFF_METHODS)]
StaffAction = Literal[tuple(str(value) for value, _ in STAFF_ACTIONS)]


class ContactSearchIn(Schema):
    name: PlainText = Field("", max_length=200)
    name_match: Literal["contains", "prefix"] = "contains"
    email: PlainText = Field("", max_length=254, description="A whole address, or its start")
    postcode: PlainText = Field("", max_length=10, description="A whole postcode, or its start")
    locality: PlainText = Field("", max_length=50, description="Locality slug, as listed by the staff contact search")
    topic: PlainText = Field("", max_length=50, description="Topic slug")
    purpose: Literal["", *Purpose.Code.values] = Field("", description="Purpose code; use with purpose_state")
    purpose_state: Literal["", *PURPOSE_STATES] = ""
    kind: Literal["", *Contact.Kind.values] = ""
    organisation: int | None = Field(None, ge=1, le=MAX_ID, description="Organisation id")
    need: Literal["", *CommunicationNeed.Need.values] = Field("", description="Communication need code")
    after: int | None = Field(None, ge=1, le=MAX_ID,
                              description="Cursor: contacts older than this (next_after of a page)")
    before: int | None = Field(None, ge=1, le=MAX_ID,
                               description="Cursor: contacts newer than this (prev_before of a page)")
    limit: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class ContactSummaryOut(Schema):
    public_id: UUID
    name: str
    email: str
    postcode: str
    locality: str | None
    kind: str
    organisation: str | None
    created_at: datetime


class ContactPageOut(Schema):
    items: list[ContactSummaryOut]
    next_after: int | None = Field(description="Pass as ?after= for the next page; null on the last page")
    prev_before: int | None = Field(description="Pass as ?before= for the previous page; null on the first")


class ConsentStateOut(Schema):
    purpose: str
    status: str
    since: datetime
    statement_version: int


class NeedOut(Schema):
    need: str
    detail: str


class ContactDetailOut(ContactSummaryOut):
    preferred_language: str
    source: str
    confirmed_at: datetime | None
    topics: list[str]
    communication_needs: list[NeedOut]
    consent_states: list[ConsentStateOut]
    equality_answers: dict[str, str] | None = Field(
        None, description="Only for tokens with crm.view_equality_data; each read is audited")


def _iso_text(value):
    # JSON has no date type: only the ISO 8601 text the schema documents, not a number of seconds.
    if value is not None and not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "Enter a date and time like 2026-11-30T14:00:00Z")
    return value


def _real_moment(value: datetime | None) -> datetime | None:
    # Years near 1 or 9999 overflow when converted to UTC for storage; nothing real is out there.
    if value is not None and not 1900 <= value.year <= 2999:
        raise PydanticCustomError("date_range", "Enter a date between the years 1900 and 2999")
    return value


class ConsentIn(Schema):
    purpose: Literal[tuple(Purpose.Code.values)]
    action: StaffAction
    method: StaffMethod
    statement_version: int | None = Field(None, ge=1, le=MAX_INT32,
                                          description="Published version; default the current one")
    occurred_at: Annotated[datetime | None, BeforeValidator(_iso_text), AfterValidator(_real_moment)] = Field(
        None, strict=False, description="When it happened (no later than now); default now. Without an offset: UK time")
    evidence_reference: PlainText = Field(min_length=1, max_length=200,
                                          description="Where the evidence is kept, e.g. a form or call reference")

    # Strict: a JSON body means what its types say (true is not a version number, "5" not 5).
    model_config = {"strict": True, "json_schema_extra": {"examples": [{
        "purpose": "events", "action": "confirmed", "method": "phone", "evidence_reference": "Call log 2026-118"}]}}


class ConsentEventOut(Schema):
    id: int
    purpose: str
    action: str
    method: str
    statement_version: int
    occurred_at: datetime
    recorded_at: datetime
    evidence_reference: str
    state: str


def _summary(contact: Contact) -> dict:
    return {
        "public_id": contact.public_id, "name": contact.name, "email": contact.email, "postcode": contact.postcode,
        "locality": contact.locality.name if contact.locality else None, "kind": contact.kind,
        "organisation": contact.organisation.name if contact.organisation else None,
        "created_at": contact.created_at,
    }


def _pk_for(model, slug: str) -> int | None:
    """A slug that matches nothing must match no contacts (not be ignored): -1 is never an id."""
    if not slug:
        return None
    return model.objects.filter(slug=slug).values_list("pk", flat=True).first() or -1


@router.get("", response={200: ContactPageOut, **error_responses(401, 403, 422)},
            auth=StaffTokenAuth("crm.view_contact"), url_name="staff_contacts",
            summary="Search contacts (keyset pagination, newest first)")
def search(request: HttpRequest, query: Query[ContactSearchIn]):
    filters = ContactFilters(
        name=query.name, name_match=query.name_match, email=query.email, postcode=query.postcode,
        locality=_pk_for(Locality, query.locality), topic=_pk_for(Topic, query.topic),
        purpose=query.purpose if query.purpose_state else "", purpose_state=query.purpose_state if query.purpose else "",
        kind=query.kind, organisation=query.organisation, need=query.need,
    )
    page = search_contacts(filters, after=query.after, before=query.before, size=query.limit)
    return {"items": [_summary(c) for c in page.rows], "next_after": page.next_after, "prev_before": page.prev_before}


def _equality_answers(request: HttpRequest, contact: Contact) -> dict[str, str] | None:
    if not request.user.has_perm("crm.view_equality_data"):
        return None
    record_equality_view(contact=contact, actor=actor_from_request(request))
    answers = personal_data_for(contact)["equality_answers"]
    return {field: item["answer"] for field, item in answers["answers"].items()} if answers else {}


# A malformed id matches no route: the API's catch-all answers its JSON 404 (crm.api.not_found).
@router.get("/{uuid:public_id}", response={200: ContactDetailOut, **error_responses(401, 403, 404)},
            auth=StaffTokenAuth("crm.view_contact"), url_name="staff_contact",
            summary="One contact with topics, needs and consent states")
def detail(request: HttpRequest, public_id: UUID):
    contact = get_object_or_404(Contact.objects.select_related("locality", "organisation"), public_id=public_id)
    states = ConsentState.objects.filter(contact=contact).select_related("purpose", "statement")
    return {
        **_summary(contact),
        "preferred_language": contact.preferred_language, "source": contact.source,
        "confirmed_at": contact.confirmed_at,
        "topics": list(contact.topics.order_by("slug").values_list("slug", flat=True)),
        "communication_needs": list(contact.communication_needs.order_by("need").values("need", "detail")),
        "consent_states": [
            {"purpose": s.purpose.code, "status": s.status, "since": s.since, "statement_version": s.statement.version}
            for s in states.order_by("purpose__display_order")
        ],
        "equality_answers": _equality_answers(request, contact),
    }


def _invalid(field: str, message: str) -> Status:
    return Status(422, {"detail": VALIDATION_DETAIL, "errors": {field: [message]}})


@router.post("/{uuid:public_id}/consents",
             response={201: ConsentEventOut, **error_responses(400, 401, 403, 404, 422)},
             auth=StaffTokenAuth("crm.view_contact", "consent.add_consentevent"), url_name="staff_contact_consents",
             summary="Record consent given or withdrawn (paper, phone, event, on request)",
             description=(
                 "Answers 422 with a message per field for invalid input, and 422 with the reason as `detail` "
                 "when the person's consent record forbids the event (for example consent given over a "
                 "withdrawal or a suppression: only the person's own confirmed sign-up can restore it)."))
def record_consent(request: HttpRequest, public_id: UUID, payload: ConsentIn):
    contact = get_object_or_404(Contact, public_id=public_id)
    purpose = Purpose.objects.filter(code=payload.purpose).first()
    if purpose is None:
        return _invalid("purpose", f"Unknown purpose: {payload.purpose}")
    statement = None
    if payload.statement_version is not None:
        statement = ConsentStatement.objects.filter(purpose=purpose, version=payload.statement_version).first()
        if statement is None:
            return _invalid("statement_version", "No such wording version for this purpose")
    occurred_at = payload.occurred_at
    if occurred_at is not None and timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)  # read as local (Europe/London) time
    if occurred_at is not None and occurred_at > timezone.now() + FUTURE_TOLERANCE:
        return _invalid("occurred_at", "Enter a time that has already happened")
    try:
        event = services.record_consent(
            contact=contact, purpose=purpose, action=payload.action, method=payload.method, statement=statement,
            occurred_at=occurred_at, evidence_reference=payload.evidence_reference,
            actor=actor_from_request(request),
        )
    except ValidationError as error:
        # The ledger's refusals concern the request as a whole: their reason is the detail.
        errors = service_errors(error)
        detail = " ".join(errors["body"]) if set(errors) == {"body"} else VALIDATION_DETAIL
        return Status(422, {"detail": detail, "errors": errors})
    state = ConsentState.objects.get(contact=contact, purpose=purpose)
    return Status(201, {
        "id": event.pk, "purpose": purpose.code, "action": event.action, "method": event.method,
        "statement_version": event.statement.version, "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at, "evidence_reference": event.evidence_reference, "state": state.status,
    })
