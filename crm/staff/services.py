"""Writes about staff: accounts, roles, second-factor devices, sign-in and personal API tokens.

Keyword-only, one transaction each, one audit entry each. Audit entries name the account by id
only (object ``auth.user``/<pk>): never a name or an email address.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp import device_classes, devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.audit import Actor, record_audit
from crm.models import StaffApiToken, StaffRoleRequest
from crm.roles import ADMINISTRATOR, ALL_ROLES, DATA_PROTECTION
from crm.staff.api_auth import generate_token, hash_token


# --- Accounts ---------------------------------------------------------------------------------------
def temporary_password() -> str:
    """A one-off password for a new or reset account: random, long, passes every validator."""
    return secrets.token_urlsafe(15)


def _check_roles(roles) -> list[str]:
    roles = sorted(set(roles))
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValidationError({"roles": f"Unknown role: {', '.join(sorted(unknown))}"})
    return roles


def create_staff_account(*, username: str, first_name: str, last_name: str, email: str, roles,
                         password: str | None = None, actor: Actor) -> tuple[User, str | None]:
    """Create an active staff account. Returns the user and the temporary password, if one was made.

    The new person enrols their own authenticator app at first sign-in (no device is created here).
    Administrator and Data protection are not given at once: each becomes a request that a second
    Administrator approves (``approve_role_request``).
    """
    roles = _check_roles(roles)
    username = username.strip()
    generated = None
    if not password:
        password = generated = temporary_password()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError({"username": "A staff account with this username already exists"})
        user = User(username=username, first_name=first_name.strip(), last_name=last_name.strip(),
                    email=email.strip(), is_active=True)
        password_validation.validate_password(password, user)
        user.set_password(password)
        user.save()
        granted = [role for role in roles if role not in PRIVILEGED_ROLES]
        user.groups.set(Group.objects.filter(name__in=granted))
        record_audit(actor=actor, action="staff.account_created", obj=user,
                     changes={"roles": granted, "temporary_password": generated is not None})
        for role in sorted(set(roles) & PRIVILEGED_ROLES):
            _request_role_change(user=user, role=role, change=StaffRoleRequest.Change.ADD, actor=actor)
    return user, generated


# Roles that reach every person's data or every account: a change to them needs two Administrators.
PRIVILEGED_ROLES = frozenset({ADMINISTRATOR, DATA_PROTECTION})


@dataclass(frozen=True)
class RolesChange:
    """What ``set_staff_roles`` did: roles changed now, and requests left for a second Administrator."""

    added: list[str]
    removed: list[str]
    requested: list[StaffRoleRequest]


def _is_administrator(user) -> bool:
    return user is not None and user.is_active and user.groups.filter(name=ADMINISTRATOR).exists()


def _require_administrator(actor: Actor) -> None:
    if not _is_administrator(actor.user):
        raise ValidationError("Only an Administrator can change staff roles")


def _request_role_change(*, user: User, role: str, change: str, actor: Actor) -> StaffRoleRequest:
    existing = StaffRoleRequest.objects.filter(user=user, role=role, change=change,
                                               status=StaffRoleRequest.Status.PENDING).first()
    if existing is not None:
        return existing
    request = StaffRoleRequest.objects.create(user=user, role=role, change=change, requested_by=actor.user,
                                              requested_at=timezone.now())
    record_audit(actor=actor, action="staff.role_change_requested", obj=user,
                 changes={"role": role, "change": change, "request_id": request.pk})
    return request


def set_staff_roles(*, user: User, roles, actor: Actor) -> RolesChange:
    """Give ``user`` exactly ``roles``, as far as one Administrator may.

    Nobody changes their own roles except to give one up (and never their own Administrator role:
    the last administrator could remove the only way back in). Giving or taking away Administrator
    or Data protection is filed as a request for a second Administrator; the other roles change now.
    """
    roles = _check_roles(roles)
    _require_administrator(actor)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = set(user.groups.values_list("name", flat=True))
        added, removed = sorted(set(roles) - before), sorted(before - set(roles))
        if actor.user.pk == user.pk:
            if added:
                raise ValidationError({"roles": "You cannot give yourself a role. Ask another Administrator"})
            if ADMINISTRATOR in removed:
                raise ValidationError({"roles": "You cannot remove the Administrator role from your own account"})
        now_added = [role for role in added if role not in PRIVILEGED_ROLES]
        now_removed = [role for role in removed if role not in PRIVILEGED_ROLES or actor.user.pk == user.pk]
        user.groups.add(*Group.objects.filter(name__in=now_added))
        user.groups.remove(*Group.objects.filter(name__in=now_removed))
        if now_added or now_removed:
            record_audit(actor=actor, action="staff.roles_changed", obj=user,
                         changes={"added": now_added, "removed": now_removed})
        requested = [_request_role_change(user=user, role=role, change=StaffRoleRequest.Change.ADD, actor=actor)
                     for role in added if role in PRIVILEGED_ROLES]
        requested += [_request_role_change(user=user, role=role, change=StaffRoleRequest.Change.REMOVE, actor=actor)
                      for role in removed if role not in now_removed]
    return RolesChange(added=now_added, removed=now_removed, requested=requested)


def _locked_pending_request(request: StaffRoleRequest) -> StaffRoleRequest:
    locked = StaffRoleRequest.objects.select_for_update().filter(pk=request.pk).first()
    if locked is None or locked.status != StaffRoleRequest.Status.PENDING:
        raise ValidationError("This request has already been decided")
    return locked


def approve_role_request(*, request: StaffRoleRequest, actor: Actor) -> StaffRoleRequest:
    """A second Administrator (not the one who asked, not the person) approves; the role changes now."""
    _require_administrator(actor)
    with transaction.atomic():
        request = _locked_pending_request(request)
        if actor.user.pk in (request.requested_by_id, request.user_id):
            raise ValidationError("A different Administrator must approve this: not the one who asked for it, "
                                  "and not the person whose roles change")
        group = Group.objects.get(name=request.role)
        if request.change == StaffRoleRequest.Change.ADD:
            request.user.groups.add(group)
        else:
            request.user.groups.remove(group)
        request.status, request.decided_by, request.decided_at = (
            StaffRoleRequest.Status.APPROVED, actor.user, timezone.now())
        request.save(update_fields=["status", "decided_by", "decided_at"])
        record_audit(actor=actor, action="staff.role_change_approved", obj=request.user,
                     changes={"role": request.role, "change": request.change, "request_id": request.pk})
    return request


def decline_role_request(*, request: StaffRoleRequest, actor: Actor) -> StaffRoleRequest:
    """Any Administrator other than the person may decline (the one who asked withdraws it this way)."""
    _require_administrator(actor)
    with transaction.atomic():
        request = _locked_pending_request(request)
        if actor.user.pk == request.user_id:
            raise ValidationError("You cannot decide a change to your own roles")
        request.status, request.decided_by, request.decided_at = (
            StaffRoleRequest.Status.DECLINED, actor.user, timezone.now())
        request.save(update_fields=["status", "decided_by", "decided_at"])
        record_audit(actor=actor, action="staff.role_change_declined", obj=request.user,
                     changes={"role": request.role, "change": request.change, "request_id": request.pk})
    return request


def _refuse_superuser_target(user: User, actor: Actor, what: str) -> None:
    # A superuser can do anything anywhere (the Django admin too): an Administrator resetting one
    # would take over that power. Only another superuser may.
    if user.is_superuser and not (actor.user is not None and actor.user.is_superuser):
        raise ValidationError(f"Only a superuser can {what} a superuser's account")


def deactivate_staff_account(*, user: User, actor: Actor) -> User:
    """Stop an account signing in or using the API. Never a delete: ledger and audit rows keep it."""
    if actor.user is not None and actor.user.pk == user.pk:
        raise ValidationError("You cannot deactivate your own account")
    _refuse_superuser_target(user, actor, "deactivate")
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        revoked = StaffApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        record_audit(actor=actor, action="staff.account_deactivated", obj=user, changes={"tokens_revoked": revoked})
    return user


def reactivate_staff_account(*, user: User, actor: Actor) -> User:
    with transaction.atomic():
        user.is_active = True
        user.save(update_fields=["is_active"])
        record_audit(actor=actor, action="staff.account_reactivated", obj=user)
    return user


def reset_staff_password(*, user: User, actor: Actor) -> str:
    """Replace the password with a temporary one (shown once to the administrator)."""
    _refuse_superuser_target(user, actor, "reset the password of")
    password = temporary_password()
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        record_audit(actor=actor, action="staff.password_reset", obj=user)
    return password


def change_own_password(*, user: User, new_password: str, actor: Actor) -> User:
    password_validation.validate_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        record_audit(actor=actor, action="staff.password_changed", obj=user)
    return user


def reset_second_factor(*, user: User, actor: Actor) -> int:
    """Remove every OTP device (lost phone): the person enrols a new one at next sign-in."""
    _refuse_superuser_target(user, actor, "reset the second factor of")
    with transaction.atomic():
        removed = sum(model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
                      for model in device_classes())
        record_audit(actor=actor, action="staff.second_factor_reset", obj=user, changes={"devices_removed": removed})
    clear_second_factor_failures(user)
    return removed


# --- Second factor ----------------------------------------------------------------------------------
def start_totp_enrolment(*, user: User, actor: Actor) -> TOTPDevice:
    """The user's pending (unconfirmed) authenticator device, created on first visit and then reused
    so reloading the page does not change the QR code under someone who is scanning it."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
            record_audit(actor=actor, action="staff.second_factor_enrolment_started", obj=user)
    return device


