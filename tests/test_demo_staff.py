"""manage.py ensure_demo_staff: one account per role, known password, backup codes restored each run."""

import io

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice

from crm.audit import Actor
from crm.demo_staff import DEMO_BACKUP_CODES, DEMO_PASSWORD, DEMO_STAFF
from crm.models import AuditEntry
from crm.roles import ALL_ROLES
from crm.staff.services import _record_failure, second_factor_locked_out

pytestmark = pytest.mark.django_db


def ensure() -> str:
    out = io.StringIO()
    call_command("ensure_demo_staff", stdout=out)
    return out.getvalue()


# One account per role, and a second Communications account so the demo can show two-person approval.
EXPECTED_ACCOUNTS = {
    "comms": "Communications", "comms2": "Communications", "engagement": "Engagement",
    "dpo": "Data protection", "admin": "Administrator", "commissioner": "Commissioner",
}


def test_one_active_account_per_role_with_the_printed_password():
    output = ensure()
    users = User.objects.filter(username__in=[s.username for s in DEMO_STAFF])
    assert {u.username: u.groups.get().name for u in users} == EXPECTED_ACCOUNTS
    assert set(EXPECTED_ACCOUNTS.values()) == set(ALL_ROLES)
    for user in users:
        assert user.is_active and not user.is_staff and not user.is_superuser
        assert user.check_password(DEMO_PASSWORD)
        assert user.username in output
    assert DEMO_PASSWORD in output and DEMO_BACKUP_CODES[0] in output
    password_validation.validate_password(DEMO_PASSWORD, users[0])


def test_backup_codes_work_once_and_come_back_on_the_next_run():
    ensure()
    user = User.objects.get(username=DEMO_STAFF[0].username)
    device = StaticDevice.objects.get(user=user, confirmed=True)
    assert device.verify_token(DEMO_BACKUP_CODES[0])
    device.refresh_from_db()
    assert not device.verify_token(DEMO_BACKUP_CODES[0])
    assert not device.verify_token("not-a-code")
    user.set_password("changed-by-someone-2026")
    user.save()
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        _record_failure(user, Actor.system())
    assert second_factor_locked_out(user)
    ensure()
    assert not second_factor_locked_out(user)
    device = StaticDevice.objects.get(user=user)
    assert device.verify_is_allowed()[0], "throttling from wrong codes is reset"
    assert device.verify_token(DEMO_BACKUP_CODES[0])
    user.refresh_from_db()
    assert user.check_password(DEMO_PASSWORD)
    assert StaticDevice.objects.filter(user=user).count() == 1


def test_each_run_is_audited_once_without_personal_data():
    before = AuditEntry.objects.count()
    ensure()
    ensure()
    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert [e.action for e in entries] == ["demo.staff_ensured", "demo.staff_ensured"]
    assert entries[0].changes["created"] == len(DEMO_STAFF) and entries[1].changes["created"] == 0
    assert "@" not in str(entries[0].changes)


def test_refuses_in_production(settings):
    settings.ENVIRONMENT = "production"
    with pytest.raises(CommandError, match="production"):
        ensure()
    assert not User.objects.exists()


def test_the_printed_login_signs_in_through_the_staff_pages(client):
    ensure()
    staff = DEMO_STAFF[0]
    response = client.post(reverse("staff:login"), {"username": staff.username, "password": DEMO_PASSWORD})
    assert response.status_code == 302 and response.url.startswith(reverse("staff:verify"))
    response = client.post(reverse("staff:verify"), {"code": DEMO_BACKUP_CODES[1]})
    assert response.status_code == 302
    assert client.get(reverse("consent_staff:dashboard")).status_code == 200
