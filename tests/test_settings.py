"""Settings fail closed: anything that is not declared the demo or the tests is production.

Each case imports the settings (or starts a server) in a fresh interpreter, as a server process would.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETUP = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'crm.settings'; django.setup();"
    "from django.conf import settings;"
    "print(settings.ENVIRONMENT, settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
    " settings.SECURE_HSTS_SECONDS)"
)
SAFE_PRODUCTION = {
    "MYNHS_ENV": "production",
    "DEBUG": "0",
    "SECRET_KEY": "k3J9-production-secret-that-is-long-enough-0123456789abcdef",
    "ANYMAIL_WEBHOOK_SECRET": "anymail:webhook-secret-value",
    "SUPPRESSION_PEPPER": "pepper-for-suppression-hashes-0123456789",
    "AUDIT_HMAC_KEY": "audit-chain-key-for-production-0123456789abcdefghij",
    "ALLOWED_HOSTS": "mynhs.example.nhs.uk",
    "MYNHS_ORGANISATION_FILE": str(ROOT / "tests" / "data" / "second_organisation" / "organisation.toml"),
}
CONFIG_VARIABLES = {
    "MYNHS_ENV", "DEBUG", "SECRET_KEY", "ANYMAIL_WEBHOOK_SECRET", "SUPPRESSION_PEPPER", "AUDIT_HMAC_KEY",
    "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "ANYMAIL_ESP", "EMAIL_HOST", "SQLITE_PATH", "HUEY_SQLITE_PATH",
    "SUPPRESSION_PEPPERS", "SUPPRESSION_PEPPER_KEY_ID", "MYNHS_ORGANISATION_FILE",
}
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"


def environment(tmp_path, **overrides) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
    env.update(MYNHS_VAR_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env.update({key: value for key, value in overrides.items() if value is not None})
    return env


def start(tmp_path, **overrides) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=environment(tmp_path, **overrides),
                          capture_output=True, text=True, timeout=60)


def manage(tmp_path, *args, **overrides) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment(tmp_path, **overrides),
                          capture_output=True, text=True, timeout=120)


def test_production_with_everything_set_starts_with_secure_cookies_and_hsts(tmp_path):
    result = start(tmp_path, **SAFE_PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["production", "False", "True", "True", "31536000"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"DEBUG": "1"}, "DEBUG must be off"),
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": DEVELOPMENT_SECRET_KEY}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"ANYMAIL_WEBHOOK_SECRET": None}, "ANYMAIL_WEBHOOK_SECRET must be set"),
        ({"ANYMAIL_WEBHOOK_SECRET": ""}, "ANYMAIL_WEBHOOK_SECRET must be set"),
        ({"ANYMAIL_WEBHOOK_SECRET": "no-colon"}, "ANYMAIL_WEBHOOK_SECRET must be set"),
        ({"SUPPRESSION_PEPPER": None}, "SUPPRESSION_PEPPER must be set"),
        ({"SUPPRESSION_PEPPER": "mynhs-suppression-v1"}, "SUPPRESSION_PEPPER must be set"),
        ({"AUDIT_HMAC_KEY": None}, "AUDIT_HMAC_KEY must be set"),
        ({"MYNHS_ORGANISATION_FILE": None}, "MYNHS_ORGANISATION_FILE must name your organisation's file"),
    ],
)
def test_production_refuses_to_start_unsafely(tmp_path, change, complaint):
    result = start(tmp_path, **{**SAFE_PRODUCTION, **change})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


@pytest.mark.parametrize(
    "declared",
    [
        {"MYNHS_ENV": None},  # nothing declared: a server started by hand, gunicorn from a unit file
        {"MYNHS_ENV": ""},
        {"MYNHS_ENV": "development"},  # development without DEBUG is not a debugging session
        {"MYNHS_ENV": "development", "DEBUG": "0"},
        {"MYNHS_ENV": "staging"},
        {"MYNHS_ENV": "prod"},
    ],
)
def test_anything_not_declared_demo_or_test_gets_the_production_checks(tmp_path, declared):
    result = start(tmp_path, **declared)
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr
    assert "SUPPRESSION_PEPPER must be set" in result.stderr
    assert "AUDIT_HMAC_KEY must be set" in result.stderr


@pytest.mark.parametrize("declared", ["staging", "prod"])
def test_an_unknown_environment_name_is_refused_even_with_every_secret_set(tmp_path, declared):
    result = start(tmp_path, **{**SAFE_PRODUCTION, "MYNHS_ENV": declared})
    assert result.returncode != 0
    assert f"MYNHS_ENV='{declared}' is not one of" in result.stderr


def test_a_production_setup_without_mynhs_env_starts_as_production(tmp_path):
    result = start(tmp_path, **{**SAFE_PRODUCTION, "MYNHS_ENV": None})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["production", "False", "True", "True", "31536000"]


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ({"MYNHS_ENV": "demo"}, ["demo", "False"]),
        ({"MYNHS_ENV": "test"}, ["test", "False"]),
        ({"MYNHS_ENV": "development", "DEBUG": "1"}, ["development", "True"]),
        ({"MYNHS_ENV": "demo", "DEBUG": "1"}, ["demo", "True"]),
    ],
)
def test_the_demo_tests_and_debugging_start_with_no_configuration(tmp_path, declared, expected):
    result = start(tmp_path, **declared)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [*expected, "False", "False", "0"]


def test_bin_serve_declares_the_demo():
    lines = (ROOT / "bin" / "serve").read_text().splitlines()
    assert "export MYNHS_ENV=demo" in lines


# --- The demo staff accounts (checked by the server at start-up, crm/startup.py) ------------

IMPORT_WSGI = "import crm.wsgi; print('loaded')"


def load_wsgi(tmp_path, **overrides) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", IMPORT_WSGI], cwd=ROOT, env=environment(tmp_path, **overrides),
                          capture_output=True, text=True, timeout=120)


def prepare_demo(var) -> None:
    for command in (["migrate", "--noinput", "-v0"], ["createcachetable"], ["ensure_demo_staff"]):
        result = manage(var, *command, MYNHS_ENV="demo")
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    """A migrated SQLite database holding the demo staff accounts, made as bin/serve makes it."""
    var = tmp_path_factory.mktemp("demo-var")
    prepare_demo(var)
    return var


def test_a_production_server_refuses_to_start_while_the_demo_accounts_can_sign_in(demo_database):
    result = load_wsgi(demo_database, **SAFE_PRODUCTION)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "demo staff accounts still usable with the published demo password: admin, commissioner, comms, comms2, dpo, engagement." \
        in result.stderr
    assert "loaded" not in result.stdout


def test_the_asgi_entry_point_refuses_too(demo_database):
    result = subprocess.run([sys.executable, "-c", "import crm.asgi"], cwd=ROOT,
                            env=environment(demo_database, **SAFE_PRODUCTION), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    assert "demo staff accounts" in result.stderr


def test_the_demo_itself_starts_with_its_accounts(demo_database):
    result = load_wsgi(demo_database, MYNHS_ENV="demo")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["loaded"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_runserver_in_production_exits_instead_of_serving_the_demo_accounts(demo_database):
    port = _free_port()
    env = environment(demo_database, **SAFE_PRODUCTION)
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.communicate()
        pytest.fail("runserver kept running in production with the demo staff accounts")
    assert server.returncode != 0
    assert "demo staff accounts" in stderr


def test_a_production_server_starts_once_the_demo_accounts_cannot_sign_in(tmp_path_factory):
    var = tmp_path_factory.mktemp("cleaned-var")
    prepare_demo(var)
    # One account given a real password, one deactivated, the other four removed: nothing usable is left.
    script = (
        "from django.contrib.auth.models import User;"
        "u = User.objects.get(username='admin'); u.set_password('a-real-password-chosen-by-the-team-2026'); u.save();"
        "User.objects.filter(username='dpo').update(is_active=False);"
        "User.objects.filter(username__in=['comms', 'comms2', 'engagement', 'commissioner']).delete()"
    )
    assert manage(var, "shell", "-c", script, MYNHS_ENV="demo").returncode == 0
    started = time.monotonic()
    result = load_wsgi(var, **SAFE_PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["loaded"]
    assert time.monotonic() - started < 30


def test_one_demo_account_left_usable_is_enough_to_refuse(tmp_path_factory):
    var = tmp_path_factory.mktemp("one-left-var")
    prepare_demo(var)
    script = "from django.contrib.auth.models import User; User.objects.exclude(username='engagement').delete()"
    assert manage(var, "shell", "-c", script, MYNHS_ENV="demo").returncode == 0
    result = load_wsgi(var, **SAFE_PRODUCTION)
    assert result.returncode != 0
    assert "still usable with the published demo password: engagement." in result.stderr


def test_a_server_refuses_to_start_with_a_broken_organisation_file(tmp_path):
    broken = tmp_path / "organisation.toml"
    broken.write_text('name = "NHS Somewhere"\n')
    result = load_wsgi(tmp_path, MYNHS_ENV="demo", MYNHS_ORGANISATION_FILE=str(broken))
    assert result.returncode != 0
    assert f"{broken}: the [data_protection] table is missing" in result.stderr
