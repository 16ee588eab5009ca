"""Staff pages for contacts, consent wording, subject access and erasure cases, retention and the
dashboard (mounted at /staff/, before crm.staff.urls).

URL keyword arguments: ``public_id`` (a contact's UUID), ``pk`` (statement or case id), ``purpose``
(a purpose code), ``step`` (fixed per route).
"""

from django.urls import path

from consent.staff import views, views_cases, views_contacts, views_statements

app_name = "consent_staff"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("retention/", views.retention_review, name="retention"),
    # contacts
    path("contacts/", views_contacts.contact_list, name="contacts"),
    path("contacts/add/", views_contacts.contact_add, name="contact_add"),
    path("contacts/<uuid:public_id>/", views_contacts.contact_detail, name="contact"),
    path("contacts/<uuid:public_id>/equality/", views_contacts.contact_equality, name="contact_equality"),
    path("contacts/<uuid:public_id>/edit/", views_contacts.contact_edit, name="contact_edit"),
    path("contacts/<uuid:public_id>/consent/", views_contacts.contact_record_consent, name="contact_consent"),
    path("contacts/<uuid:public_id>/merge/", views_contacts.contact_merge, name="contact_merge"),
    path("contacts/<uuid:public_id>/merge/preview/", views_contacts.contact_merge_preview,
         name="contact_merge_preview"),
    # consent wording
    path("statements/", views_statements.statement_list, name="statements"),
    path("statements/new/<slug:purpose>/", views_statements.statement_new, name="statement_new"),
    path("statements/<int:pk>/", views_statements.statement_detail, name="statement"),
    path("statements/<int:pk>/edit/", views_statements.statement_edit, name="statement_edit"),
    path("statements/<int:pk>/publish/", views_statements.statement_publish, name="statement_publish"),
    # subject access
    path("subject-access/", views_cases.sar_list, name="sar_list"),
    path("subject-access/new/", views_cases.sar_new, name="sar_new"),
    path("subject-access/<int:pk>/", views_cases.sar_detail, name="sar"),
    path("subject-access/<int:pk>/identity/", views_cases.sar_step, {"step": "identity"}, name="sar_identity"),
    path("subject-access/<int:pk>/stop-clock/", views_cases.sar_step, {"step": "stop"}, name="sar_stop"),
    path("subject-access/<int:pk>/restart-clock/", views_cases.sar_step, {"step": "restart"}, name="sar_restart"),
    path("subject-access/<int:pk>/link/", views_cases.sar_link, name="sar_link"),
    path("subject-access/<int:pk>/close/", views_cases.sar_close, name="sar_close"),
    path("subject-access/<int:pk>/export.json", views_cases.sar_export_json, name="sar_export_json"),
    path("subject-access/<int:pk>/export/", views_cases.sar_export_html, name="sar_export_html"),
    # erasure
    path("erasure/", views_cases.erasure_list, name="erasure_list"),
    path("erasure/new/", views_cases.erasure_new, name="erasure_new"),
    path("erasure/<int:pk>/", views_cases.erasure_detail, name="erasure"),
    path("erasure/<int:pk>/link/", views_cases.erasure_link, name="erasure_link"),
    path("erasure/<int:pk>/confirm/", views_cases.erasure_confirm, name="erasure_confirm"),
    path("erasure/<int:pk>/refuse/", views_cases.erasure_refuse, name="erasure_refuse"),
]
