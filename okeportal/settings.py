"""OKE Portal settings: one file, every deployment value from the environment.

Embedded defaults (no variables set) give a working development portal on
SQLite with a filesystem Celery broker. Production sets DATABASE_URL,
CELERY_BROKER_URL, SECRET_KEY, DEBUG=False, ALLOWED_HOSTS and the e-mail values.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("OKE_VAR_DIR", default=str(BASE_DIR / "var")))
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)

env = environ.Env(
    DEBUG=(bool, False),  # production unless told otherwise; `make run` and the tests set DEBUG=True
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost", "[::1]"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    SECURE_SSL_REDIRECT=(bool, False),
    SECURE_HSTS_SECONDS=(int, 0),
    CELERY_TASK_ALWAYS_EAGER=(bool, False),
)
environ.Env.read_env(BASE_DIR / ".env")

DEBUG: bool = env("DEBUG")
_DEVELOPMENT_KEY = "dev-only-insecure-key-change-me-in-production-0123456789abcdefghijklmnop"
SECRET_KEY: str = env("SECRET_KEY", default=_DEVELOPMENT_KEY if DEBUG else "")
if not DEBUG and (not SECRET_KEY or SECRET_KEY == _DEVELOPMENT_KEY or len(SECRET_KEY) < 50):
    # Sessions, password-reset and e-mail-change links are signed with it: a public or
    # empty key would let anyone forge them. Refuse to start rather than fall back.
    raise ImproperlyConfigured(
        "SECRET_KEY is missing, too short (< 50 characters) or the public development key, and DEBUG is off. "
        "Set SECRET_KEY in the environment, e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(64))'"
    )
ALLOWED_HOSTS: list[str] = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS: list[str] = env("CSRF_TRUSTED_ORIGINS")
SITE_URL: str = env("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "okeportal.admin_site.OkeAdminConfig",  # django.contrib.admin, open to superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "simple_history",
    "axes",
    "members",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "okeportal.middleware.ExplicitLocaleMiddleware",
    # Before anything reads the body (CSRF reads POST): refuses oversized requests with 413.
    "okeportal.middleware.RequestSizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "okeportal.accounts.SessionIdleTimeoutMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "okeportal.urls"
WSGI_APPLICATION = "okeportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "members.context_processors.clusters",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Readers and the Celery worker share the file: WAL lets them not block.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 30)
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "pl"
LANGUAGES = [("pl", "Polski"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["okeportal.formats"]
TIME_ZONE = "Europe/Warsaw"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Media is never served by URL: statements are private and go through a view.
MEDIA_URL = "/media-not-served/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# E-mail: EMAIL_URL (smtp+tls://user:pass@host:587) in production. Without it the messages
# are written as files to var/mail/ (the demo's invitations and notices can be read there).
_email = env.email_url("EMAIL_URL", default="filemail://")
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OKE Portal <portal@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery. Without CELERY_BROKER_URL the broker is a folder (kombu filesystem
# transport) so `make run` needs no Redis; a worker process still runs the tasks.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _queue = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
        # kombu's default is ./control (the exchange tables of broadcast/control messages)
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
    for _folder in (_queue, VAR_DIR / "celery" / "processed"):
        _folder.mkdir(parents=True, exist_ok=True)
# Progress and results live in our own models, not in a Celery result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE

# Jobs (JOBS, okeportal/jobs.py). Per job kind (soft, hard) time limits in seconds:
# past the soft limit the task stops at its next step and marks the job failed
# ("przekroczono limit czasu (N s)"); the hard limit kills it (prefork pool) and
# the reaper fails a job still "running" after hard + OKE_JOB_REAPER_MARGIN.
OKE_JOB_TIME_LIMITS = {
    "settlement": (env.int("OKE_SETTLEMENT_SOFT_TIME_LIMIT", default=1800), env.int("OKE_SETTLEMENT_TIME_LIMIT", default=1900)),
    "reading_import": (env.int("OKE_READING_IMPORT_SOFT_TIME_LIMIT", default=1200), env.int("OKE_READING_IMPORT_TIME_LIMIT", default=1300)),
    "statements": (env.int("OKE_STATEMENTS_SOFT_TIME_LIMIT", default=300), env.int("OKE_STATEMENTS_TIME_LIMIT", default=360)),
    "registry_import": (env.int("OKE_REGISTRY_IMPORT_SOFT_TIME_LIMIT", default=600), env.int("OKE_REGISTRY_IMPORT_TIME_LIMIT", default=660)),
}
OKE_JOB_REAPER_MARGIN = env.int("OKE_JOB_REAPER_MARGIN", default=60)
# A job still "queued" after this many seconds is re-sent once (message lost in a
# broker restart), then failed with the reason after the same time again.
OKE_JOB_QUEUED_TIMEOUT = env.int("OKE_JOB_QUEUED_TIMEOUT", default=600)
OKE_JOB_REAPER_INTERVAL = env.int("OKE_JOB_REAPER_INTERVAL", default=60)
# Processed upload files (meter and registry imports) are deleted after this many days; the record stays.
OKE_UPLOAD_RETENTION_DAYS = env.int("OKE_UPLOAD_RETENTION_DAYS", default=30)
# Test-only: seconds the settlement task waits between its steps, so a test can kill
# the worker mid-run. Read at run time and ignored unless DEBUG is on.
OKE_TEST_SETTLEMENT_STEP_DELAY = env.float("OKE_TEST_SETTLEMENT_STEP_DELAY", default=0.0)
# Sending a task must not hang a request when the broker is down: short connect
# timeout, one quick retry, then the user gets "Kolejka zadań jest niedostępna".
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env.int("CELERY_TASK_PUBLISH_MAX_RETRIES", default=1),
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
        # a broker that accepts but never answers: the request waits this long, once
        "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5.0),
        "max_retries": env.int("CELERY_TASK_PUBLISH_MAX_RETRIES", default=1),
    }

# Registry import limits (docs/formats.md, "Limits"): upload size checked by the form,
# unpacked size and compression ratio checked from the archive directory before
# unpacking, shared-strings size of an .xlsx, data rows per file, errors stored per import.
OKE_REGISTRY_UPLOAD_MAX_MB = env.int("OKE_REGISTRY_UPLOAD_MAX_MB", default=20)
OKE_REGISTRY_UNPACKED_MAX_MB = env.int("OKE_REGISTRY_UNPACKED_MAX_MB", default=50)
OKE_REGISTRY_ZIP_MAX_RATIO = env.int("OKE_REGISTRY_ZIP_MAX_RATIO", default=100)
OKE_REGISTRY_XLSX_STRINGS_MAX_MB = env.int("OKE_REGISTRY_XLSX_STRINGS_MAX_MB", default=20)
OKE_REGISTRY_MAX_ROWS = env.int("OKE_REGISTRY_MAX_ROWS", default=50_000)
OKE_REGISTRY_MAX_ERRORS = env.int("OKE_REGISTRY_MAX_ERRORS", default=1000)

# Production hardening; all on when DEBUG is off (manage.py check --deploy is clean).
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT") if DEBUG else env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env("SECURE_HSTS_SECONDS") if DEBUG else env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# Trust X-Forwarded-Proto / X-Forwarded-For only behind a TLS proxy that sets them
# (docs/deployment.md); gunicorn facing clients directly must not trust them, or a forged
# header would skip the HTTPS redirect and the per-address login limits.
OKE_BEHIND_PROXY = env.bool("OKE_BEHIND_PROXY", default=False)
if OKE_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Libraries that log per document at INFO: fontTools' subsetter writes every
    # glyph list of every PDF (formatting it quadrupled a statement's CPU time,
    # bench_statements), WeasyPrint ten "Step n" lines a document.
    "loggers": {
        "fontTools": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
    },
}

# Cache (PERF-OPS). Shared by every gunicorn and Celery process: the dashboard's
# cluster status is cached and invalidated on data change, so a per-process
# memory cache would keep serving figures another process has invalidated.
# Default: the database cache (table created by `manage.py createcachetable`);
# CACHE_URL=redis://127.0.0.1:6379/5 (a db number of its own) uses Redis instead.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://okeportal_cache")}
if CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
    # Culling past 300 entries (per-address login counters) would evict status copies.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 20000)
# Which cache holds cluster status, and the longest a copy lives (bounds changes
# no invalidation sees, e.g. gmina reference data); default 15 minutes.
OKE_STATUS_CACHE = env.str("OKE_STATUS_CACHE", default="default")
OKE_STATUS_CACHE_SECONDS = env.int("OKE_STATUS_CACHE_SECONDS", default=900)

# Operations (PERF-OPS). Request body limit checked from Content-Length before the
# body is read (HTTP 413); 0 = the largest OKE_*_UPLOAD_MAX_MB* + 1 MB.
OKE_MAX_REQUEST_MB = env.int("OKE_MAX_REQUEST_MB", default=0)
# /health/ (database and broker): socket timeout of each check, seconds; default 2.
OKE_HEALTH_TIMEOUT_SECONDS = env.float("OKE_HEALTH_TIMEOUT_SECONDS", default=2.0)
# An unreachable PostgreSQL fails the request (and /health/) after this many seconds
# instead of holding a gunicorn worker for the operating system's TCP timeout; default 5.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
# The load balancer probes /health/ over plain HTTP behind the TLS proxy.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# Domain knobs that are deployment settings rather than dated legal data.
OKE_READINGS_UPLOAD_MAX_MB = env.int("OKE_READINGS_UPLOAD_MAX_MB", default=200)
# Meter-data parsers (PARSERS; docs/formats-readings.md states every limit).
# Upload limit per format, MB: a generic CSV of 1,000 PPEs x a year of hours is ~476 MiB
# with 18-digit PPE codes (the parser streams it in ~200 MB); an eLicznik export of one
# PPE-year is ~1 MB, so 10 MB leaves room for every layout.
OKE_READINGS_UPLOAD_MAX_MB_GENERIC = env.int("OKE_READINGS_UPLOAD_MAX_MB_GENERIC", default=520)
OKE_READINGS_UPLOAD_MAX_MB_TAURON = env.int("OKE_READINGS_UPLOAD_MAX_MB_TAURON", default=10)
# One shared bound per reading: kWh per hour (100 MW average, above any connection
# below 110 kV); a 15-minute reading is limited to a quarter of it.
OKE_METER_MAX_KWH_PER_HOUR = env.int("OKE_METER_MAX_KWH_PER_HOUR", default=100_000)
# The longest period one file may cover for one PPE, in days: a leap year plus a day
# (a year of local days spills over into a 367th UTC day).
OKE_METER_FILE_MAX_DAYS = env.int("OKE_METER_FILE_MAX_DAYS", default=367)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Exports (docs/exports.md): an XLSX is built before its download starts, at about
# 80,000 cells a second on a 2-core machine; a table larger than this many cells is
# offered as CSV (streamed) instead, so the build stays well within gunicorn's timeout.
OKE_EXPORT_XLSX_MAX_CELLS = env.int("OKE_EXPORT_XLSX_MAX_CELLS", default=2_000_000)

# The test worker process (tests/conftest.py) points at pytest's test database.
if env.str("OKE_DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env.str("OKE_DATABASE_NAME")


# Login throttling (docs/security.md). django-axes counts wrong passwords per username
# (portal, staff and admin logins all go through authenticate()) and locks the username
# for the cool-off time; every failure is kept (admin: "Access failures").
# django-ratelimit caps login posts per client address and password-reset requests per
# address and per e-mail (rates "N/s|m|h|d"). The counters live in the default cache.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("OKE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("OKE_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for an address-based lockout; addresses are limited by django-ratelimit
# instead (an address lockout would shut out a whole office behind one NAT address).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "okeportal.accounts.lockout_response"
AXES_VERBOSE = False
OKE_LOGIN_RATE_PER_IP = env.str("OKE_LOGIN_RATE_PER_IP", default="30/10m")
OKE_PASSWORD_RESET_RATE_PER_IP = env.str("OKE_PASSWORD_RESET_RATE_PER_IP", default="10/h")
OKE_PASSWORD_RESET_RATE_PER_EMAIL = env.str("OKE_PASSWORD_RESET_RATE_PER_EMAIL", default="3/h")
RATELIMIT_VIEW = None
RATELIMIT_IP_META_KEY = "okeportal.accounts.client_ip"
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if OKE_BEHIND_PROXY else ("REMOTE_ADDR",)

# Sessions end after this long without a request (sliding), and at the latest after
# SESSION_COOKIE_AGE; staff sessions are shorter because staff see every member's data.
OKE_SESSION_IDLE_MINUTES_STAFF = env.int("OKE_SESSION_IDLE_MINUTES_STAFF", default=30)
OKE_SESSION_IDLE_MINUTES_MEMBER = env.int("OKE_SESSION_IDLE_MINUTES_MEMBER", default=120)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)

# Content-Security-Policy (Django's own middleware): scripts only from our origin or
# inline with the per-response nonce ({{ csp_nonce }}), never 'unsafe-inline' scripts.
# Inline style attributes stay allowed (Bootstrap utilities and Chart.js set them).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
