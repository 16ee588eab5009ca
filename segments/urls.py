"""Segment and event pages (namespace "segments"): staff under /staff/segments/, /staff/exports/ and
/staff/events/; public event pages and RSVP links under /events/. Mounted at the site root by crm/urls.py."""

from django.urls import path

from segments import (
    views_activities,
    views_activity_reports,
    views_baselines,
    views_events,
    views_exports,
    views_imports,
    views_public,
    views_representation,
    views_segments,
)

app_name = "segments"
urlpatterns = [
    # Staff: segments and their live count
    path("staff/segments/", views_segments.segment_list, name="segment_list"),
    path("staff/segments/new/", views_segments.segment_new, name="segment_new"),
    path("staff/segments/count/", views_segments.segment_count_json, name="segment_count_json"),
    path("staff/segments/<int:segment_id>/", views_segments.segment_edit, name="segment_edit"),
    # Staff: invitation lists
    path("staff/segments/<int:segment_id>/export/", views_exports.segment_export, name="segment_export"),
    path("staff/exports/", views_exports.export_list, name="export_list"),
    path("staff/exports/<uuid:public_id>/", views_exports.export_detail, name="export_detail"),
    path("staff/exports/<str:token>/download", views_exports.export_download, name="export_download"),
    # Staff: events and attendance
    path("staff/events/", views_events.event_list, name="event_list"),
    path("staff/events/new/", views_events.event_new, name="event_new"),
    path("staff/events/<uuid:public_id>/", views_events.event_detail, name="event_detail"),
    path("staff/events/<uuid:public_id>/edit/", views_events.event_edit, name="event_edit"),
    path("staff/events/<uuid:public_id>/register/", views_events.event_register, name="event_register"),
    path("staff/events/<uuid:public_id>/walk-in/", views_events.event_walk_in, name="event_walk_in"),
    path("staff/events/<uuid:public_id>/attendance/", views_events.event_attendance_upload,
         name="event_attendance_upload"),
    # Staff: contact imports
    path("staff/imports/", views_imports.import_list, name="import_list"),
    path("staff/imports/new/", views_imports.import_new, name="import_new"),
    path("staff/imports/template.csv", views_imports.import_template, name="import_template"),
    path("staff/imports/<uuid:public_id>/", views_imports.import_detail, name="import_detail"),
    path("staff/imports/<uuid:public_id>/confirm/", views_imports.import_confirm, name="import_confirm"),
    path("staff/imports/<uuid:public_id>/cancel/", views_imports.import_cancel, name="import_cancel"),
    # Staff: the census baseline the representation report compares with
    path("staff/representation/baseline/", views_baselines.baseline_upload, name="baseline_upload"),
    path("staff/representation/", views_representation.representation_report, name="representation"),
    path("staff/representation/report.csv", views_representation.representation_csv, name="representation_csv"),
    # Staff: engagement activities (segments.views_activities)
    path("staff/activities/", views_activities.activity_list, name="activity_list"),
    path("staff/activities/new/", views_activities.activity_new, name="activity_new"),
    path("staff/activities/<int:pk>/", views_activities.activity_detail, name="activity_detail"),
    path("staff/activities/<int:pk>/edit/", views_activities.activity_edit, name="activity_edit"),
    path("staff/activities/<int:pk>/status/", views_activities.activity_status, name="activity_status"),
    path("staff/activities/<int:pk>/headcounts/new/", views_activities.activity_headcount_add,
         name="activity_headcount_add"),
    path("staff/activities/<int:pk>/headcounts/<int:headcount_id>/remove/", views_activities.activity_headcount_remove,
         name="activity_headcount_remove"),
    path("staff/activities/<int:pk>/participants/new/", views_activities.activity_participant_add,
         name="activity_participant_add"),
    path("staff/activities/<int:pk>/participants/<int:participant_id>/remove/",
         views_activities.activity_participant_remove, name="activity_participant_remove"),
    path("staff/activities/<int:pk>/events/", views_activities.activity_events, name="activity_events"),
    # Staff: engagement activity reports (segments.views_activity_reports)
    path("staff/activities/reports/", views_activity_reports.activity_reports, name="activity_reports"),
    path("staff/activities/reports/by-programme.csv", views_activity_reports.activity_reports_programme_csv,
         name="activity_reports_programme_csv"),
    path("staff/activities/reports/by-locality.csv", views_activity_reports.activity_reports_locality_csv,
         name="activity_reports_locality_csv"),
    path("staff/activities/reports/no-equality-analysis.csv", views_activity_reports.activity_reports_equality_csv,
         name="activity_reports_equality_csv"),
    path("staff/activities/reports/feedback-due.csv", views_activity_reports.activity_reports_feedback_csv,
         name="activity_reports_feedback_csv"),
    path("staff/activities/reports/year/", views_activity_reports.activity_year_summary, name="activity_year_summary"),
    path("staff/activities/reports/year/activities.csv", views_activity_reports.activity_year_csv,
         name="activity_year_csv"),
    path("staff/activities/reports/year/figures.csv", views_activity_reports.activity_year_figures_csv,
         name="activity_year_figures_csv"),
    # Public: the event page and RSVP links
    path("events/rsvp/<str:token>/", views_public.rsvp, name="rsvp"),
    path("events/<uuid:public_id>/", views_public.public_event, name="public_event"),
]
