from django.contrib import admin
from django.urls import include, path, re_path

from bulletins.webhooks import notify_receipt
from crm.api import api, not_found

# The styled 500 page needs the site context (organisation name); 403 and 404 use the templates directly.
handler500 = "crm.views.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # JSON 404, as the API schema documents; [\s\S] because <path:> stops at a newline in the path.
    re_path(r"^api/v1/(?P<unmatched>[\s\S]+)\Z", not_found),
    path("anymail/", include("anymail.urls")),
    path("provider/notify/receipts/", notify_receipt, name="notify_receipt"),  # GOV.UK Notify callbacks
    # Both apps' staff pages live under /staff/ (consent's first: it holds the dashboard at /staff/).
    path("staff/", include("consent.staff.urls")),
    path("staff/", include("crm.staff.urls")),
    path("", include("bulletins.urls")),  # staff/bulletins/... and bulletins/...
    path("", include("segments.urls")),  # staff/segments/, staff/exports/, staff/events/ and events/...
    path("", include("consent.urls")),
]
