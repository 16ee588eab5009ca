"""Staff API routes of the crm app (mounted at /api/v1/staff/): who am I, and the audit log.

Every route takes a personal API token (``StaffTokenAuth``) and checks the same permission as the
matching staff page, so a token can never do more than its owner could in the browser.
"""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from crm.api_schemas import MAX_INT32, PlainText, error_responses
from crm.audit_labels import action_label
from crm.staff import selectors
from crm.staff.api_auth import StaffTokenAuth

router = Router(tags=["staff"])


class MeOut(Schema):
    username: str
    first_name: str
    last_name: str
    roles: list[str]
    permissions: list[str]
    token_name: str


class AuditEntryOut(Schema):
    id: int
    created_at: datetime
    actor: str
    action: str
    action_label: str
    object_type: str
    object_id: str
    summary: str
    changes: dict
    ip_address: str | None

    @staticmethod
    def resolve_actor(entry) -> str:
        return entry.actor_label

    @staticmethod
    def resolve_action_label(entry) -> str:
        return action_label(entry.action)


class AuditFilter(Schema):
    action: PlainText = Field("", max_length=80, description="Action code or its start: staff. finds every staff action")
    object_type: PlainText = Field("", max_length=80)
    object_id: PlainText = Field("", max_length=64)
    actor: PlainText = Field("", max_length=150, description="Who acted, as shown in the log")


@router.get("/me", response={200: MeOut, **error_responses(401)}, auth=StaffTokenAuth(),
            summary="The staff member the token belongs to")
def me(request: HttpRequest):
    user = request.user
    return {
        "username": user.get_username(), "first_name": user.first_name, "last_name": user.last_name,
        "roles": sorted(user.groups.values_list("name", flat=True)),
        "permissions": sorted(user.get_all_permissions()),
        "token_name": request.staff_token.name,
    }


class AuditPagination(PageNumberPagination):
    class Input(Schema):
        # Bounded, so that (page - 1) * page_size always fits the database's OFFSET: a larger page
        # number answers 422 rather than overflowing in the driver (a 500).
        page: int = Field(1, ge=1, le=MAX_INT32)
        page_size: int | None = Field(None, ge=1, le=500, description="Default 50")

    def __init__(self, **kwargs):
        super().__init__(page_size=50, max_page_size=500, **kwargs)


@router.get("/audit", response={200: list[AuditEntryOut], **error_responses(401, 403, 422)},
            auth=StaffTokenAuth("crm.view_auditentry"), summary="Audit log entries, newest first")
@paginate(AuditPagination)
def audit(request: HttpRequest, filters: Query[AuditFilter]):
    # A queryset, so the paginator slices it in SQL (the log grows without limit).
    return selectors.audit_entries(action=filters.action, object_type=filters.object_type,
                                   object_id=filters.object_id, actor=filters.actor)
