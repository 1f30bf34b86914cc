"""Settings: every value comes from the environment, with safe embedded defaults (DESIGN §1).

With no variable set the platform runs on one machine: SQLite (WAL) and files under
``TENDERHALL_DATA_DIR`` (default ``./var``), the in-memory channel layer and the database task queue.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("TENDERHALL_DATA_DIR", "var")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The secret key lives in the data dir so restarts keep sessions; the env var wins."""
    if key := os.environ.get("TENDERHALL_SECRET_KEY"):
        return key
    path = DATA_DIR / "keys" / "django-secret-key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("TENDERHALL_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("TENDERHALL_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("TENDERHALL_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "tenderhall.core",
    "tenderhall.accounts",
    "tenderhall.projects",
    "tenderhall.disputes",
    "tenderhall.notices",
    "tenderhall.venues",
    "tenderhall.bidding",
    "tenderhall.opening",
    "tenderhall.experts",
    "tenderhall.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenderhall.core.middleware.RequestContextMiddleware",
    "tenderhall.web.middleware.DomainErrorPageMiddleware",
]

ROOT_URLCONF = "tenderhall.urls"
ASGI_APPLICATION = "tenderhall.asgi.application"
WSGI_APPLICATION = "tenderhall.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenderhall.web.context_processors.navigation",
            ],
        },
    }
]

# Databases: SQLite (WAL, immediate transactions so writers queue instead of deadlocking) by default;
# PostgreSQL when DATABASE_URL says so. TENDERHALL_TEST_DATABASE_URL switches the test suite.
_db_url = os.environ.get("DATABASE_URL")
if os.environ.get("TENDERHALL_TESTING") and os.environ.get("TENDERHALL_TEST_DATABASE_URL"):
    _db_url = os.environ["TENDERHALL_TEST_DATABASE_URL"]
if _db_url:
    DATABASES = {"default": dj_database_url.parse(_db_url)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A bounded pool per process: request threads, consumers and decryption threads share it
        # instead of each keeping its own connection (many workers would exhaust the server's).
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": int(os.environ.get("TENDERHALL_DB_POOL_SIZE", "16")),
            "timeout": 30,
        }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            # Django's SQLite backend, writers queued on a lock in the process (core/sqlite/base.py).
            "ENGINE": "tenderhall.core.sqlite",
            "NAME": str(DATA_DIR / "tenderhall.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"

# Argon2 first (issue 2): new passwords are hashed with Argon2id.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TENDERHALL_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from finders; it wants the dir to exist
MEDIA_ROOT = DATA_DIR / "files"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if os.environ.get("TENDERHALL_S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["TENDERHALL_S3_BUCKET"],
            "endpoint_url": os.environ.get("TENDERHALL_S3_ENDPOINT_URL"),
            "access_key": os.environ.get("TENDERHALL_S3_ACCESS_KEY"),
            "secret_key": os.environ.get("TENDERHALL_S3_SECRET_KEY"),
        },
    }
WHITENOISE_USE_FINDERS = True
# Bids stream to disk chunk by chunk; a request body is never held whole in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("TENDERHALL_MAX_MEMORY_BODY", str(2 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
TENDERHALL_UPLOAD_DIR = DATA_DIR / "uploads"
TENDERHALL_BID_MAX_BYTES = int(os.environ.get("TENDERHALL_BID_MAX_BYTES", str(4 * 1024**3)))
TENDERHALL_UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024

REDIS_URL = os.environ.get("REDIS_URL")
# A hall watcher may fall behind during a burst (a thousand sign-ins); its queue must hold the
# burst rather than drop it (the defaults keep 100 messages for 60 s, then drop the watcher).
_LAYER_CONFIG = {"capacity": 5000, "expiry": 600}
CHANNEL_LAYERS = (
    {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], **_LAYER_CONFIG},
        }
    }
    if REDIS_URL
    else {"default": {"BACKEND": "tenderhall.core.live.InProcessChannelLayer", "CONFIG": _LAYER_CONFIG}}
)
# HTTP requests of one process that run their view at once (the rest queue in the event loop until
# a slot is free: core.live.http_slot). Keep it at or below TENDERHALL_DB_POOL_SIZE.
TENDERHALL_HTTP_CONCURRENCY = int(os.environ.get("TENDERHALL_HTTP_CONCURRENCY", "8"))
# Seconds an idle HTTP keep-alive connection stays open (`tenderhall serve`; nginx's default is 75).
TENDERHALL_KEEP_ALIVE_SECONDS = int(os.environ.get("TENDERHALL_KEEP_ALIVE_SECONDS", "75"))
# How often (s) the running Python thread hands the GIL over in the server (asgi.py; Python's default 0.005).
TENDERHALL_GIL_SWITCH_INTERVAL = float(os.environ.get("TENDERHALL_GIL_SWITCH_INTERVAL", "0.001"))
# The platform's address as people reach it (e.g. https://ggzy.example.gov.cn): prefixes the links
# sent by SMS and e-mail (an expert's one-time reply link). Unset: the path alone.
TENDERHALL_PUBLIC_URL = os.environ.get("TENDERHALL_PUBLIC_URL", "").rstrip("/")
# Proxies whose X-Real-IP header names the caller (nginx in the cluster profile).
TENDERHALL_TRUSTED_PROXIES = tuple(
    p.strip() for p in os.environ.get("TENDERHALL_TRUSTED_PROXIES", "").split(",") if p.strip()
)
# Run by `tenderhall worker` every --tick-seconds (each idempotent; by dotted path, so the kernel
# does not import the apps).
TENDERHALL_PERIODIC_TICKS = [
    "tenderhall.opening.services.opening_tick",
    "tenderhall.experts.services.extraction.extraction_tick",
    "tenderhall.bidding.services.upload_cleanup_expired",
]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
if os.environ.get("TENDERHALL_TASKS_IMMEDIATE"):
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

EMAIL_BACKEND = os.environ.get("TENDERHALL_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("TENDERHALL_FROM_EMAIL", "noreply@tenderhall.localhost")
# SMS and voice go through a pluggable backend; the embedded one keeps them in the outbox only.
TENDERHALL_SMS_BACKEND = os.environ.get(
    "TENDERHALL_SMS_BACKEND", "tenderhall.core.notifications.OutboxOnlyBackend"
)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if _env_bool("TENDERHALL_HTTPS", False):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000

from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
    }
}

# Platform identity: the Ed25519 key that signs tree heads and receipts (core.keys).
TENDERHALL_KEY_DIR = DATA_DIR / "keys"
# Failed-login throttling: this many failures within the window lock the account/IP for the window.
TENDERHALL_LOGIN_MAX_FAILURES = int(os.environ.get("TENDERHALL_LOGIN_MAX_FAILURES", "5"))
TENDERHALL_LOGIN_WINDOW_SECONDS = int(os.environ.get("TENDERHALL_LOGIN_WINDOW_SECONDS", "900"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TENDERHALL_LOG_LEVEL", "WARNING")},
}
