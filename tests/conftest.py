import os

import pytest
from django.db import connection

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _huey_immediate():
    """Run Huey tasks in-process: tests choose explicitly (STACK.md: immediate mode follows DEBUG)."""
    from huey.contrib.djhuey import HUEY

    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """PBKDF2 is slow on purpose (about half a second per hash on a small machine): with real hashing,
    creating and signing in staff accounts took most of the suite's time. Tests only need hashes to match."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _clear_cache(request):
    """Rate-limit counters live in the cache (a database table by default): start each test clean."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db", "live_server"} & set(
        request.fixturenames
    )
    if uses_db:
        from django.core.cache import cache

        if "transactional_db" not in request.fixturenames and "live_server" not in request.fixturenames:
            request.getfixturevalue("db")
        cache.clear()
    yield


@pytest.fixture(autouse=True)
def _release_ledger_for_flush(request):
    """Transactional tests end with a flush that DELETEs every row; the ledger trigger would refuse.

    Permit exactly the rows that exist (as erasure does) so the flush can run.
    """
    yield
    if "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO consent_erasurepermit (contact_id) SELECT DISTINCT contact_id FROM consent_consentevent "
                "WHERE contact_id NOT IN (SELECT contact_id FROM consent_erasurepermit)"
            )


@pytest.fixture(autouse=True)
def _release_sqlite_triggers_for_flush(request):
    """SQLite's flush DELETEs table by table in no fixed order (erasure permits may go before the events
    they permit) and would hit the ledger and published-statement triggers. PostgreSQL TRUNCATEs, which
    fires no row trigger. Drop those triggers just before the flush; ``_after_flush`` puts them back."""
    yield
    if connection.vendor == "sqlite" and (
        "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    ):
        with connection.cursor() as cursor:
            for trigger in ("consent_event_no_delete", "consent_statement_no_delete"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")


def _after_flush(sender, using, **kwargs):
    """A flush (end of every transactional test) empties what data migrations loaded and is followed by
    post_migrate: restore the SQLite triggers, the reference data and the staff roles, so the next
    transactional test starts from what ``migrate`` gives. Idempotent (also runs after the real migrate).
    A new data migration should be added here too.
    """
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group, Permission
    from django.db import connections

    from crm.roles import apply_roles

    # post_migrate is sent once per app that has a models module (not to "ninja", listed last): act
    # once, for the last such app, when every app's permissions exist.
    if sender.label != [c for c in apps.get_app_configs() if c.models_module is not None][-1].label:
        return
    db = connections[using]
    if db.vendor == "sqlite":
        triggers = importlib.import_module("consent.migrations.0002_ledger_triggers")
        with db.cursor() as cursor:
            for sql in triggers.SQLITE_FORWARD:
                cursor.execute(sql.replace("CREATE TRIGGER ", "CREATE TRIGGER IF NOT EXISTS ", 1))
    importlib.import_module("crm.migrations.0002_reference_data").load(apps, None)
    importlib.import_module("consent.migrations.0003_purposes_and_statements").load(apps, None)
    apply_roles(Group, Permission)
    bulletin_roles = importlib.import_module("bulletins.migrations.0002_communications_permissions")
    apply_roles(Group, Permission, bulletin_roles.BULLETIN_ROLE_PERMISSIONS)
    segment_roles = importlib.import_module("segments.migrations.0002_engagement_permissions")
    apply_roles(Group, Permission, segment_roles.SEGMENT_ROLE_PERMISSIONS)
    import_roles = importlib.import_module("segments.migrations.0004_import_permissions")
    apply_roles(Group, Permission, import_roles.IMPORT_ROLE_PERMISSIONS)
    activity_roles = importlib.import_module("segments.migrations.0007_activity_permissions")
    apply_roles(Group, Permission, activity_roles.ACTIVITY_ROLE_PERMISSIONS)
    baseline_roles = importlib.import_module("crm.migrations.0010_baseline_permissions")
    apply_roles(Group, Permission, baseline_roles.BASELINE_ROLE_PERMISSIONS)


def pytest_configure(config):
    from django.db.models.signals import post_migrate

    post_migrate.connect(_after_flush, dispatch_uid="tests.conftest._after_flush")


@pytest.fixture
def actor():
    from crm.audit import Actor

    return Actor.system()


@pytest.fixture
def public_actor():
    from crm.audit import Actor

    return Actor.public("127.0.0.1")


@pytest.fixture
def topics(db):
    from crm.models import Topic

    return list(Topic.objects.order_by("name")[:3])


@pytest.fixture
def make_contact(db, actor):
    """A confirmed contact with consent for the given purposes, recorded as staff evidence."""
    from consent import services

    counter = {"n": 0}

    def make(email=None, name="Test Person", purposes=("bulletin",), **extra):
        counter["n"] += 1
        email = email or f"person{counter['n']}@example.org"
        return services.add_contact_with_consent(
            email=email, name=name, actor=actor, method="paper_form", purposes=list(purposes),
            evidence_reference="test form", **extra,
        )

    return make


# --- Staff users and signed-in, second-factor-verified clients (shared by every staff test) ---------
STAFF_PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture
def staff_user(db):
    """Factory: ``staff_user("Engagement")`` → an active user in those role groups (none → no roles).

    Password is ``STAFF_PASSWORD``. Pass ``with_device=True`` to also give the user a confirmed static
    (backup-code) device holding ``backup_codes``; the device is on ``user.otp_static_device``.
    """
    from django.contrib.auth.models import Group, User
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    counter = {"n": 0}

    def make(*roles, username=None, email=None, password=STAFF_PASSWORD, with_device=False,
             backup_codes=("12345678", "87654321"), **extra):
        counter["n"] += 1
        username = username or f"staff{counter['n']}"
        user = User.objects.create_user(
            username=username, email=email or f"{username}@nhs.example", password=password,
            first_name=extra.pop("first_name", "Staff"), last_name=extra.pop("last_name", f"Member {counter['n']}"),
            **extra,
        )
        if roles and Group.objects.filter(name__in=roles).count() < len(set(roles)):
            # A transactional test's flush removes the groups the roles migration created.
            from django.contrib.auth.models import Permission

            from crm.roles import apply_roles

            apply_roles(Group, Permission)
        groups = list(Group.objects.filter(name__in=roles))
        if len(groups) != len(set(roles)):
            raise LookupError(f"Unknown role in {roles}")
        user.groups.add(*groups)
        if with_device:
            device = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
            for code in backup_codes:
                StaticToken.objects.create(device=device, token=code)
            user.otp_static_device = device
        return user

    return make


def verify_client_session(client, user):
    """Mark ``client``'s (already logged-in) session as second-factor verified for ``user``."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_static.models import StaticDevice

    device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture
def staff_client(staff_user):
    """Factory: ``staff_client("Data protection")`` → a test Client signed in and OTP-verified.

    ``staff_client(user=existing_user)`` signs in a given user; ``verified=False`` leaves the second
    factor unverified (staff pages then redirect to staff:verify). The user is on ``client.user``.
    """
    from django.test import Client

    def make(*roles, user=None, verified=True):
        user = user or staff_user(*roles)
        client = Client()
        client.force_login(user)
        if verified:
            verify_client_session(client, user)
        client.user = user
        return client

    return make
