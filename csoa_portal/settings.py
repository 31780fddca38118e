"""Settings for every runtime mode, driven by the environment.

Modes (DESIGN.md "Runtime modes"):
- embedded (default): SQLite, in-memory channel layer, Celery tasks run in-process;
- full: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` set: channels_redis, Celery on Redis;
- production: ``DJANGO_ENV=production``, full mode with every secret required.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}"
    )


def _required(name: str) -> str:
    """A production secret: refuse to start, naming the variable, when it is missing."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(
            f"The environment variable {name} is required when DJANGO_ENV=production."
        )
    return value


if PRODUCTION:
    SECRET_KEY = _required("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = [h.strip() for h in _required("DJANGO_ALLOWED_HOSTS").split(",") if h.strip()]
    DATABASE_URL = _required("DATABASE_URL")
    REDIS_URL = _required("REDIS_URL")
    # Keys the audit chain (csoa_portal.audit): kept outside the database, so whoever can
    # write the database cannot rewrite the log and recompute the hashes.
    AUDIT_HMAC_KEY = _required("AUDIT_HMAC_KEY")
    DEBUG = False
else:
    # Development only: a fixed key is fine because production refuses to start without its own.
    SECRET_KEY = env.str(
        "DJANGO_SECRET_KEY", default="embedded-mode-insecure-key-do-not-use-in-production"
    )
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
    DATABASE_URL = env.str("DATABASE_URL", default="")
    REDIS_URL = env.str("REDIS_URL", default="")
    DEBUG = env.bool("DJANGO_DEBUG", default=False)
    # Empty: the key is generated on first use into AUDIT_HMAC_KEY_FILE (0600), so a fresh
    # clone (tests, embedded mode) needs no setup.
    AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="")
AUDIT_HMAC_KEY_FILE = Path(env.str("AUDIT_HMAC_KEY_FILE", default=str(BASE_DIR / "var" / "audit_hmac.key")))
# Production seals the audit chain in a thread of each process, woken by commits, so no request
# waits for it; development and tests seal right after the commit, in the committing thread.
AUDIT_SEAL_IN_BACKGROUND = env.bool("AUDIT_SEAL_IN_BACKGROUND", default=PRODUCTION)
# Likewise the live publication of new events and the Blueprint engine's evaluations: a thread
# of each process sends those of many commits together (csoa_portal/background.py).
AFTER_COMMIT_IN_BACKGROUND = env.bool("AFTER_COMMIT_IN_BACKGROUND", default=PRODUCTION)

PORTAL_MODE = "full" if REDIS_URL else "embedded"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "channels",
    "csoa_portal",
    "liaison",
    "incidents",
    "reserve",
    "awareness",
    "scenarios",
]

MIDDLEWARE = [
    "csoa_portal.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the session middleware: a database outage there is a 503 too, not a 500.
    "csoa_portal.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every answer to a signed-in person or a token: Cache-Control private, no-store (one reader's version).
    "csoa_portal.middleware.PrivateResponseMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "csoa_portal.middleware.AuditContextMiddleware",
    "csoa_portal.middleware.SecondFactorRequiredMiddleware",
    # After CSRF and authentication: text rules for paths, query parameters and form fields; an API
    # query parameter given twice where one value is expected (csoa_portal.input_rules).
    "csoa_portal.middleware.InputGuardMiddleware",
    "csoa_portal.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication and messages: the exercise this request works in (None: live work), set once (liaison.exercises).
    "liaison.middleware.ExerciseMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last, around the view alone: one transaction per API write, committed after its answer is built.
    "csoa_portal.api.transactions.ApiWriteTransactionMiddleware",
]

