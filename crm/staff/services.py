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
from crm.models import StaffApiToken
from crm.roles import ADMINISTRATOR, ALL_ROLES
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
        user.groups.set(Group.objects.filter(name__in=roles))
        record_audit(actor=actor, action="staff.account_created", obj=user,
                     changes={"roles": roles, "temporary_password": generated is not None})
    return user, generated


def set_staff_roles(*, user: User, roles, actor: Actor) -> User:
    roles = _check_roles(roles)
    if actor.user is not None and actor.user.pk == user.pk and ADMINISTRATOR not in roles \
            and user.groups.filter(name=ADMINISTRATOR).exists():
        # Otherwise the last administrator could remove the only way back in.
        raise ValidationError({"roles": "You cannot remove the Administrator role from your own account"})
    with transaction.atomic():
        before = set(user.groups.values_list("name", flat=True))
        user.groups.set(Group.objects.filter(name__in=roles))
        added, removed = sorted(set(roles) - before), sorted(before - set(roles))
        if added or removed:
            record_audit(actor=actor, action="staff.roles_changed", obj=user,
                         changes={"added": added, "removed": removed})
    return user


def deactivate_staff_account(*, user: User, actor: Actor) -> User:
    """Stop an account signing in or using the API. Never a delete: ledger and audit rows keep it."""
    if actor.user is not None and actor.user.pk == user.pk:
        raise ValidationError("You cannot deactivate your own account")
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
