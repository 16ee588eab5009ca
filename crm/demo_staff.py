"""Demo staff accounts, one per role (two for Communications: a bulletin is approved by a second
Communications user, so one person can write and the other approve), with a known password and
known backup codes. Never in production.

Staff sign in with a password and a second factor. A demo has no authenticator app to enrol, so
each account gets a django-otp static device ("backup codes") whose codes are restored on every
run: each code works once, as real backup codes do.
"""

from dataclasses import dataclass

from axes.utils import reset as reset_lockouts
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, User
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice

from crm.audit import Actor, record_audit
from crm.roles import ADMINISTRATOR, COMMISSIONER, COMMUNICATIONS, DATA_PROTECTION, ENGAGEMENT
from crm.staff.services import clear_second_factor_failures

DEMO_PASSWORD = "mynhs-demo-2026"
DEMO_BACKUP_CODES = ("sefton26", "bootle27", "crosby22", "maghull3", "seaforth")
DEMO_DEVICE_NAME = "Demo backup codes"


@dataclass(frozen=True)
class DemoStaff:
    username: str
    first_name: str
    role: str


DEMO_STAFF = (
    DemoStaff("comms", "Casey", COMMUNICATIONS),
    DemoStaff("comms2", "Jordan", COMMUNICATIONS),
    DemoStaff("engagement", "Eden", ENGAGEMENT),
    DemoStaff("dpo", "Dana", DATA_PROTECTION),
    DemoStaff("admin", "Alex", ADMINISTRATOR),
    DemoStaff("commissioner", "Corey", COMMISSIONER),
)


class DemoStaffRefused(Exception):
    pass


def ensure_demo_staff(*, actor: Actor) -> list[DemoStaff]:
    """Create or restore the demo accounts: active, one role each, known password, all backup codes."""
    if settings.ENVIRONMENT == "production":
        raise DemoStaffRefused("Demo staff accounts are never created in production.")
    created, users = 0, []
    with transaction.atomic():
        for staff in DEMO_STAFF:
            user, is_new = User.objects.get_or_create(username=staff.username)
            created += is_new
            users.append(user)
            _restore_account(user, staff)
            _restore_backup_codes(user)
        record_audit(actor=actor, action="demo.staff_ensured", object_type="auth.user",
                     changes={"roles": [s.role for s in DEMO_STAFF], "created": created})
    _clear_lockouts(users)
    return list(DEMO_STAFF)


def _restore_account(user: User, staff: DemoStaff) -> None:
    user.first_name, user.last_name = staff.first_name, "(demo)"
    user.email = f"{staff.username}@staff.example.org"
    # Staff pages need the second factor; Django's admin (is_staff) would not ask for it.
    user.is_active, user.is_staff, user.is_superuser = True, False, False
    password_validation.validate_password(DEMO_PASSWORD, user)
    user.set_password(DEMO_PASSWORD)
    user.save()
    user.groups.set([Group.objects.get(name=staff.role)])


def _restore_backup_codes(user: User) -> None:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=DEMO_DEVICE_NAME, defaults={"confirmed": True})
    device.confirmed = True
    device.throttle_reset(commit=False)
    device.save()
    device.token_set.all().delete()
    device.token_set.bulk_create([device.token_set.model(device=device, token=code) for code in DEMO_BACKUP_CODES])


def _clear_lockouts(users: list[User]) -> None:
    # Wrong passwords or codes from an earlier demo session must not keep the demo accounts locked.
    for user in users:
        reset_lockouts(username=user.username)
        clear_second_factor_failures(user)