ROOT_URLCONF = "csoa_portal.urls"
ASGI_APPLICATION = "csoa_portal.asgi.application"
WSGI_APPLICATION = "csoa_portal.wsgi.application"

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
                "liaison.context_processors.network",
                "liaison.context_processors.exercise",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    # A persistent connection cut while idle (backend terminated, server restarted) is found
    # and replaced at the next request instead of failing it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Behind PgBouncer's transaction pooling a server-side cursor would outlive its transaction's server.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
    # The SQL built once per model is prepared once per persistent connection (csoa_portal/prepared.py):
    # unset, on where connections persist (DATABASE_CONN_MAX_AGE) and not behind transaction pooling.
    DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=None)
    if "postgresql" in DATABASES["default"]["ENGINE"]:
        # An unreachable server fails a request in seconds (503), not after the TCP timeout.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
        if env.bool("DATABASE_POOL", default=False):
            # psycopg 3's pool (Django 5.2): a request borrows an open connection instead of opening one.
            # Needs psycopg[pool] installed (psycopg2 has none) and excludes persistent connections.
            DATABASES["default"]["OPTIONS"]["pool"] = {
                "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
                "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=8),
                "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
            }
            DATABASES["default"]["CONN_MAX_AGE"] = 0
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, whose health check polls the socket instead of sending SELECT 1 (csoa_portal/postgres).
        DATABASES["default"]["ENGINE"] = "csoa_portal.postgres"
    # Concurrent test runs on one server each get their own test database.
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("TEST_DATABASE_NAME", default=f"test_{DATABASES['default']['NAME']}_{os.getpid()}")
    }
    # A read replica for the list API, the event feed and the board (csoa_portal/db_router.py, docs/scaling.md).
    DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
    if DATABASE_REPLICA_URL:
        DATABASES["replica"] = {
            **env.db_url_config(DATABASE_REPLICA_URL),
            "ENGINE": DATABASES["default"]["ENGINE"],
            **{k: DATABASES["default"][k] for k in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "DISABLE_SERVER_SIDE_CURSORS")},
            "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
            "TEST": {"MIRROR": "default"},
        }
        DATABASE_ROUTERS = ["csoa_portal.db_router.ReplicaRouter"]
        MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                          "csoa_portal.db_router.ReplicaPinMiddleware")
    # After a write, its user's replica reads stay on the primary this long (read-your-write).
    DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=5)
else:
    SQLITE_PATH = Path(env.str("SQLITE_PATH", default=str(BASE_DIR / "var" / "portal.sqlite3")))
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------
AUTH_USER_MODEL = "liaison.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "liaison:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# guardian: no anonymous user row (the portal has no anonymous access).
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# django-otp
OTP_TOTP_ISSUER = "CSoA Portal"
OTP_TOTP_THROTTLE_FACTOR = 1
# No one, admins included, sees another person's TOTP secret or its QR code: a lost device
# is deleted in the admin and its owner enrols a new one.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# django-axes: lock the account and the address after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = False  # reset after the TOTP step instead (accounts.views)
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False
# The attempted e-mail is counted stripped and lower-cased (the login is case-insensitive):
# "Alice@X" gets no fresh attempts after "alice@x" was locked.
AXES_USERNAME_CALLABLE = "csoa_portal.accounts.lockout.normalised_username"
# Axes resolves the address like every other part of the portal (TRUSTED_PROXIES below).
AXES_CLIENT_IP_CALLABLE = "csoa_portal.middleware.client_ip"

# Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated,
# e.g. "10.0.0.0/8,127.0.0.1"). Empty: the header is ignored and REMOTE_ADDR is the client,
# so nobody picks their own address to dodge the lockout or forge the audit log's "from".
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Demo-only TOTP secret: load_demo enrols it, and only outside production.
DEMO_TOTP_SECRET_HEX = "3132333435363738393031323334353637383930"  # RFC 6238 test key

