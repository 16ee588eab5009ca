"""Settings for My NHS, read from the environment (12-factor).

Defaults describe the embedded, single-machine set-up: SQLite in WAL mode, Huey on SQLite and
email written to a local outbox folder. Fail closed: unless the process declares itself the demo
(``MYNHS_ENV=demo``, as ``bin/serve`` does), the tests (``MYNHS_ENV=test``) or a debugging session
(``MYNHS_ENV=development`` with ``DEBUG=1``), it is production, and refuses to start with the
development secret key, the default suppression pepper or no webhook secret (and, at server start,
with the demo staff accounts: crm/startup.py).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MYNHS_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
# demo | test | development (only with DEBUG on) | production. Anything else, a typo or nothing at all
# is production: a server started some other way gets the production checks, never the demo's ease.
DECLARED_ENVIRONMENT = os.environ.get("MYNHS_ENV", "").strip().lower()
if DECLARED_ENVIRONMENT in {"demo", "test"} or (DECLARED_ENVIRONMENT == "development" and DEBUG):
    ENVIRONMENT = DECLARED_ENVIRONMENT
else:
    ENVIRONMENT = "production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The organisation running the service: its name, contacts, privacy wording, localities and population
# baseline (crm/organisation.py). The demo has one; production must name its own.
DEMO_ORGANISATION_FILE = BASE_DIR / "crm" / "data" / "demo-organisation.toml"
ORGANISATION_FILE = Path(os.environ.get("MYNHS_ORGANISATION_FILE", DEMO_ORGANISATION_FILE))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "anymail",
    "import_export",
    "huey.contrib.djhuey",
    "crm",
    "consent",
    "segments",
    "bulletins",
    # After crm, so that crm's export_openapi_schema (which finds our API) replaces ninja's.
    "ninja",  # serves /api/v1/docs from its own static files (no CDN, no inline script: CSP)
]

MIDDLEWARE = [
    "crm.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "crm.middleware.HeadAsGetMiddleware",
    "crm.middleware.RetryAfterMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "crm.middleware.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
ASGI_APPLICATION = "crm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "crm" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "crm.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
SQLITE_OPTIONS = {
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;"
    ),
    "transaction_mode": "IMMEDIATE",
}
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "mynhs.sqlite3")),
            "OPTIONS": SQLITE_OPTIONS,
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-mynhs.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, lockouts); Redis when available so limits are shared by workers ----
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "mynhs_cache",
        }
    }
RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "crm.views.rate_limited"
CSRF_FAILURE_VIEW = "crm.views.csrf_failure"  # the styled 403 page

# --- Huey -----------------------------------------------------------------------------------
HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("HUEY_NAME", "mynhs"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "mynhs",
        "filename": os.environ.get("HUEY_SQLITE_PATH", str(VAR_DIR / "huey.sqlite3")),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# --- Auth, sessions, lockout ----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "consent_staff:dashboard"
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=30)
# Lock by username whatever the address, so spraying one account from many addresses is stopped too.
# Not by address alone: staff often share one NHS network address, and one person's typos must not
# lock out the whole office.
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "staff/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
STAFF_SESSION_IDLE_SECONDS = int(os.environ.get("STAFF_SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
OTP_TOTP_ISSUER = "My NHS"
# Exponential back-off after a wrong code (1 s, 2 s, 4 s…) on each device; django-otp's default, set
# here so it cannot be switched off by accident. Wrong codes also lock the person out after
# AXES_FAILURE_LIMIT attempts (crm/staff/services.py).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# --- Security headers -----------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        # NHS.UK frontend loads its Frutiger font from the NHS font host (licensed for NHS services).
        "font-src": ["'self'", "https://assets.nhs.uk"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Static files (NHS.UK frontend from npm) ------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
NHSUK_FRONTEND_DIR = BASE_DIR / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk"
STATICFILES_DIRS = [BASE_DIR / "crm" / "static"]
if NHSUK_FRONTEND_DIR.exists():
    STATICFILES_DIRS.append(("nhsuk", NHSUK_FRONTEND_DIR))
    # The compiled NHS.UK CSS refers to /assets/...: serve the package's assets there.
    WHITENOISE_ROOT = NHSUK_FRONTEND_DIR
# Chart.js (npm) for the dashboard's charts: its UMD build, served as a static file (no CDN: CSP).
CHARTJS_DIR = BASE_DIR / "node_modules" / "chart.js" / "dist"
if CHARTJS_DIR.exists():
    STATICFILES_DIRS.append(("chartjs", CHARTJS_DIR))
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Email ----------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "My NHS <bulletin@mynhs.example.nhs.uk>")
EMAIL_OUTBOX_DIR = Path(os.environ.get("EMAIL_OUTBOX_DIR", VAR_DIR / "outbox"))
ANYMAIL_ESP = os.environ.get("ANYMAIL_ESP", "")  # e.g. "sendgrid", "mailgun", "postmark"
if ANYMAIL_ESP:
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_ESP}.EmailBackend"
elif os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(EMAIL_OUTBOX_DIR)
ANYMAIL = {
    "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", ""),
    **{
        key.removeprefix("ANYMAIL_"): value
        for key, value in os.environ.items()
        if key.startswith("ANYMAIL_") and key not in {"ANYMAIL_ESP", "ANYMAIL_WEBHOOK_SECRET"}
    },
}
# --- Bulletin sending (bulletins.sending): the Delivery table is the ledger, Huey only rings the bell.
BULLETIN_CHANNEL = os.environ.get("BULLETIN_CHANNEL", "outbox")  # outbox | smtp | anymail | notify
BULLETIN_BATCH_SIZE = int(os.environ.get("BULLETIN_BATCH_SIZE", "250"))
BULLETIN_MAX_PER_SECOND = float(os.environ.get("BULLETIN_MAX_PER_SECOND", "200"))  # shared by all consumers
BULLETIN_LEASE_SECONDS = int(os.environ.get("BULLETIN_LEASE_SECONDS", "300"))  # a claimed batch's lease
BULLETIN_MAX_ATTEMPTS = int(os.environ.get("BULLETIN_MAX_ATTEMPTS", "5"))
BULLETIN_RETRY_BASE_SECONDS = float(os.environ.get("BULLETIN_RETRY_BASE_SECONDS", "60"))  # doubles per attempt
BULLETIN_UNSUBSCRIBE_MAILTO = os.environ.get("BULLETIN_UNSUBSCRIBE_MAILTO", "")  # default: unsubscribe@<From domain>
BULLETIN_REPORT_UNSUBSCRIBE_DAYS = 7  # one-click unsubscribes within this many days count against a send
# Provider channels. anymail: per-call recipient limit and merge-field syntax follow ANYMAIL_ESP unless set.
BULLETIN_ESP_BATCH_LIMIT = int(os.environ.get("BULLETIN_ESP_BATCH_LIMIT", "0"))
BULLETIN_MERGE_FIELD_FORMAT = os.environ.get("BULLETIN_MERGE_FIELD_FORMAT", "")
BULLETIN_ANYMAIL_BACKEND = os.environ.get("BULLETIN_ANYMAIL_BACKEND", "")  # default: EMAIL_BACKEND
BULLETIN_SOFT_BOUNCE_LIMIT = int(os.environ.get("BULLETIN_SOFT_BOUNCE_LIMIT", "3"))  # in a row, then suppressed
# GOV.UK Notify: an API key, one email template with subject ((subject)) and body ((body)), and the
# bearer token Notify presents on its delivery-receipt callbacks to /bulletins/notify/receipts/.
NOTIFY_API_KEY = os.environ.get("NOTIFY_API_KEY", "")
NOTIFY_TEMPLATE_ID = os.environ.get("NOTIFY_TEMPLATE_ID", "")
NOTIFY_BASE_URL = os.environ.get("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
NOTIFY_CALLBACK_TOKEN = os.environ.get("NOTIFY_CALLBACK_TOKEN", "")
# --- Engagement activity reports (segments.activity_reports) ----------------------------------
# A completed activity whose "you said, we did" feedback is not given this many weeks on is overdue.
MYNHS_FEEDBACK_OVERDUE_WEEKS = int(os.environ.get("MYNHS_FEEDBACK_OVERDUE_WEEKS", "12"))

# --- Consent and personal links -------------------------------------------------------------
# Suppression hashes must survive key rotation of SECRET_KEY, so they have their own pepper, with a
# key id so that the pepper itself can be rotated: SUPPRESSION_PEPPERS="k2:new-secret,v1:old-secret",
# the current one first; an old one stays listed while `manage.py rotate_suppression_pepper` reports
# suppressions still hashed with it (erased people's, which nobody can re-hash). SUPPRESSION_PEPPER
# alone is the one pepper, key id "v1".
SUPPRESSION_PEPPER = os.environ.get("SUPPRESSION_PEPPER", "mynhs-suppression-v1")
SUPPRESSION_PEPPERS = [
    tuple(item.strip().split(":", 1)) for item in os.environ.get("SUPPRESSION_PEPPERS", "").split(",") if item.strip()
] or [("v1", SUPPRESSION_PEPPER)]
if any(len(pair) != 2 or not all(pair) for pair in SUPPRESSION_PEPPERS) or len(
        {pair[0] for pair in SUPPRESSION_PEPPERS}) != len(SUPPRESSION_PEPPERS):
    raise ImproperlyConfigured("SUPPRESSION_PEPPERS must look like 'k2:new-secret,v1:old-secret' (distinct key ids)")
# The audit chain is keyed (HMAC-SHA256) so that database access alone cannot rewrite history: the
# key lives in the environment only. The development key is refused in production, like SECRET_KEY.
DEV_AUDIT_HMAC_KEY = "dev-only-audit-chain-key-do-not-use-in-production-0123456789"
AUDIT_HMAC_KEY = os.environ.get("AUDIT_HMAC_KEY", DEV_AUDIT_HMAC_KEY)
UNCONFIRMED_SIGNUP_DAYS = 30
RETENTION_REVIEW_DAYS = 2 * 365
PUBLIC_RATE_LIMIT = os.environ.get("PUBLIC_RATE_LIMIT", "20/h")
# Confirmation, preferences and data-access emails to any one address, whoever asks (consent.ratelimits).
PERSONAL_LINK_EMAIL_RATE = os.environ.get("PERSONAL_LINK_EMAIL_RATE", "3/h")
# How many reverse proxies (load balancer, nginx) stand in front of the application and append to
# X-Forwarded-For. 0: REMOTE_ADDR is the client (crm.middleware.TrustedProxyMiddleware).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "personal_links": {"()": "crm.logging.RedactPersonalLinks"},
        "one_line_refusals": {"()": "crm.logging.OneLineForRefusals"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain",
                    "filters": ["personal_links", "one_line_refusals"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # The development server's access log, through the redacting handler instead of Django's own.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Huey's consumer adds its own handler only to a "huey" logger that has none; giving it ours (and
        # not propagating to the root's) writes each line of the Huey log once, redacted like the rest.
        "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

if ENVIRONMENT == "production":
    problems = []
    if DECLARED_ENVIRONMENT not in {"production", "development"} and DECLARED_ENVIRONMENT:
        problems.append(f"MYNHS_ENV={DECLARED_ENVIRONMENT!r} is not one of demo, test, development, production")
    if DEBUG:
        problems.append("DEBUG must be off")
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 40:
        problems.append("SECRET_KEY must be set to a long random value")
    if not ANYMAIL["WEBHOOK_SECRET"] or ":" not in ANYMAIL["WEBHOOK_SECRET"]:
        problems.append("ANYMAIL_WEBHOOK_SECRET must be set as user:password")
    if SUPPRESSION_PEPPERS[0][1] == "mynhs-suppression-v1":
        problems.append("SUPPRESSION_PEPPER must be set")
    if AUDIT_HMAC_KEY == DEV_AUDIT_HMAC_KEY or len(AUDIT_HMAC_KEY) < 40:
        problems.append("AUDIT_HMAC_KEY must be set to a long random value")
    if not os.environ.get("MYNHS_ORGANISATION_FILE"):
        problems.append("MYNHS_ORGANISATION_FILE must name your organisation's file (like crm/data/demo-organisation.toml)")
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start in production: " + "; ".join(problems) + ". (MYNHS_ENV is "
            f"{DECLARED_ENVIRONMENT or 'not set'}, DEBUG is {'on' if DEBUG else 'off'}: bin/serve runs the demo "
            "with MYNHS_ENV=demo, tests run with MYNHS_ENV=test, local debugging with MYNHS_ENV=development DEBUG=1.)"
        )
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