@dataclass(frozen=True)
class CodeCheck:
    """Outcome of checking a one-time code. ``device`` is set when the code was accepted."""

    device: object | None = None
    throttled: bool = False
    locked_out: bool = False


def _failures_key(user) -> str:
    return f"staff-otp-failures:{user.pk}"


def second_factor_locked_out(user) -> bool:
    return (cache.get(_failures_key(user)) or 0) >= settings.AXES_FAILURE_LIMIT


def clear_second_factor_failures(user) -> None:
    cache.delete(_failures_key(user))


def _record_failure(user, actor: Actor) -> bool:
    """Count a wrong or throttled code against the person (not the address: codes are per person).

    Password success does not clear this (django-axes resets on it), so signing in again cannot
    buy more guesses. Returns True when this failure reaches the lockout limit.
    """
    key = _failures_key(user)
    cache.add(key, 0, timeout=int(settings.AXES_COOLOFF_TIME.total_seconds()))
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=int(settings.AXES_COOLOFF_TIME.total_seconds()))
        count = 1
    if count == settings.AXES_FAILURE_LIMIT:
        record_audit(actor=actor, action="staff.second_factor_locked_out", obj=user,
                     changes={"failures": count})
    return count >= settings.AXES_FAILURE_LIMIT


def _code_fits(device, code: str) -> bool:
    # Offer each code only to the kind of device that could have produced it, so a backup code
    # typed in does not count as a wrong guess against the authenticator app (and vice versa).
    if isinstance(device, TOTPDevice):
        return code.isdigit() and len(code) == device.digits
    return bool(code) and len(code) <= 16


