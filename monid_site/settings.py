"""Monid settings: every deploy-time value comes from the environment (see .env.example)."""

import os
import re
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


# Off unless asked for: a deployment that forgets the variable runs as production. `make run` and `make test` (and
# pytest, through pytest.ini) turn it on for a laptop.
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is 0 (its default): the key "
        "generated into var/secret_key is for a laptop, with DJANGO_DEBUG=1 (as `make run` "
        "sets it). Make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))',"
        " and keep it (API key hashes depend on it)"
    )
SECRET_KEY = SECRET_KEY or default_secret_key()
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
    "monid_site",  # no models: the template tags every app loads ({% load monid %})
    "ops",  # no models: on top of every app (metrics' gauges, operators' pages, probes, doctor, the MCP server)
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
            ]
        },
    }
]

# Database: SQLite under var/ on a laptop, PostgreSQL (or anything dj-database-url reads) at scale.
DATABASE_URL = env_url(
    "DATABASE_URL", f"sqlite:///{VAR_DIR / 'monid.sqlite3'}", schemes=("sqlite", "postgres", "postgresql")
)
if DATABASE_URL.startswith("sqlite:///") and not DATABASE_URL.startswith("sqlite:///:memory:"):
    Path(DATABASE_URL.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
# Kept open between requests: opening one costs more than a whole run's queries (SQLite also reads its schema).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; the timeout rides out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
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
    # Redis hands a queued task to a waiting worker at once. Without it the database is the broker, rung
    # (runs.queue.RungOrmBroker): a task queued rings the pushers of this machine's qclusters, and an idle pusher
    # otherwise looks every MONID_QUEUE_POLL_SECONDS, a query each time (at 0.05 s that cost 1.4% of a core idle,
    # bench/idle.py). SQLite's deployments are one machine, so every task rings; on PostgreSQL without Redis a
    # task queued on another machine waits for that look.
    **(
        {"redis": REDIS_URL} if REDIS_URL else {"orm": "default", "broker_class": "runs.queue.RungOrmBroker", "poll": 0}
    ),
}
MONID_QUEUE_POLL_SECONDS = (
    env_int("MONID_QUEUE_POLL_MS", 1000 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 250) / 1000
)

# Async runs (see runs/services.py): a dead worker's step is resumed once its lease lapses, a lost task once its
# run has shown no life for the stall time; the dispatcher looks for both this often.
MONID_RUN_LEASE_SECONDS = env_int("MONID_RUN_LEASE_SECONDS", 60)
MONID_RUN_STALL_SECONDS = env_int("MONID_RUN_STALL_SECONDS", 120)
MONID_RECONCILE_SECONDS = env_int("MONID_RECONCILE_SECONDS", 10)
# Each qcluster runs the dispatcher (runs/background.py) in one of its workers; turn it off where separate
# `dispatch_runs` processes do it.
MONID_DISPATCH_IN_WORKER = env_bool("MONID_DISPATCH_IN_WORKER", True)

# Providers. Live keys reach these; test-mode keys are answered from the connectors' recorded fixtures. Any
# provider's credential (the name its connector file gives) and <SLUG>_API_BASE_URL come from the environment.
APIFY_API_BASE_URL = env_url("APIFY_API_BASE_URL", "https://api.apify.com")
APIFY_TOKEN = env_str("APIFY_TOKEN")
PDL_API_BASE_URL = env_url("PDL_API_BASE_URL", "https://api.peopledatalabs.com")
PDL_API_KEY = env_str("PDL_API_KEY")
# Operators may instead set a provider's credential in the dashboard (its page in the catalog admin), which wins
# over the environment's: stored encrypted under these Fernet keys, comma-separated, newest first
# (providers/credentials.py). Unset, the dashboard cannot store credentials.
MONID_CREDENTIALS_KEY = env_str("MONID_CREDENTIALS_KEY")
PROVIDER_TIMEOUT_SECONDS = 30
# The most of an async run's dataset kept as its output, in bytes of compact JSON; what does not fit is left at
# the provider, and the run says outputTruncated (resultCount and a per-result price count what was kept).
MONID_OUTPUT_MAX_BYTES = env_int("MONID_OUTPUT_MAX_BYTES", 10_000_000)
# A terminal run's output is dropped this many days after the run was made (the run, its costs and its ledger
# entries stay); 0 keeps outputs for ever. See runs/retention.py.
MONID_OUTPUT_RETENTION_DAYS = env_int("MONID_OUTPUT_RETENTION_DAYS", 30, minimum=0)

# How many proxies in front of Monid append the client's address to X-Forwarded-For (0: none, trust no such
# header); the account pages' throttles (monid_site/throttle.py) count by that address.
MONID_TRUSTED_PROXIES = env_int("MONID_TRUSTED_PROXIES", 0, minimum=0)

# monid_run calls over MCP with waitSeconds that one key may have waiting for their runs at once (each holds a web
# thread); past it, monid_run with a wait is refused, and without one (answered at once) it is not.
MONID_MCP_WAITS_PER_KEY = env_int("MONID_MCP_WAITS_PER_KEY", 4)

