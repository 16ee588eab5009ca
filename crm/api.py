"""The API root: one NinjaAPI at /api/v1/, one Router per app."""

from django.core.exceptions import PermissionDenied
from ninja import NinjaAPI

from consent.api import router as consent_router
from consent.staff.api import router as consent_staff_router
from crm.staff.api import router as crm_staff_router

api = NinjaAPI(
    title="My NHS API",
    version="1",
    description="Public sign-up and staff API for My NHS. Staff routes need a personal API token (Bearer).",
    urls_namespace="api",
)


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return api.create_response(request, {"detail": "You do not have permission to do this."}, status=403)


api.add_router("/", consent_router)
api.add_router("/staff/", crm_staff_router)
api.add_router("/staff/contacts", consent_staff_router)
