from django.contrib import admin
from django.urls import include, path

from crm.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("anymail/", include("anymail.urls")),
    path("", include("consent.urls")),
]
