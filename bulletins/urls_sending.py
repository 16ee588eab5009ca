"""Routes for a send in progress (B1). Added to bulletins/urls.py (namespace "bulletins") by B2."""

from django.urls import path

from bulletins import views_sending

urlpatterns = [
    path("staff/bulletins/<uuid:public_id>/progress/", views_sending.progress, name="progress"),
    path("staff/bulletins/<uuid:public_id>/progress.json", views_sending.progress_json, name="progress_json"),
    path("staff/bulletins/<uuid:public_id>/pause/", views_sending.pause, name="pause"),
    path("staff/bulletins/<uuid:public_id>/resume/", views_sending.resume, name="resume"),
    path("staff/bulletins/<uuid:public_id>/cancel/", views_sending.cancel, name="cancel"),
]
