"""Public pages (namespace "consent"), mounted at the site root."""

from django.urls import path

from consent import data_views, views

app_name = "consent"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-up/", views.sign_up, name="sign_up"),
    path("sign-up/check-your-email/", views.sign_up_sent, name="sign_up_sent"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("preferences/", views.preferences_request, name="preferences_request"),
    path("preferences/check-your-email/", views.preferences_sent, name="preferences_sent"),
    # A link in an email (forwardable): choices only.
    path("preferences/<str:token>/", views.preference_centre, name="preferences"),
    path("preferences/<str:token>/withdraw/", views.withdraw, name="withdraw"),
    path("preferences/<str:token>/data-link/", views.preferences_data_link, name="preferences_data_link"),
    path("preferences/<str:token>/sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    # See or delete my data: a fresh single-use link opens a short session (consent.data_access).
    path("your-data/", data_views.data_request, name="data_request"),
    path("your-data/check-your-email/", data_views.data_request_sent, name="data_request_sent"),
    path("your-data/open/<str:token>/", data_views.data_open, name="data_open"),
    path("your-data/view/", data_views.data_home, name="data_home"),
    path("your-data/view/download/", data_views.data_download, name="data_download"),
    path("your-data/view/details/", data_views.data_details, name="data_details"),
    path("your-data/view/about-you/", data_views.data_about_you, name="data_about_you"),
    path("your-data/view/delete/", data_views.data_erase, name="data_erase"),
    path("your-data/sign-out/", data_views.data_sign_out, name="data_sign_out"),
    # RFC 8058: the List-Unsubscribe URL is POSTed as is. Both spellings resolve to the view, so
    # APPEND_SLASH never answers a mail client's POST with a redirect.
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe_slash"),
    # The same for emails sent under other purposes ("events", "events-involvement"): see consent.tokens.
    path("unsubscribe/<slug:scope>/<str:token>", views.unsubscribe, name="unsubscribe_from"),
    path("unsubscribe/<slug:scope>/<str:token>/", views.unsubscribe, name="unsubscribe_from_slash"),
    path("privacy/", views.privacy, name="privacy"),
    path("accessibility/", views.accessibility, name="accessibility"),
]