# Sessions expire after inactivity and at browser close.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles")))
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Request limits -------------------------------------------------------------------
# Bodies over this are refused with 413 before anything is parsed (bulk observables fit).
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BODY_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# --- Security headers -------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Cache (API throttle counters): Redis in full mode, so every worker shares them -------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "csoa_portal.cache.RedisCache",  # one client per pool (csoa_portal/cache.py)
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="csoa"),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "csoa_portal.authentication.BearerTokenAuthentication",
        "csoa_portal.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "csoa_portal.permissions.TokenScopePermission",
    ],
    "DEFAULT_PAGINATION_CLASS": "csoa_portal.api.pagination.CodeCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "csoa_portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "csoa_portal.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["csoa_portal.api.parsers.JSONParser"],  # depth, text and number rules
    # Per token and per signed-in person (csoa_portal.api.throttling); 429 with Retry-After beyond.
    "DEFAULT_THROTTLE_CLASSES": ["csoa_portal.api.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_THROTTLE_TOKEN_RATE", default="1200/min"),
        "session": env.str("API_THROTTLE_SESSION_RATE", default="600/min"),
    },
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CSoA Portal API",
    "DESCRIPTION": (
        "The REST API of the [CSoA Portal](/) for national SOC tooling and integrators: report and share incidents "
        "(NIS2 reports and clocks, TLP 2.0), follow the EU Cyber Crisis Management Blueprint's crisis levels and "
        "alerts, request EU Cybersecurity Reserve support, and read the event feed.\n\n"
        "Authenticate with `Authorization: Bearer <token>` (an organisation admin creates tokens in the portal at "
        "[/tokens/](/tokens/)); a signed-in browser session works too. Errors always read "
        "`{\"error\": {\"status\", \"code\", \"message\", \"fields\"}}`; lists use cursor pagination; `PATCH` takes "
        "`If-Match` and `POST` takes `Idempotency-Key`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {"TimelinePostKindEnum": "incidents.api.serializers.TIMELINE_POST_KINDS"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "csoa_portal.api.schema.document_common_errors",  # 401/403/429… on every operation
        "csoa_portal.api.schema.document_created_location",  # Location on every 201
    ],
}

# --- Channels, Celery, sweep ------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env.str("CHANNELS_PREFIX", default="csoa"),
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

# The live event stream (liaison.consumers, GET /api/v1/events/). Channel-layer messages are
# only "event N is new" hints, so the capacities above may drop some: the consumer reads the
# log itself. An event-id hole younger than the grace period is a transaction still in flight
# and readers wait for it; an older one was rolled back and is skipped.
EVENT_GAP_GRACE_SECONDS = env.float("EVENT_GAP_GRACE_SECONDS", default=10.0)
# A websocket send taking longer is a stalled client: closed with 4408, it catches up on reconnect.
WS_SEND_TIMEOUT_SECONDS = env.float("WS_SEND_TIMEOUT_SECONDS", default=5.0)
# State-changing HTTP requests one server process handles at once; more wait their turn in
# arrival order (csoa_portal.asgi_limits; 0 = no limit).
WRITE_CONCURRENCY = env.int("WRITE_CONCURRENCY", default=4)
# Clients only send pings: larger frames are closed with 1009 (run_portal gives uvicorn the same limit).
WS_MAX_MESSAGE_BYTES = env.int("WS_MAX_MESSAGE_BYTES", default=4096)

