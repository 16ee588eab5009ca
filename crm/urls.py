from django.contrib import admin
from django.urls import include, path

from crm.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("anymail/", include("anymail.urls")),
    # Both apps' staff pages live under /staff/ (consent's first: it holds the dashboard at /staff/).
    path("staff/", include("consent.staff.urls")),
    path("staff/", include("crm.staff.urls")),
    path("", include("bulletins.urls")),  # staff/bulletins/... and bulletins/...
    path("", include("consent.urls")),
]
