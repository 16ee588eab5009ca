"""Staff pages for sign-in, accounts, API tokens and the audit log (mounted at /staff/, after consent's)."""

from django.urls import path

from crm.staff import views

app_name = "staff"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("two-factor/", views.verify_view, name="verify"),
    path("two-factor/setup/", views.setup_2fa_view, name="setup_2fa"),
    path("password/", views.password_change_view, name="password_change"),
    path("accounts/", views.accounts_view, name="accounts"),
    path("accounts/new/", views.account_create_view, name="account_create"),
    path("accounts/<int:user_id>/", views.account_detail_view, name="account"),
    path("accounts/<int:user_id>/roles/", views.account_roles_view, name="account_roles"),
    path("accounts/<int:user_id>/deactivate/", views.account_deactivate_view, name="account_deactivate"),
    path("accounts/<int:user_id>/reactivate/", views.account_reactivate_view, name="account_reactivate"),
    path("accounts/<int:user_id>/reset-second-factor/", views.account_reset_2fa_view, name="account_reset_2fa"),
    path("accounts/<int:user_id>/reset-password/", views.account_reset_password_view, name="account_reset_password"),
    path("accounts/<int:user_id>/role-requests/<int:request_id>/approve/", views.account_role_request_approve_view,
         name="account_role_request_approve"),
    path("accounts/<int:user_id>/role-requests/<int:request_id>/decline/", views.account_role_request_decline_view,
         name="account_role_request_decline"),
    path("accounts/<int:user_id>/tokens/<int:token_id>/revoke/", views.account_token_revoke_view,
         name="account_token_revoke"),
    path("tokens/", views.tokens_view, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("audit/", views.audit_view, name="audit"),
    path("audit/verify/", views.audit_verify_view, name="audit_verify"),
]
