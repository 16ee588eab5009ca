"""Staff pages for consent wording, subject access and erasure cases (mounted at /staff/, before crm.staff.urls)."""


app_name = "consent_staff"
urlpatterns: list = []
