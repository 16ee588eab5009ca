"""Staff sign-in: password with lockout, TOTP enrolment by QR code, verification, backup codes,
throttling and lockout of wrong codes, idle expiry, sign-out, and staff account management."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.audit import Actor
from crm.middleware import StaffSessionMiddleware
from crm.models import AuditEntry, StaffApiToken, StaffRoleRequest
from crm.roles import ADMINISTRATOR, COMMUNICATIONS, DATA_PROTECTION, ENGAGEMENT
from crm.staff import services
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db

DASHBOARD = "/staff/"


def totp_code(device: TOTPDevice, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    """A well-formed code that is none of the codes accepted now (tolerance ±1 step)."""
    accepted = {totp_code(device, step) for step in (-1, 0, 1)}
    return next(code for code in (f"{n:06d}" for n in range(0, 1_000_000, 7919)) if code not in accepted)


def sign_in_password(client, username, password=STAFF_PASSWORD, next_url=None):
    url = reverse("staff:login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"username": username, "password": password})


def confirmed_totp(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def untrottle(device) -> None:
    """Move the last failure into the past, as if the person had waited out the back-off."""
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(hours=1))


def is_verified(client) -> bool:
    return client.get(DASHBOARD).status_code == 200


# --- Password step and lockout -------------------------------------------------------------------------
def test_login_page_renders_without_inline_script_or_style():
    response = Client().get(reverse("staff:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'type="password"' in html
    assert "style=" not in html and "<script>" not in html


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(staff_user):
    staff_user(ENGAGEMENT, username="alice")
    response = sign_in_password(Client(), "alice", "not-the-password")
    assert response.status_code == 200
    assert "Enter a correct username and password" in response.content.decode()
    unknown = sign_in_password(Client(), "nobody-here", "not-the-password")
    assert "Enter a correct username and password" in unknown.content.decode()


def test_lockout_after_failure_limit_answers_429_even_with_the_right_password(staff_user):
    staff_user(ENGAGEMENT, username="alice")
    client = Client()
    statuses = [sign_in_password(client, "alice", f"wrong-{n}").status_code
                for n in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert statuses[-1] == 429
    locked = sign_in_password(client, "alice", STAFF_PASSWORD)
    assert locked.status_code == 429
    assert "Your account is locked for now" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_spraying_from_many_addresses_locks_the_username(staff_user, settings):
    """Twelve wrong passwords for one account, each from a different address: the account locks,
    for every address, even with the right password; another account is not affected."""
    settings.AXES_FAILURE_LIMIT = 10
    staff_user(ENGAGEMENT, username="alice")
    staff_user(ENGAGEMENT, username="bob")
    statuses = []
    for n in range(12):
        response = Client(REMOTE_ADDR=f"198.51.100.{n + 1}").post(
            reverse("staff:login"), {"username": "alice", "password": f"wrong-{n}"})
        statuses.append(response.status_code)
    assert statuses == [200] * 9 + [429] * 3
    locked = Client(REMOTE_ADDR="203.0.113.77").post(reverse("staff:login"),
                                                      {"username": "alice", "password": STAFF_PASSWORD})
    assert locked.status_code == 429 and "Your account is locked for now" in locked.content.decode()
    other = Client(REMOTE_ADDR="198.51.100.1").post(reverse("staff:login"),
                                                    {"username": "bob", "password": STAFF_PASSWORD})
    assert other.status_code == 302


def test_password_step_alone_does_not_reach_staff_pages(staff_user):
    user = staff_user(ENGAGEMENT, username="alice")
    confirmed_totp(user)
    client = Client()
    response = sign_in_password(client, "alice")
    assert response.status_code == 302 and response["Location"].startswith(reverse("staff:verify"))
    page = client.get(DASHBOARD)
    assert page.status_code == 302 and page["Location"].startswith(reverse("staff:verify"))


# --- Enrolment with a QR code --------------------------------------------------------------------------
def test_first_sign_in_enrols_an_authenticator_with_a_server_drawn_qr_code(staff_user):
    user = staff_user(ENGAGEMENT, username="newstarter")
    client = Client()
    response = sign_in_password(client, "newstarter", next_url="/staff/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:setup_2fa"))

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="mynhs-qr"' in html
    assert 'role="img"' in html and "data:" not in html and "style=" not in html
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    from base64 import b32encode
    secret = b32encode(device.bin_key).decode()
    assert secret[:4] + " " + secret[4:8] in html  # manual-entry key, grouped for reading

    # Reloading keeps the same pending device, so a half-scanned QR code stays valid.
    client.get(response["Location"])
    assert TOTPDevice.objects.filter(user=user).count() == 1

    wrong = client.post(response["Location"], {"code": wrong_code(device)})
    assert wrong.status_code == 200 and "The code is not correct" in wrong.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    untrottle(device)

    done = client.post(response["Location"], {"code": totp_code(device)})
    assert done.status_code == 302 and done["Location"] == "/staff/tokens/"
    device.refresh_from_db()
    assert device.confirmed
    assert is_verified(client)
    actions = list(AuditEntry.objects.filter(object_type="auth.user", object_id=str(user.pk))
                   .values_list("action", flat=True))
    assert "staff.second_factor_enrolled" in actions and "staff.signed_in" in actions


def test_someone_with_only_the_password_cannot_enrol_a_second_device(staff_user):
    user = staff_user(ENGAGEMENT, username="alice")
    confirmed_totp(user)
    client = Client()
    sign_in_password(client, "alice")
    response = client.get(reverse("staff:setup_2fa"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("staff:verify"))
    assert client.post(reverse("staff:setup_2fa"), {"code": "123456"}).status_code == 302
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_setup_and_verify_need_the_password_step_first():
    for name in ("staff:setup_2fa", "staff:verify"):
        response = Client().get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("staff:login"))


# --- Verification ----------------------------------------------------------------------------------------
def test_wrong_totp_is_refused_and_a_valid_one_verifies(staff_user):
    user = staff_user(DATA_PROTECTION, username="dp")
    device = confirmed_totp(user)
    client = Client()
    sign_in_password(client, "dp", next_url="/staff/audit/")
    refused = client.post(reverse("staff:verify") + "?next=/staff/audit/", {"code": wrong_code(device)})
    assert refused.status_code == 200
    assert "The code is not correct" in refused.content.decode()
    assert DEVICE_ID_SESSION_KEY not in client.session
    assert not is_verified(client)

    untrottle(device)
    session_key_before = client.session.session_key
    accepted = client.post(reverse("staff:verify") + "?next=/staff/audit/", {"code": totp_code(device)})
    assert accepted.status_code == 302 and accepted["Location"] == "/staff/audit/"
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.session.session_key != session_key_before  # new key once fully signed in
    assert client.get("/staff/audit/").status_code == 200
    signed_in = AuditEntry.objects.filter(action="staff.signed_in", object_id=str(user.pk)).get()
    assert signed_in.actor_id == user.pk and signed_in.ip_address == "127.0.0.1"


def test_a_used_totp_code_cannot_be_replayed(staff_user):
    user = staff_user(ENGAGEMENT, username="alice")
    device = confirmed_totp(user)
    code = totp_code(device)
    first = Client()
    sign_in_password(first, "alice")
    assert first.post(reverse("staff:verify"), {"code": code}).status_code == 302
    second = Client()
    sign_in_password(second, "alice")
    replay = second.post(reverse("staff:verify"), {"code": code})
    assert replay.status_code == 200 and not is_verified(second)


def test_backup_code_verifies_once_and_does_not_count_against_the_app(staff_user):
    user = staff_user(ENGAGEMENT, username="alice", with_device=True, backup_codes=("abcd2345", "efgh6789"))
    app = confirmed_totp(user)
    client = Client()
    sign_in_password(client, "alice")
    response = client.post(reverse("staff:verify"), {"code": "ABCD 2345"})  # typed loosely
    assert response.status_code == 302
    assert is_verified(client)
    assert not StaticToken.objects.filter(token="abcd2345").exists()
    app.refresh_from_db()
    assert app.throttling_failure_count == 0

    again = Client()
    sign_in_password(again, "alice")
    assert again.post(reverse("staff:verify"), {"code": "abcd2345"}).status_code == 200
    assert not is_verified(again)


def test_device_throttling_is_on_a_right_code_straight_after_a_wrong_one_is_refused(staff_user):
    user = staff_user(ENGAGEMENT, username="alice")
    device = confirmed_totp(user)
    client = Client()
    sign_in_password(client, "alice")
    client.post(reverse("staff:verify"), {"code": wrong_code(device)})
    throttled = client.post(reverse("staff:verify"), {"code": totp_code(device)})
    assert throttled.status_code == 200
    assert "Too many attempts in a short time" in throttled.content.decode()
    assert not is_verified(client)
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1


def test_repeated_wrong_codes_lock_the_person_out_and_signing_in_again_does_not_reset_it(staff_user):
    user = staff_user(ENGAGEMENT, username="alice")
    device = confirmed_totp(user)
    client = Client()
    sign_in_password(client, "alice")
    statuses = []
    for _ in range(settings.AXES_FAILURE_LIMIT):
        untrottle(device)
        statuses.append(client.post(reverse("staff:verify"), {"code": wrong_code(device)}).status_code)
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {200}
    assert "_auth_user_id" not in client.session  # the half-signed-in session was ended
    assert AuditEntry.objects.filter(action="staff.second_factor_locked_out", object_id=str(user.pk)).count() == 1

    # A fresh password sign-in (which resets django-axes) buys no more guesses, even a right one.
    fresh = Client()
    assert sign_in_password(fresh, "alice").status_code == 302
    untrottle(device)
    assert fresh.get(reverse("staff:verify")).status_code == 429
    fresh = Client()
    sign_in_password(fresh, "alice")
    assert fresh.post(reverse("staff:verify"), {"code": totp_code(device)}).status_code == 429
    assert not is_verified(fresh)

    # An administrator resetting the second factor clears the lock (new enrolment follows).
    services.reset_second_factor(user=user, actor=services.Actor.system())
    fresh = Client()
    assert sign_in_password(fresh, "alice")["Location"].startswith(reverse("staff:setup_2fa"))
    assert fresh.get(reverse("staff:setup_2fa")).status_code == 200


def test_enrolment_codes_are_rate_limited_too(staff_user):
    user = staff_user(ENGAGEMENT, username="alice")
    client = Client()
    sign_in_password(client, "alice")
    client.get(reverse("staff:setup_2fa"))
    device = TOTPDevice.objects.get(user=user)
    statuses = []
    for _ in range(settings.AXES_FAILURE_LIMIT):
        untrottle(device)
        statuses.append(client.post(reverse("staff:setup_2fa"), {"code": wrong_code(device)}).status_code)
    assert statuses[-1] == 429
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_next_must_be_a_local_path(staff_user):
    user = staff_user(ENGAGEMENT, username="alice")
    device = confirmed_totp(user)
    client = Client()
    sign_in_password(client, "alice", next_url="https://evil.example/")
    response = client.post(reverse("staff:verify") + "?next=https://evil.example/", {"code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == DASHBOARD


# --- Sessions -----------------------------------------------------------------------------------------
def test_idle_session_expires_and_the_login_page_says_why(staff_client):
    client = staff_client(ENGAGEMENT)
    assert client.get(DASHBOARD).status_code == 200
    session = client.session
    session[StaffSessionMiddleware.SESSION_KEY] = int(time.time()) - settings.STAFF_SESSION_IDLE_SECONDS - 5
    session.save()
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response["Location"].startswith(reverse("staff:login"))
    login_page = client.get(response["Location"])
    assert "You were signed out because you had not used the service" in login_page.content.decode()
    assert client.get(DASHBOARD).status_code == 302


def test_activity_within_the_idle_limit_keeps_the_session(staff_client):
    client = staff_client(ENGAGEMENT)
    session = client.session
    session[StaffSessionMiddleware.SESSION_KEY] = int(time.time()) - settings.STAFF_SESSION_IDLE_SECONDS + 60
    session.save()
    assert client.get(DASHBOARD).status_code == 200
    assert client.session[StaffSessionMiddleware.SESSION_KEY] >= int(time.time()) - 5


def test_logout_is_post_only_and_ends_the_session(staff_client):
    client = staff_client(ENGAGEMENT)
    assert client.get(reverse("staff:logout")).status_code == 405
    assert is_verified(client)
    response = client.post(reverse("staff:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("staff:login")
    assert client.get(DASHBOARD).status_code == 302
    assert AuditEntry.objects.filter(action="staff.signed_out", object_id=str(client.user.pk)).exists()


def test_deactivated_account_loses_its_live_session(staff_client):
    client = staff_client(ENGAGEMENT)
    User.objects.filter(pk=client.user.pk).update(is_active=False)
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response["Location"].startswith(reverse("staff:login"))


def test_change_own_password(staff_client):
    client = staff_client(ENGAGEMENT)
    weak = client.post(reverse("staff:password_change"), {
        "old_password": STAFF_PASSWORD, "new_password1": "password", "new_password2": "password"})
    assert weak.status_code == 200
    new = "a-much-longer-passphrase-77"
    response = client.post(reverse("staff:password_change"), {
        "old_password": STAFF_PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert is_verified(client)  # the session survives its own password change
    user = User.objects.get(pk=client.user.pk)
    assert user.check_password(new)
    assert AuditEntry.objects.filter(action="staff.password_changed", object_id=str(user.pk)).exists()


# --- Staff accounts -----------------------------------------------------------------------------------
def test_administrator_creates_an_account_with_a_temporary_password_shown_once(staff_client):
    admin = staff_client(ADMINISTRATOR)
    response = admin.post(reverse("staff:account_create"), {
        "username": "j.bloggs", "first_name": "Joanna", "last_name": "Bloggs-Unique",
        "email": "joanna.bloggs@nhs.example", "roles": [ENGAGEMENT, DATA_PROTECTION],
        "password_choice": "generate",
    })
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    user = User.objects.get(username="j.bloggs")
    html = response.content.decode()
    marker = 'id="temporary-password">'
    temporary = html[html.index(marker) + len(marker):].split("<", 1)[0]
    assert user.check_password(temporary)
    # Data protection needs a second Administrator: not given yet, and the page says so.
    assert sorted(user.groups.values_list("name", flat=True)) == [ENGAGEMENT]
    assert "Data protection is not given yet: a second Administrator must approve it" in html
    assert list(StaffRoleRequest.objects.filter(user=user).values_list("role", "change", "status",
                                                                       "requested_by")) == [
        (DATA_PROTECTION, "add", "pending", admin.user.pk)]
    assert user.is_active and not user.is_staff and not user.is_superuser
    assert temporary not in admin.get(reverse("staff:account", kwargs={"user_id": user.pk})).content.decode()

    entry = AuditEntry.objects.get(action="staff.account_created")
    assert entry.object_id == str(user.pk) and entry.actor_id == admin.user.pk
    assert entry.changes == {"roles": [ENGAGEMENT], "temporary_password": True}
    dumped = f"{entry.summary} {entry.changes}"
    for personal in ("Joanna", "Bloggs-Unique", "joanna.bloggs", temporary):
        assert personal not in dumped

    # The new person goes straight to enrolment on first sign-in.
    newcomer = Client()
    assert sign_in_password(newcomer, "j.bloggs", temporary)["Location"].startswith(reverse("staff:setup_2fa"))


def test_account_form_applies_django_password_validators_and_unique_usernames(staff_client, staff_user):
    staff_user(username="taken")
    admin = staff_client(ADMINISTRATOR)
    base = {"first_name": "Sam", "last_name": "Smith", "email": "sam@nhs.example", "roles": [ENGAGEMENT],
            "password_choice": "set"}
    weak = admin.post(reverse("staff:account_create"), {**base, "username": "sam", "password1": "12345678",
                                                         "password2": "12345678"})
    assert weak.status_code == 200
    assert "This password is too short" in weak.content.decode()
    taken = admin.post(reverse("staff:account_create"), {**base, "username": "TAKEN",
                                                          "password1": "long-enough-passphrase-1",
                                                          "password2": "long-enough-passphrase-1"})
    assert "already exists" in taken.content.decode()
    no_role = admin.post(reverse("staff:account_create"), {**base, "roles": [], "username": "sam2",
                                                            "password_choice": "generate"})
    assert "Select at least one role" in no_role.content.decode()
    assert not User.objects.filter(username__in=["sam", "sam2"]).exists()
    good = admin.post(reverse("staff:account_create"), {**base, "username": "sam",
                                                         "password1": "long-enough-passphrase-1",
                                                         "password2": "long-enough-passphrase-1"})
    assert good.status_code == 200 and 'id="temporary-password"' not in good.content.decode()
    assert User.objects.get(username="sam").check_password("long-enough-passphrase-1")


def test_change_roles_and_cannot_remove_own_administrator_role(staff_client, staff_user):
    admin = staff_client(ADMINISTRATOR)
    target = staff_user(ENGAGEMENT)
    url = reverse("staff:account_roles", kwargs={"user_id": target.pk})
    assert admin.post(url, {"roles": [COMMUNICATIONS]}).status_code == 302
    assert list(target.groups.values_list("name", flat=True)) == [COMMUNICATIONS]
    entry = AuditEntry.objects.get(action="staff.roles_changed")
    assert entry.changes == {"added": [COMMUNICATIONS], "removed": [ENGAGEMENT]}

    own = reverse("staff:account_roles", kwargs={"user_id": admin.user.pk})
    refused = admin.post(own, {"roles": []})
    assert refused.status_code == 400
    assert "cannot remove the Administrator role from your own account" in refused.content.decode()
    assert admin.user.groups.filter(name=ADMINISTRATOR).exists()


@pytest.mark.parametrize("role", [COMMUNICATIONS, ENGAGEMENT, DATA_PROTECTION])
def test_nobody_gives_themselves_a_role_on_the_page_or_through_the_service(staff_client, role):
    admin = staff_client(ADMINISTRATOR)
    refused = admin.post(reverse("staff:account_roles", kwargs={"user_id": admin.user.pk}),
                         {"roles": [ADMINISTRATOR, role]})
    assert refused.status_code == 400 and "You cannot give yourself a role" in refused.content.decode()
    with pytest.raises(ValidationError, match="cannot give yourself a role"):
        services.set_staff_roles(user=admin.user, roles=[ADMINISTRATOR, role], actor=Actor.staff(admin.user))
    assert list(admin.user.groups.values_list("name", flat=True)) == [ADMINISTRATOR]
    assert not StaffRoleRequest.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="staff.role").exists()


def test_only_an_administrator_changes_roles_whoever_calls_the_service(staff_user):
    engagement = staff_user(ENGAGEMENT)
    target = staff_user()
    for actor in (Actor.staff(engagement), Actor.system()):
        with pytest.raises(ValidationError, match="Only an Administrator"):
            services.set_staff_roles(user=target, roles=[ENGAGEMENT], actor=actor)
    assert not target.groups.exists()


@pytest.mark.parametrize("role", [ADMINISTRATOR, DATA_PROTECTION])
def test_powerful_roles_need_a_second_administrator(staff_client, staff_user, role):
    first = staff_client(ADMINISTRATOR)
    second = staff_client(ADMINISTRATOR)
    target = staff_user(ENGAGEMENT)
    account_url = reverse("staff:account", kwargs={"user_id": target.pk})
    assert first.post(reverse("staff:account_roles", kwargs={"user_id": target.pk}),
                      {"roles": [ENGAGEMENT, role]}).status_code == 302
    assert list(target.groups.values_list("name", flat=True)) == [ENGAGEMENT]  # not yet
    pending = StaffRoleRequest.objects.get(user=target)
    assert (pending.role, pending.change, pending.status) == (role, "add", "pending")
    # Asking twice files one request.
    first.post(reverse("staff:account_roles", kwargs={"user_id": target.pk}), {"roles": [ENGAGEMENT, role]})
    assert StaffRoleRequest.objects.filter(user=target).count() == 1

    approve = reverse("staff:account_role_request_approve", kwargs={"user_id": target.pk, "request_id": pending.pk})
    own_page = first.get(account_url).content.decode()
    assert "Another Administrator must approve this" in own_page and approve not in own_page
    refused = first.post(approve, follow=True)
    assert "A different Administrator must approve this" in refused.content.decode()
    assert not target.groups.filter(name=role).exists()

    assert approve in second.get(account_url).content.decode()
    assert second.post(approve).status_code == 302
    assert sorted(target.groups.values_list("name", flat=True)) == sorted([ENGAGEMENT, role])
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by_id) == ("approved", second.user.pk)
    assert list(AuditEntry.objects.filter(action__startswith="staff.role_change").order_by("id")
                .values_list("action", "actor_id", "changes")) == [
        ("staff.role_change_requested", first.user.pk, {"role": role, "change": "add", "request_id": pending.pk}),
        ("staff.role_change_approved", second.user.pk, {"role": role, "change": "add", "request_id": pending.pk}),
    ]
    again = second.post(approve, follow=True)
    assert "already been decided" in again.content.decode()


def test_taking_away_a_powerful_role_also_needs_a_second_administrator_and_can_be_declined(staff_user):
    first, second, target = staff_user(ADMINISTRATOR), staff_user(ADMINISTRATOR), staff_user(DATA_PROTECTION)
    change = services.set_staff_roles(user=target, roles=[ENGAGEMENT], actor=Actor.staff(first))
    assert (change.added, change.removed) == ([ENGAGEMENT], [])
    assert [(r.role, r.change) for r in change.requested] == [(DATA_PROTECTION, "remove")]
    assert sorted(target.groups.values_list("name", flat=True)) == [DATA_PROTECTION, ENGAGEMENT]
    with pytest.raises(ValidationError, match="Only an Administrator"):
        services.decline_role_request(request=change.requested[0], actor=Actor.staff(target))
    services.decline_role_request(request=change.requested[0], actor=Actor.staff(second))
    assert sorted(target.groups.values_list("name", flat=True)) == [DATA_PROTECTION, ENGAGEMENT]
    with pytest.raises(ValidationError, match="already been decided"):
        services.approve_role_request(request=change.requested[0], actor=Actor.staff(second))


def test_the_person_cannot_approve_a_change_to_their_own_roles(staff_user):
    first, target = staff_user(ADMINISTRATOR), staff_user(ADMINISTRATOR)
    change = services.set_staff_roles(user=target, roles=[ADMINISTRATOR, DATA_PROTECTION], actor=Actor.staff(first))
    with pytest.raises(ValidationError, match="different Administrator"):
        services.approve_role_request(request=change.requested[0], actor=Actor.staff(target))
    with pytest.raises(ValidationError, match="own roles"):
        services.decline_role_request(request=change.requested[0], actor=Actor.staff(target))
    non_admin = staff_user(DATA_PROTECTION)
    with pytest.raises(ValidationError, match="Only an Administrator"):
        services.approve_role_request(request=change.requested[0], actor=Actor.staff(non_admin))
    assert not target.groups.filter(name=DATA_PROTECTION).exists()


def test_the_database_refuses_an_approval_by_the_requester_or_a_request_for_oneself(staff_user):
    from django.db import IntegrityError, transaction

    first, target = staff_user(ADMINISTRATOR), staff_user()
    pending = StaffRoleRequest.objects.create(user=target, role=ADMINISTRATOR, change="add", requested_by=first,
                                              requested_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffRoleRequest.objects.filter(pk=pending.pk).update(status="approved", decided_by=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffRoleRequest.objects.filter(pk=pending.pk).update(status="approved", decided_by=target)
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffRoleRequest.objects.create(user=first, role=DATA_PROTECTION, change="add", requested_by=first,
                                        requested_at=timezone.now())


def test_an_administrator_cannot_reset_or_deactivate_a_superuser(staff_client, staff_user):
    admin = staff_client(ADMINISTRATOR)
    root = staff_user(is_superuser=True, is_staff=True)
    confirmed_totp(root)
    password_hash = User.objects.get(pk=root.pk).password
    for name in ("account_reset_password", "account_reset_2fa", "account_deactivate"):
        response = admin.post(reverse(f"staff:{name}", kwargs={"user_id": root.pk}), follow=True)
        assert response.status_code == 200
        assert "Only a superuser can" in response.content.decode()
    root.refresh_from_db()
    assert root.password == password_hash and root.is_active
    assert TOTPDevice.objects.filter(user=root).exists()
    for service in (services.reset_staff_password, services.reset_second_factor, services.deactivate_staff_account):
        with pytest.raises(ValidationError, match="Only a superuser"):
            service(user=root, actor=Actor.staff(admin.user))
        with pytest.raises(ValidationError, match="Only a superuser"):
            service(user=root, actor=Actor.system())
    assert not AuditEntry.objects.filter(object_id=str(root.pk)).exists()
    other_root = staff_user(is_superuser=True, is_staff=True)
    assert services.reset_second_factor(user=root, actor=Actor.staff(other_root)) == 1


def test_admin_site_for_staff_without_admin_rights_is_a_styled_403_not_a_redirect_loop(staff_client):
    client = staff_client(ADMINISTRATOR, DATA_PROTECTION)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) <= 2
    html = response.content.decode()
    assert "You do not have access to this page" in html
    assert "nhsuk-header" in html and "Sign out" in html  # the staff pages' own look and header
    assert client.get("/admin/crm/auditentry/", follow=True).status_code == 403


def test_deactivate_never_deletes_revokes_tokens_and_blocks_sign_in(staff_client, staff_user):
    admin = staff_client(ADMINISTRATOR)
    target = staff_user(ENGAGEMENT, username="leaver")
    token, _raw = services.create_api_token(user=target, name="script", actor=services.Actor.system())
    response = admin.post(reverse("staff:account_deactivate", kwargs={"user_id": target.pk}))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_active is False
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert sign_in_password(Client(), "leaver").status_code == 200  # refused like a wrong password
    assert AuditEntry.objects.filter(action="staff.account_deactivated", object_id=str(target.pk)).exists()

    admin.post(reverse("staff:account_reactivate", kwargs={"user_id": target.pk}))
    target.refresh_from_db()
    assert target.is_active

    admin.post(reverse("staff:account_deactivate", kwargs={"user_id": admin.user.pk}))
    admin.user.refresh_from_db()
    assert admin.user.is_active  # not yourself


def test_reset_second_factor_and_password(staff_client, staff_user):
    admin = staff_client(ADMINISTRATOR)
    target = staff_user(ENGAGEMENT, username="lostphone", with_device=True)
    confirmed_totp(target)
    admin.post(reverse("staff:account_reset_2fa", kwargs={"user_id": target.pk}))
    assert not TOTPDevice.objects.filter(user=target).exists()
    assert not StaticDevice.objects.filter(user=target).exists()
    entry = AuditEntry.objects.get(action="staff.second_factor_reset")
    assert entry.changes == {"devices_removed": 2}

    response = admin.post(reverse("staff:account_reset_password", kwargs={"user_id": target.pk}))
    html = response.content.decode()
    marker = 'id="temporary-password">'
    temporary = html[html.index(marker) + len(marker):].split("<", 1)[0]
    target.refresh_from_db()
    assert target.check_password(temporary) and not target.check_password(STAFF_PASSWORD)


def test_accounts_list_shows_roles_and_second_factor_state(staff_client, staff_user):
    admin = staff_client(ADMINISTRATOR)
    staff_user(ENGAGEMENT, username="without-device")
    html = admin.get(reverse("staff:accounts")).content.decode()
    assert "without-device" in html and "Not set up" in html and "Engagement" in html


def test_administrator_can_revoke_someone_elses_token(staff_client, staff_user):
    admin = staff_client(ADMINISTRATOR)
    target = staff_user(ENGAGEMENT)
    token, _raw = services.create_api_token(user=target, name="script", actor=services.Actor.system())
    page = admin.get(reverse("staff:account", kwargs={"user_id": target.pk})).content.decode()
    assert token.prefix in page and token.token_hash not in page
    admin.post(reverse("staff:account_token_revoke", kwargs={"user_id": target.pk, "token_id": token.pk}))
    assert StaffApiToken.objects.get(pk=token.pk).revoked_at is not None
