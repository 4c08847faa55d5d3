"""Monid settings: every deploy-time value comes from the environment (see .env.example)."""

import os
import secrets
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def env_str(name, default=""):
    return os.environ.get(name, default).strip()


def env_bool(name, default):
    value = env_str(name, "1" if default else "0").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no), not {value!r}")


def env_int(name, default, minimum=1):
    value = env_str(name, str(default))
    if not value.isdigit() or int(value) < minimum:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least {minimum}, not {value!r}")
    return int(value)


def env_url(name, default, schemes=("http", "https")):
    value = env_str(name, default).rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.scheme == "sqlite"):
        raise ImproperlyConfigured(f"{name} must be a URL starting with {' or '.join(schemes)}://, not {value!r}")
    return value


def default_secret_key():
    """A laptop gets a stable random key in var/, so sessions and API key hashes survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or default_secret_key()
ALLOWED_HOSTS = [h.strip() for h in env_str("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name at least one host, e.g. 127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "billing",
    "providers",
    "runs",
]

MIDDLEWARE = [
    "monid_site.middleware.RequestIdMiddleware",
    "monid_site.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "monid_site.urls"
WSGI_APPLICATION = "monid_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite under var/ on a laptop, PostgreSQL (or anything dj-database-url reads) at scale.
DATABASE_URL = env_url(
    "DATABASE_URL", f"sqlite:///{VAR_DIR / 'monid.sqlite3'}", schemes=("sqlite", "postgres", "postgresql")
)
if DATABASE_URL.startswith("sqlite:///") and not DATABASE_URL.startswith("sqlite:///:memory:"):
    Path(DATABASE_URL.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; the timeout rides out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory: live-server and browser tests then reach the database over their own connections,
    # as the web server and the worker do. Named after the database, so two checkouts' suites never share one.
    _name = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_name.with_name(f"test_{_name.name}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis, when set, is both the django-q2 broker and the cache; otherwise the database is both.
REDIS_URL = env_url("REDIS_URL", "", schemes=("redis", "rediss")) if env_str("REDIS_URL") else ""
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "monid_cache"}}

Q_CLUSTER = {
    "name": env_str("MONID_QUEUE", "monid"),  # deployments sharing one Redis each need their own
    "workers": env_int("MONID_WORKERS", 4),  # processes per qcluster; steps mostly wait on providers
    "timeout": 300,
    "retry": 360,
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": -1,  # successes are not kept (every run is its own record); failures are
    **({"redis": REDIS_URL} if REDIS_URL else {"orm": "default", "poll": 0.05}),  # poll: how soon a queued task starts
}

# Async runs (see runs/services.py): a dead worker's step is resumed once its lease lapses, a lost task once its
# run has shown no life for the stall time; `dispatch_runs` looks for both this often.
MONID_RUN_LEASE_SECONDS = env_int("MONID_RUN_LEASE_SECONDS", 60)
MONID_RUN_STALL_SECONDS = env_int("MONID_RUN_STALL_SECONDS", 120)
MONID_RECONCILE_SECONDS = env_int("MONID_RECONCILE_SECONDS", 10)

# Providers. Live keys reach these; test-mode keys reach the built-in emulators at MONID_SANDBOX_URL.
APIFY_API_BASE_URL = env_url("APIFY_API_BASE_URL", "https://api.apify.com")
APIFY_TOKEN = env_str("APIFY_TOKEN")
PDL_API_BASE_URL = env_url("PDL_API_BASE_URL", "https://api.peopledatalabs.com")
PDL_API_KEY = env_str("PDL_API_KEY")
MONID_SANDBOX_URL = env_url("MONID_SANDBOX_URL", "http://127.0.0.1:8001")
PROVIDER_TIMEOUT_SECONDS = 30
# The most of an async run's dataset kept as its output, in bytes of compact JSON; what does not fit is left at
# the provider, and the run says outputTruncated (resultCount and a per-result price count what was kept).
MONID_OUTPUT_MAX_BYTES = env_int("MONID_OUTPUT_MAX_BYTES", 10_000_000)

# Requests one API key may make per minute, counted in the shared cache (so across processes and machines).
MONID_RATE_LIMIT_PER_MINUTE = env_int("MONID_RATE_LIMIT_PER_MINUTE", 600)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"  # filled by collectstatic for gunicorn; WhiteNoise serves it
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["billing.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["billing.authentication.HasApiKey"],
    "DEFAULT_PARSER_CLASSES": ["monid_site.parsers.JsonParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["billing.authentication.ApiKeyRateThrottle"],
    "EXCEPTION_HANDLER": "monid_site.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Monid API",
    "DESCRIPTION": "One API in front of many data providers. Authenticate with `Authorization: Bearer <api key>`; "
                   "`monid_test_` keys run against built-in provider emulators and are never charged.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"RunStatusEnum": "runs.models.RunStatus",
                            "SpendControlStatusEnum": ["ACTIVE", "PAUSED"]},
    "TAGS": [{"name": "Runs", "description": "Execute data endpoints and follow their runs."},
             {"name": "API keys", "description": "Keys are created in the dashboard and shown once."},
             {"name": "Wallet", "description": "What the workspace has left to spend, in dollars."},
             {"name": "Catalog", "description": "Find the right endpoint, and learn its input and price."},
             {"name": "Public registry", "description": "The catalog for anyone, without a key, under /public/v1; "
                                                        "answers may be cached for a minute."}],
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"
MONID_CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                 "frame-ancestors 'none'")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                # The MCP SDK logs every stateless request's end at INFO; its warnings and errors still show.
                "mcp": {"level": "WARNING"}},
}

# Email: password resets and workspace invitations. The console backend prints each message to the server's
# output; for real delivery set django.core.mail.backends.smtp.EmailBackend and the EMAIL_HOST… values.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "monid@localhost")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10  # seconds: a page that sends mail must not hang on a slow mail server