# Requests one API key may make per minute, counted across processes and machines: in Redis, or in the database
# without it (billing/ratelimit.py).
MONID_RATE_LIMIT_PER_MINUTE = env_int("MONID_RATE_LIMIT_PER_MINUTE", 600)

# Prometheus metrics at /metrics (monid_site/metrics.py), for `Authorization: Bearer <this>`; unset, /metrics is 404.
MONID_METRICS_TOKEN = env_str("MONID_METRICS_TOKEN")
# Set in the environment of every process of a machine, the directory where each writes its counts for /metrics to
# add up (prometheus-client's multiprocess mode). It must exist before the first count.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# Provider health per endpoint (runs/health.py), from the live runs that ended in the last window: unknown
# below the minimum of runs; an outage when fewer than OUTAGE_BELOW % of them succeeded; degraded below
# DEGRADED_BELOW %, or when their p95 duration passes SLOW % of the endpoint's deadline; else healthy.
MONID_HEALTH_WINDOW_MINUTES = env_int("MONID_HEALTH_WINDOW_MINUTES", 15)
MONID_HEALTH_MIN_RUNS = env_int("MONID_HEALTH_MIN_RUNS", 5)
MONID_HEALTH_OUTAGE_BELOW_PERCENT = env_int("MONID_HEALTH_OUTAGE_BELOW_PERCENT", 50)
MONID_HEALTH_DEGRADED_BELOW_PERCENT = env_int("MONID_HEALTH_DEGRADED_BELOW_PERCENT", 95)
MONID_HEALTH_SLOW_PERCENT = env_int("MONID_HEALTH_SLOW_PERCENT", 50)

AUTH_PASSWORD_VALIDATORS = [  # Django's four standard ones
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
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
    "`monid_test_` keys are answered from each endpoint's recorded fixtures and are never charged.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "runs.models.RunStatus",
        "SpendControlStatusEnum": ["ACTIVE", "PAUSED"],
        "BudgetPeriodEnum": ["HOUR", "DAY", "WEEK", "MONTH"],
        "KeySpendPeriodEnum": ["DAY", "WEEK", "MONTH"],
        "ControlTypeEnum": ["WORKSPACE_BUDGET", "WORKSPACE_RUN_CAP", "API_KEY_LIMIT"],
        "PriceTypeEnum": ["FREE", "PER_CALL", "PER_RESULT", "CREDITS"],
    },
    "TAGS": [
        {"name": "Runs", "description": "Execute data endpoints and follow their runs."},
        {"name": "API keys", "description": "Keys are created in the dashboard or by a manage key, and shown once."},
        {"name": "Wallet", "description": "What the workspace has left to spend, in dollars."},
        {"name": "Catalog", "description": "Find the right endpoint, and learn its input and price."},
        {"name": "Identity", "description": "Whose key this is, and its workspace."},
        {
            "name": "Resources",
            "description": "Things a provider keeps for the workspace between runs; this "
            "server provisions none, so the list is always empty.",
        },
        {
            "name": "Public registry",
            "description": "The catalog for anyone, without a key, under /public/v1; "
            "answers may be cached for a minute.",
        },
    ],
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
# Production (DJANGO_DEBUG=0) is HTTPS only, by default; see README, "Production configuration". Behind a proxy that
# ends TLS, Django learns a request came over HTTPS from the header the proxy sets (to "https", having dropped any
# the client sent); unset, no header is trusted.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # a load balancer's probe speaks plain HTTP
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
_proxy_ssl_header = env_str("DJANGO_SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    if not re.fullmatch(r"[A-Za-z0-9-]+", _proxy_ssl_header):
        raise ImproperlyConfigured(
            f"DJANGO_SECURE_PROXY_SSL_HEADER must be a header name such as X-Forwarded-Proto, not {_proxy_ssl_header!r}"
        )
    SECURE_PROXY_SSL_HEADER = (f"HTTP_{_proxy_ssl_header.upper().replace('-', '_')}", "https")
X_FRAME_OPTIONS = "DENY"
MONID_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

# Logs: one JSON object per line in production, plain text for the dev server (monid_site/logs.py). Every line goes
# through RedactSecrets, which blanks anything shaped like a key or a credential.
MONID_LOG_FORMAT = env_str("MONID_LOG_FORMAT") or ("text" if DEBUG else "json")
if MONID_LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"MONID_LOG_FORMAT must be json or text, not {MONID_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "monid_site.logs.RedactSecrets"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "monid_site.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": MONID_LOG_FORMAT, "filters": ["redact_secrets"]}
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    # "django": Django's own console handler (DEBUG only) would write its lines again, past the redaction.
    # "django.request": its 4xx warnings come after the request's log context ended; the access line has them.
    "loggers": {
        "django": {"handlers": [], "level": "INFO"},
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "WARNING"},
        # The MCP SDK logs every stateless request's end at INFO; its warnings and errors still show.
        "mcp": {"level": "WARNING"},
    },
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