# How often the sweeper runs (seconds): the bound on how late a missed dispatch can be.
SWEEP_INTERVAL_SECONDS = env.int("SWEEP_INTERVAL_SECONDS", default=10)

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # A tick nobody ran within its interval is dropped: the next one does the same work, so a
    # sweep worker back after an outage runs one sweep, not one per missed tick.
    "sweep": {"task": "csoa_portal.tasks.sweep", "schedule": float(SWEEP_INTERVAL_SECONDS),
              "options": {"expires": float(SWEEP_INTERVAL_SECONDS)}},
}
# The sweep is the safety net for everything the broker may lose, so it never waits behind a
# backlog of evaluations and e-mails: it has a queue of its own ("sweep"), which every worker
# started by `make worker` / docker-compose also consumes (README "Processes").
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"csoa_portal.tasks.sweep": {"queue": "sweep"}}
# No task may outlive the broker's visibility timeout, or Redis hands it to a second worker
# while the first still runs it. The longest task is a sweep (its evaluation job stops after
# half an interval, each other job works in committed batches) or an outbox batch
# (OUTBOX_BATCH × EMAIL_TIMEOUT = 10 × 15 s): the hard limit of 240 s covers both with room,
# and the visibility timeout (300 s) is above it. A task whose worker was SIGKILLed comes back
# after those 300 s; until then the sweep (every SWEEP_INTERVAL_SECONDS) has done its work.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=200)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=240)
BROKER_VISIBILITY_TIMEOUT = env.int("BROKER_VISIBILITY_TIMEOUT", default=300)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT}
# A worker that starts asks for one sweep at once, so what was pending when its predecessor
# died is picked up without waiting for beat's next tick (csoa_portal/celery.py).
SWEEP_ON_WORKER_START = env.bool("SWEEP_ON_WORKER_START", default=True)
# Sweep jobs over a backlog commit a batch at a time (a transaction per batch, rows claimed with
# SKIP LOCKED) and stop after this budget, leaving the rest to the next sweep.
SWEEP_BATCH = env.int("SWEEP_BATCH", default=100)
SWEEP_JOB_BUDGET_SECONDS = env.int("SWEEP_JOB_BUDGET_SECONDS", default=60)
# The share of time a sweep job firing reminders and alarms may be busy over a backlog: it rests
# between batches for the rest (1 = never rests). Keeps a burst of alarms from taking the CPU that
# reports and live events need at that moment (csoa_portal.sweep.in_batches).
SWEEP_PACE = env.float("SWEEP_PACE", default=0.25)
if not 0.05 <= SWEEP_PACE <= 1.0:
    raise ImproperlyConfigured("SWEEP_PACE is the share of time a sweep job may be busy: between 0.05 and 1.")

# --- EU Cybersecurity Reserve (DOMAIN.md) -------------------------------------------------
# Whose decision-makers answer requests: ENISA under the 2025 contribution agreement; "ec" if the Commission holds it.
RESERVE_CONTRACTING_AUTHORITY = env.str("RESERVE_CONTRACTING_AUTHORITY", default="enisa")
RESERVE_RESPONSE_HOURS = env.int("RESERVE_RESPONSE_HOURS", default=48)  # CSoA: answer within 48 h of submission
RESERVE_RESPONSE_REMINDER_HOURS = env.int("RESERVE_RESPONSE_REMINDER_HOURS", default=12)  # reminder this long before
RESERVE_REPORT_MONTHS = env.int("RESERVE_REPORT_MONTHS", default=3)  # after-action report after the support ends
RESERVE_REPORT_REMINDER_DAYS = env.int("RESERVE_REPORT_REMINDER_DAYS", default=14)

# --- E-mail ---------------------------------------------------------------------------
# Embedded mode (the demo) writes each message to var/mail/ and logs one line per message
# (csoa_portal.mail), so the terminal showing the demo banner is not flooded.
if PRODUCTION:
    _DEFAULT_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif PORTAL_MODE == "embedded":
    _DEFAULT_EMAIL_BACKEND = "csoa_portal.mail.FileAndLineBackend"
else:
    _DEFAULT_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=_DEFAULT_EMAIL_BACKEND)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CSoA Portal <noreply@csoa-portal.invalid>")
# Every notification e-mail goes through the outbox table (csoa_portal/outbox.py): sent after the
# commit by a task, by the sweep if the task was lost; retried with backoff, then given up.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)  # seconds per SMTP operation
OUTBOX_BATCH = env.int("OUTBOX_BATCH", default=10)  # rows claimed at a time
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=300)  # > OUTBOX_BATCH × EMAIL_TIMEOUT
OUTBOX_RETRY_SECONDS = env.int("OUTBOX_RETRY_SECONDS", default=30)  # first backoff, doubled per attempt
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)  # about an hour of retries
OUTBOX_KEEP_DAYS = env.int("OUTBOX_KEEP_DAYS", default=30)  # sent rows (and their dedupe keys) kept this long

# --- Logging --------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
