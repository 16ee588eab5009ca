"""Production settings refuse to start unsafely; development settings need nothing.

Each case imports the settings in a fresh interpreter, as a server process would.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETUP = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'crm.settings'; django.setup();"
    "from django.conf import settings;"
    "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS)"
)
SAFE_PRODUCTION = {
    "MYNHS_ENV": "production",
    "DEBUG": "0",
    "SECRET_KEY": "k3J9-production-secret-that-is-long-enough-0123456789abcdef",
    "ANYMAIL_WEBHOOK_SECRET": "anymail:webhook-secret-value",
    "SUPPRESSION_PEPPER": "pepper-for-suppression-hashes-0123456789",
    "ALLOWED_HOSTS": "mynhs.example.nhs.uk",
}
CONFIG_VARIABLES = {
    "MYNHS_ENV", "DEBUG", "SECRET_KEY", "ANYMAIL_WEBHOOK_SECRET", "SUPPRESSION_PEPPER", "ALLOWED_HOSTS",
    "DATABASE_URL", "REDIS_URL", "ANYMAIL_ESP", "EMAIL_HOST",
}


def start(tmp_path, **overrides) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
    env.update(MYNHS_VAR_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env.update({key: value for key, value in overrides.items() if value is not None})
    return subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_production_with_everything_set_starts_with_secure_cookies_and_hsts(tmp_path):
    result = start(tmp_path, **SAFE_PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "31536000"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"DEBUG": "1"}, "DEBUG must be off"),
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"ANYMAIL_WEBHOOK_SECRET": None}, "ANYMAIL_WEBHOOK_SECRET must be set"),
        ({"ANYMAIL_WEBHOOK_SECRET": ""}, "ANYMAIL_WEBHOOK_SECRET must be set"),
        ({"ANYMAIL_WEBHOOK_SECRET": "no-colon"}, "ANYMAIL_WEBHOOK_SECRET must be set"),
        ({"SUPPRESSION_PEPPER": None}, "SUPPRESSION_PEPPER must be set"),
    ],
)
def test_production_refuses_to_start_unsafely(tmp_path, change, complaint):
    result = start(tmp_path, **{**SAFE_PRODUCTION, **change})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


def test_development_starts_with_no_configuration(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "False", "0"]