def _normalise_code(code: str) -> str:
    return "".join((code or "").split()).lower()


def _check_code(user, code: str, devices) -> CodeCheck:
    """Verify ``code`` on the given devices (already locked for update), honouring their throttling.

    django-otp's ``match_token`` tries every device and counts a failure on each; it warns that it
    does not interact well with throttling, so the loop is written out here.
    """
    candidates = [device for device in devices if _code_fits(device, code)]
    allowed = [device for device in candidates if device.verify_is_allowed()[0]]
    for device in allowed:
        if device.verify_token(code):
            return CodeCheck(device=device)
    return CodeCheck(throttled=bool(candidates) and not allowed)


def verify_second_factor(*, user: User, code: str, actor: Actor) -> CodeCheck:
    """Check a TOTP or backup code against the user's confirmed devices."""
    if second_factor_locked_out(user):
        return CodeCheck(locked_out=True)
    code = _normalise_code(code)
    with transaction.atomic():
        result = _check_code(user, code, list(devices_for_user(user, confirmed=True, for_verify=True)))
    if result.device is not None:
        clear_second_factor_failures(user)
        record_audit(actor=actor, action="staff.signed_in", obj=user,
                     changes={"second_factor": result.device._meta.model_name})
        return result
    return CodeCheck(throttled=result.throttled, locked_out=_record_failure(user, actor))


def confirm_totp_enrolment(*, user: User, device: TOTPDevice, code: str, actor: Actor) -> CodeCheck:
    """Confirm the pending authenticator with a code from it; the device then counts as the second factor."""
    if second_factor_locked_out(user):
        return CodeCheck(locked_out=True)
    code = _normalise_code(code)
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().filter(pk=device.pk, user=user, confirmed=False).first()
        result = _check_code(user, code, [locked] if locked else [])
        if result.device is not None:
            locked.confirmed = True
            locked.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            record_audit(actor=actor, action="staff.second_factor_enrolled", obj=user,
                         changes={"device": "totp"})
    if result.device is not None:
        clear_second_factor_failures(user)
        record_audit(actor=actor, action="staff.signed_in", obj=user, changes={"second_factor": "totpdevice"})
        return result
    return CodeCheck(throttled=result.throttled, locked_out=_record_failure(user, actor))


def record_sign_out(*, user: User, actor: Actor) -> None:
    record_audit(actor=actor, action="staff.signed_out", obj=user)


# --- Personal API tokens ----------------------------------------------------------------------------
def create_api_token(*, user: User, name: str, actor: Actor) -> tuple[StaffApiToken, str]:
    """Returns the stored token and the raw secret, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter a name for the token"})
    raw, prefix = generate_token()
    with transaction.atomic():
        token = StaffApiToken.objects.create(user=user, name=name[:100], prefix=prefix, token_hash=hash_token(raw))
        record_audit(actor=actor, action="staff.api_token_created", obj=token, changes={"user_id": user.pk})
    return token, raw


def revoke_api_token(*, token: StaffApiToken, actor: Actor) -> StaffApiToken:
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record_audit(actor=actor, action="staff.api_token_revoked", obj=token,
                         changes={"user_id": token.user_id})
    return token
