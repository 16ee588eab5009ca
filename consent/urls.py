"""Public pages (namespace "consent"), mounted at the site root."""

from django.urls import path

from consent import views

app_name = "consent"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-up/", views.sign_up, name="sign_up"),
    path("sign-up/check-your-email/", views.sign_up_sent, name="sign_up_sent"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("preferences/", views.preferences_request, name="preferences_request"),
    path("preferences/check-your-email/", views.preferences_sent, name="preferences_sent"),
    path("preferences/<str:token>/", views.preference_centre, name="preferences"),
    path("preferences/<str:token>/about-you/", views.about_you, name="about_you"),
    path("preferences/<str:token>/withdraw/", views.withdraw, name="withdraw"),
    path("preferences/<str:token>/download/", views.download, name="download"),
    path("preferences/<str:token>/erase/", views.erase, name="erase"),
    # RFC 8058: the List-Unsubscribe URL is POSTed as is. Both spellings resolve to the view, so
    # APPEND_SLASH never answers a mail client's POST with a redirect.
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe_slash"),
    path("privacy/", views.privacy, name="privacy"),
    path("accessibility/", views.accessibility, name="accessibility"),
]
