"""The API root: one NinjaAPI at /api/v1/, one Router per app.

Every error leaves in one of the two shapes of ``crm.api_schemas`` (ninja's own 401 and 422 bodies
included), and the OpenAPI schema describes each documented status and its headers, so what the
schema promises is what clients get (bin/api-fuzz checks it against a live server).
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError

from bulletins.api import router as bulletins_staff_router
from consent.api import router as consent_router
from consent.staff.api import router as consent_staff_router
from crm.api_schemas import VALIDATION_DETAIL, error_description, field_errors
from crm.staff.api import router as crm_staff_router
from segments.api import router as segments_router
from segments.api_activities import router as activities_router

NOT_AUTHENTICATED = "Send a valid personal API token: Authorization: Bearer mynhs_…"
NOT_PERMITTED = "You do not have permission to do this."
NOT_FOUND = "Not Found"

_RESPONSE_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer (RFC 6750)", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait before trying again", "required": True,
                          "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
}


class MyNhsApi(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    code = int(status)
                    if code >= 400:
                        response["description"] = error_description(code)
                    if code in _RESPONSE_HEADERS:
                        response["headers"] = _RESPONSE_HEADERS[code]
        return schema


api = MyNhsApi(
    title="My NHS API",
    version="1",
    description=(
        "Public sign-up and staff API for My NHS. Staff routes need a personal API token (Bearer), "
        "created on the staff API tokens page. Errors answer `{\"detail\": \"…\"}`; invalid input "
        "answers 422 with `errors`, a list of messages per field."
    ),
    urls_namespace="api",
)


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return api.create_response(request, {"detail": NOT_PERMITTED}, status=403)


@api.exception_handler(AuthenticationError)
def not_authenticated(request, exc):
    response = api.create_response(request, {"detail": NOT_AUTHENTICATED}, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(RequestDataTooBig)
def body_too_large(request, exc):
    # Django would answer an HTML 400 and log a traceback; the API answers its documented 400.
    limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1_000_000
    return api.create_response(request, {"detail": f"The request body is too large (at most {limit_mb:g} MB)"},
                               status=400)


@api.exception_handler(NinjaValidationError)
def invalid_input(request, exc):
    return api.create_response(request, {"detail": VALIDATION_DETAIL, "errors": field_errors(exc.errors)},
                               status=422)


@csrf_exempt  # a POST to a wrong path is a 404 like any other, not a CSRF failure page
def not_found(request: HttpRequest, unmatched: str = "") -> JsonResponse:
    """Any other path under /api/v1/ answers the API's JSON 404, not the HTML page (crm.urls)."""
    return JsonResponse({"detail": NOT_FOUND}, status=404)


api.add_router("/", consent_router)
api.add_router("/staff/", crm_staff_router)
api.add_router("/staff/contacts", consent_staff_router)
api.add_router("/staff/bulletins", bulletins_staff_router)
api.add_router("/segments", segments_router)
api.add_router("/activities", activities_router)
