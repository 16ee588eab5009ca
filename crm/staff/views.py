"""Staff sign-in (password, then TOTP or backup code), accounts, personal API tokens and the audit log.

Sign-in is two steps on one session: the password step logs the user in *unverified*; every staff
page (``@staff_view``) sends an unverified session to ``staff:verify`` (or ``staff:setup_2fa`` for
someone without a device), which marks the session verified with ``django_otp.login``.
"""

from base64 import b32encode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import user_has_device

from crm import tasks
from crm.audit import actor_from_request, chain_check_history, chain_head, client_ip
from crm.audit_labels import action_filter_options, audit_rows, object_filter_options
from crm.forms import write_valid_post
from crm.models import StaffApiToken, StaffRoleRequest
from crm.staff import selectors, services
from crm.staff.access import staff_view
from crm.staff.forms import (
    ROLE_HINTS,
    AuditFilterForm,
    CodeForm,
    LoginForm,
    RolesForm,
    StaffAccountForm,
    TokenForm,
)
from crm.staff.qr import qr_svg

AUDIT_PAGE_SIZE = 50


def _next_url(request) -> str:
    """Where to go after signing in: ``next`` if it is a local path, else the dashboard."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, request) -> str:
    next_url = request.GET.get("next") or request.POST.get("next")
    return reverse(url_name) + (f"?{urlencode({'next': next_url})}" if next_url else "")


def _locked_out(request):
    """Too many wrong codes: end the half-signed-in session and show the lockout page (429, like axes)."""
    logout(request)
    return render(request, "staff/locked_out.html", {
        "failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_timedelta": settings.AXES_COOLOFF_TIME,
    }, status=429)


def _no_store(response):
    # Pages showing a secret once (temporary passwords, API tokens) must not sit in any cache.
    response["Cache-Control"] = "no-store"
    return response


# --- Sign in, second factor, sign out ---------------------------------------------------------------
@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(_next_url(request))
    expired = request.session.pop("_expired_notice", False)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # django-axes counts failures per username and address; once over the limit, its middleware
        # replaces this response with staff/locked_out.html and status 429.
        user = authenticate(request=request, username=form.cleaned_data["username"],
                            password=form.cleaned_data["password"])
        if user is not None:
            login(request, user)
            if user_has_device(user, confirmed=True):
                return redirect(_with_next("staff:verify", request))
            return redirect(_with_next("staff:setup_2fa", request))
        form.add_error(None, "Enter a correct username and password")
    return render(request, "staff/auth/login.html", {
        "form": form, "next": request.GET.get("next", ""), "expired": expired,
        "idle_minutes": settings.STAFF_SESSION_IDLE_SECONDS // 60,
    })


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def verify_view(request):
    user = request.user
    if not user.is_authenticated:
        return redirect(_with_next("staff:login", request))
    if user.is_verified():
        return redirect(_next_url(request))
    if not user_has_device(user, confirmed=True):
        return redirect(_with_next("staff:setup_2fa", request))
    if services.second_factor_locked_out(user):
        return _locked_out(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services.verify_second_factor(user=user, code=form.cleaned_data["code"],
                                               actor=actor_from_request(request))
        if result.device is not None:
            return _signed_in(request, result.device)
        if result.locked_out:
            return _locked_out(request)
        form.add_error("code", _code_error(result))
    return render(request, "staff/auth/verify.html", {"form": form, "next": request.GET.get("next", "")})


def _code_error(result) -> str:
    if result.throttled:
        return "Too many attempts in a short time. Wait a few seconds, then enter a new code"
    return "The code is not correct. Enter the latest code from your app, or a backup code you have not used"


def _signed_in(request, device):
    otp_login(request, device)
    # A new session key once fully signed in, so a key seen before verification is useless.
    request.session.cycle_key()
    return redirect(_next_url(request))


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def setup_2fa_view(request):
    user = request.user
    if not user.is_authenticated:
        return redirect(_with_next("staff:login", request))
    if user.is_verified():
        return redirect(_next_url(request))
    if user_has_device(user, confirmed=True):
        # Someone holding only the password must not be able to add their own device.
        return redirect(_with_next("staff:verify", request))
    if services.second_factor_locked_out(user):
        return _locked_out(request)
    actor = actor_from_request(request)
    device = services.start_totp_enrolment(user=user, actor=actor)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services.confirm_totp_enrolment(user=user, device=device, code=form.cleaned_data["code"],
                                                 actor=actor)
        if result.device is not None:
            messages.success(request, "Your authenticator app is set up. Use it each time you sign in.")
            return _signed_in(request, result.device)
        if result.locked_out:
            return _locked_out(request)
        form.add_error("code", _code_error(result))
    secret = b32encode(device.bin_key).decode()
    return _no_store(render(request, "staff/auth/setup_2fa.html", {
        "form": form, "next": request.GET.get("next", ""),
        "qr_svg": qr_svg(device.config_url, label="QR code to add My NHS to an authenticator app"),
        "secret_groups": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
    }))


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        services.record_sign_out(user=request.user, actor=actor_from_request(request))
    logout(request)
    messages.info(request, "You have signed out.")
    return redirect("staff:login")


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@staff_view()
@require_http_methods(["GET", "POST"])
def password_change_view(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.change_own_password(user=request.user, new_password=form.cleaned_data["new_password1"],
                                     actor=actor_from_request(request))
        update_session_auth_hash(request, request.user)
        messages.success(request, "Your password has been changed.")
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "staff/auth/password_change.html", {"form": form})


# --- Staff accounts (Administrator) -----------------------------------------------------------------
@staff_view("auth.view_user")
def accounts_view(request):
    accounts = list(selectors.staff_accounts())
    with_device = selectors.users_with_second_factor([account.pk for account in accounts])
    rows = [{"user": account, "has_device": account.pk in with_device} for account in accounts]
    return render(request, "staff/accounts/list.html", {"rows": rows})


@sensitive_post_parameters("password1", "password2")
@staff_view("auth.view_user", "auth.add_user")
@require_http_methods(["GET", "POST"])
def account_create_view(request):
    form = StaffAccountForm(request.POST or None)
    if written := write_valid_post(request, form, lambda data: services.create_staff_account(
        username=data["username"], first_name=data["first_name"], last_name=data["last_name"],
        email=data["email"], roles=data["roles"], password=data["password1"] or None,
        actor=actor_from_request(request),
    )):
        user, temporary = written.result
        return _no_store(render(request, "staff/accounts/created.html", {
            "account": user, "temporary_password": temporary,
            "pending_roles": sorted(selectors.pending_role_requests(user=user).values_list("role", flat=True)),
        }))
    return render(request, "staff/accounts/create.html", {"form": form, "role_hints": ROLE_HINTS})


def _account_context(request, account, roles_form=None):
    tokens = None
    if request.user.has_perm("crm.view_staffapitoken"):
        tokens = StaffApiToken.objects.filter(user=account).order_by("-created_at")
    return {
        "account": account,
        "roles": list(account.groups.order_by("name").values_list("name", flat=True)),
        "has_device": account.pk in selectors.users_with_second_factor([account.pk]),
        "roles_form": roles_form or RolesForm(initial={"roles": list(account.groups.values_list("name", flat=True))}),
        "role_hints": ROLE_HINTS,
        "tokens": tokens,
        "is_self": account.pk == request.user.pk,
        "role_requests": [
            {"request": pending, "may_approve": request.user.pk not in (pending.requested_by_id, account.pk),
             "may_decline": request.user.pk != account.pk}
            for pending in selectors.pending_role_requests(user=account)
        ],
    }


@staff_view("auth.view_user")
def account_detail_view(request, user_id: int):
    account = get_object_or_404(User, pk=user_id)
    return render(request, "staff/accounts/detail.html", _account_context(request, account))


@staff_view("auth.view_user", "auth.change_user")
@require_POST
def account_roles_view(request, user_id: int):
    account = get_object_or_404(User, pk=user_id)
    form = RolesForm(request.POST)
    if written := write_valid_post(request, form, lambda data: services.set_staff_roles(
            user=account, roles=data["roles"], actor=actor_from_request(request))):
        change = written.result
        if change.added or change.removed or not change.requested:
            messages.success(request, "Roles updated.")
        if change.requested:
            messages.info(request, "A change to " + " and ".join(sorted({r.role for r in change.requested}))
                          + " waits for a second Administrator to approve it on this page.")
        return redirect("staff:account", user_id=account.pk)
    return render(request, "staff/accounts/detail.html", _account_context(request, account, roles_form=form),
                  status=400)


def _account_action(request, user_id: int, action, done: str):
    account = get_object_or_404(User, pk=user_id)
    try:
        action(user=account, actor=actor_from_request(request))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect("staff:account", user_id=account.pk)


def _role_request_action(request, user_id: int, request_id: int, action, done: str):
    pending = get_object_or_404(StaffRoleRequest.objects.select_related("user"), pk=request_id, user_id=user_id)
    try:
        action(request=pending, actor=actor_from_request(request))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect("staff:account", user_id=user_id)


@staff_view("auth.view_user", "auth.change_user")
@require_POST
def account_role_request_approve_view(request, user_id: int, request_id: int):
    return _role_request_action(request, user_id, request_id, services.approve_role_request,
                                "Role change approved.")


@staff_view("auth.view_user", "auth.change_user")
@require_POST
def account_role_request_decline_view(request, user_id: int, request_id: int):
    return _role_request_action(request, user_id, request_id, services.decline_role_request,
                                "Role change declined.")


@staff_view("auth.view_user", "auth.change_user")
@require_POST
def account_deactivate_view(request, user_id: int):
    return _account_action(request, user_id, services.deactivate_staff_account,
                           "Account deactivated. It can no longer sign in or use API tokens.")


@staff_view("auth.view_user", "auth.change_user")
@require_POST
def account_reactivate_view(request, user_id: int):
    return _account_action(request, user_id, services.reactivate_staff_account, "Account reactivated.")


@staff_view("auth.view_user", "auth.change_user")
@require_POST
def account_reset_2fa_view(request, user_id: int):
    return _account_action(request, user_id, services.reset_second_factor,
                           "Second factor removed. They will set up a new authenticator app when they next sign in.")


@staff_view("auth.view_user", "auth.change_user")
@require_POST
def account_reset_password_view(request, user_id: int):
    account = get_object_or_404(User, pk=user_id)
    try:
        temporary = services.reset_staff_password(user=account, actor=actor_from_request(request))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("staff:account", user_id=account.pk)
    return _no_store(render(request, "staff/accounts/password_reset.html", {
        "account": account, "temporary_password": temporary,
    }))


@staff_view("auth.view_user", "crm.change_staffapitoken")
@require_POST
def account_token_revoke_view(request, user_id: int, token_id: int):
    token = get_object_or_404(StaffApiToken, pk=token_id, user_id=user_id)
    services.revoke_api_token(token=token, actor=actor_from_request(request))
    messages.success(request, f"Token {token.prefix} revoked.")
    return redirect("staff:account", user_id=user_id)


# --- Personal API tokens (any verified staff member, own tokens only) -------------------------------
@staff_view()
@require_http_methods(["GET", "POST"])
def tokens_view(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, raw = services.create_api_token(user=request.user, name=form.cleaned_data["name"],
                                               actor=actor_from_request(request))
        return _no_store(render(request, "staff/tokens/created.html", {"token": token, "raw_token": raw}))
    tokens = StaffApiToken.objects.filter(user=request.user).order_by("-created_at")
    return render(request, "staff/tokens/list.html", {"form": form, "tokens": tokens})


@staff_view()
@require_POST
def token_revoke_view(request, token_id: int):
    # Only one's own tokens: someone else's token id is simply "not found".
    token = get_object_or_404(StaffApiToken, pk=token_id, user=request.user)
    services.revoke_api_token(token=token, actor=actor_from_request(request))
    messages.success(request, f"Token {token.prefix} revoked. Anything using it will stop working.")
    return redirect("staff:tokens")


# --- Audit log --------------------------------------------------------------------------------------
@staff_view("crm.view_auditentry")
def audit_view(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.audit_entries(**{key: value for key, value in filters.items() if value}) \
        .select_related(None).only("id", "created_at", "actor_label", "action", "object_type", "object_id",
                                   "summary", "changes", "ip_address")
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({key: value for key, value in filters.items() if value})
    return render(request, "staff/audit/list.html", {
        "form": form, "page": page, "query": query, "rows": audit_rows(page.object_list, user=request.user),
        "action_options": action_filter_options(filters.get("action", "")),
        "object_options": object_filter_options(filters.get("object_type", "")),
    })


@staff_view("crm.view_auditentry")
@require_http_methods(["GET", "POST"])
def audit_verify_view(request):
    """GET: the latest recorded check. POST: start a new one in the background (it walks every entry)."""
    if request.method == "POST":
        tasks.check_audit_chain(request.user.pk, client_ip(request))
        messages.success(request, "Check started. It takes about a minute per million entries: "
                                  "reload this page to see the result.")
        return redirect("staff:audit_verify")
    history = chain_check_history(limit=30)
    return render(request, "staff/audit/verify.html", {
        "check": history[0] if history else None, "history": history, "head": chain_head(),
    })

