"""Reads for the staff workspace: the audit log and staff accounts."""

from django.contrib.auth.models import Group, User
from django.db.models import Prefetch, QuerySet
from django_otp import device_classes

from crm.models import AuditEntry, StaffRoleRequest


def audit_entries(*, action: str = "", object_type: str = "", object_id: str = "", actor: str = "") -> QuerySet:
    """Newest first. ``action`` matches a prefix ("staff." finds every staff action); the rest match exactly."""
    entries = AuditEntry.objects.order_by("-id")
    if action:
        entries = entries.filter(action__startswith=action.strip())
    if object_type:
        entries = entries.filter(object_type=object_type.strip().lower())
    if object_id:
        entries = entries.filter(object_id=object_id.strip())
    if actor:
        entries = entries.filter(actor_label=actor.strip())
    return entries


def staff_accounts() -> QuerySet:
    return User.objects.order_by("username").prefetch_related(
        Prefetch("groups", queryset=Group.objects.order_by("name"))
    )


def users_with_second_factor(user_ids=None) -> set[int]:
    """Ids of users holding at least one confirmed OTP device (authenticator app or backup codes)."""
    found: set[int] = set()
    for model in device_classes():
        devices = model.objects.filter(confirmed=True)
        if user_ids is not None:
            devices = devices.filter(user_id__in=list(user_ids))
        found.update(devices.values_list("user_id", flat=True))
    return found


def pending_role_requests(*, user=None) -> QuerySet:
    """Changes to powerful roles waiting for a second Administrator, oldest first."""
    requests = StaffRoleRequest.objects.filter(status=StaffRoleRequest.Status.PENDING).select_related(
        "user", "requested_by").order_by("requested_at", "id")
    return requests.filter(user=user) if user is not None else requests
