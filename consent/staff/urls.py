"""Staff pages for consent wording, subject access and erasure cases (mounted at /staff/consent/)."""


app_name = "consent_staff"
urlpatterns: list = []
