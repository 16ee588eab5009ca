"""Staff API authentication: personal tokens (hashed at rest), checked like the pages' permissions."""

import hashlib
import secrets

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from ninja.security import HttpBearer

from crm.models import StaffApiToken

TOKEN_PREFIX = "mynhs_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def generate_token() -> tuple[str, str]:
    """Returns (raw token shown once, short public prefix)."""
    prefix = secrets.token_hex(4)
    return f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


class StaffTokenAuth(HttpBearer):
    """``auth=StaffTokenAuth("crm.view_contact")``: a live token whose user holds every permission.

    No token / unknown / revoked token → 401. Valid token without the permission → 403.
    """

    def __init__(self, *permissions: str):
        super().__init__()
        self.permissions = permissions

    def authenticate(self, request, token):
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        record = (
            StaffApiToken.objects.select_related("user")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if record is None:
            return None
        if self.permissions and not record.user.has_perms(self.permissions):
            raise PermissionDenied
        StaffApiToken.objects.filter(pk=record.pk).update(last_used_at=timezone.now())
        request.user = record.user
        request.staff_token = record
        return record.user
