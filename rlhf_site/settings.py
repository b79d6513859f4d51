"""The one settings module. Every value comes from the environment (see .env.example).

With nothing set it runs anywhere: SQLite, an embedded filesystem broker served by a real
Celery worker, artifacts in ./var/artifacts. Production values come from docker-compose.yml.
"""

import os
from pathlib import Path

from .env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_int,
    env_list,
    env_rate,
    env_str,
    load_dotenv,
    parse_database_url,
    sqlite_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
_NEW_KEY = "run `make .env`, or set one from python -c 'import secrets; print(secrets.token_urlsafe(48))'"
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfiguredEnv(f"SECRET_KEY must be set when DEBUG is off: {_NEW_KEY}")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"
elif not DEBUG and SECRET_KEY == "change-me":
    raise ImproperlyConfiguredEnv(f"SECRET_KEY=change-me is the placeholder from .env.example and cannot be used when "
                                  f"DEBUG is off: {_NEW_KEY}")
elif not DEBUG and len(SECRET_KEY) < 32:
    raise ImproperlyConfiguredEnv(f"SECRET_KEY is {len(SECRET_KEY)} characters; when DEBUG is off it must be a random "
                                  f"key of at least 32: {_NEW_KEY}")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# HTTPS hardening for deployments behind TLS; off for the local http://127.0.0.1 run.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Proxies in front of the app that append to X-Forwarded-For: the sign-in throttles take the client's address from
# that many hops back. 0 reads REMOTE_ADDR only (DRF's own default trusts the header as the client sent it).
NUM_PROXIES = env_int("NUM_PROXIES", 1 if BEHIND_TLS_PROXY else 0, minimum=0)

# The cache holds the sign-in throttles' counts: this process's memory by default, Redis (shared by every web
# process) when CACHE_URL is set. Its own URL, not REDIS_URL's broker database: clearing one must not drop the other.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfiguredEnv(f"CACHE_URL {CACHE_URL!r} is not a Redis URL (redis://host:6379/1)")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL} if CACHE_URL
          else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "annotation",
    "training",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "annotation.api.uploads.UploadGuardMiddleware",  # before anything reads a multipart body
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "rlhf_site.urls"
WSGI_APPLICATION = "rlhf_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

_database_url = env_str("DATABASE_URL")
DATABASES = {
    "default": parse_database_url(_database_url)
    if _database_url
    else sqlite_database(str(VAR_DIR / "db.sqlite3"))
}
# Test databases: one per test run (two runs at once must not share one), and for SQLite a file,
# not memory, so that worker and server subprocesses started by tests can open it.
DATABASES["default"].setdefault("TEST", {})
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"]["NAME"] = str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")
else:
    DATABASES["default"]["TEST"]["NAME"] = f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The hot path's fixed statements (annotation/sql.py) are prepared from their fifth run on a connection; the ORM's
    # client-side cursors never prepare. Django turns preparing off by default for the sake of connection poolers in
    # transaction mode; none stands between the web server and PostgreSQL here (docker-compose.yml).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Run where a password is set through the API (POST /api/users/) and by Django's own forms and commands;
# create_user does not run them (the demo and test users are made with it).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve a fresh frontend build without a collectstatic step

ARTIFACT_ROOT = Path(env_str("ARTIFACT_ROOT", str(VAR_DIR / "artifacts")))
# Snapshots, models and job artifacts go through this storage: the local ARTIFACT_ROOT by default, an
# S3-compatible bucket (MinIO, S3, ...) when ARTIFACT_S3_BUCKET is set, so that workers share no disk.
ARTIFACT_S3_BUCKET = env_str("ARTIFACT_S3_BUCKET")
if ARTIFACT_S3_BUCKET:
    STORAGES["artifacts"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": ARTIFACT_S3_BUCKET,
        "endpoint_url": env_str("ARTIFACT_S3_ENDPOINT_URL"),
        "access_key": env_str("ARTIFACT_S3_ACCESS_KEY"),
        "secret_key": env_str("ARTIFACT_S3_SECRET_KEY"),
        "region_name": env_str("ARTIFACT_S3_REGION", "us-east-1"),
        "addressing_style": "path",
        "file_overwrite": True,
        "default_acl": None,
        "querystring_auth": False,
    }}
else:
    STORAGES["artifacts"] = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                             "OPTIONS": {"location": str(ARTIFACT_ROOT), "allow_overwrite": True}}
ARTIFACT_CACHE_DIR = Path(env_str("ARTIFACT_CACHE_DIR", str(VAR_DIR / "artifact-cache")))

# Training. Jobs run on TRAINING_QUEUE (a GPU worker in production, the local worker with `make run`), each in a
# subprocess under TRAINING_WORK_ROOT on the worker's own disk; state and heartbeats live in the database.
TRAINING_QUEUE = env_str("TRAINING_QUEUE", "gpu")
TRAINING_WORK_ROOT = Path(env_str("TRAINING_WORK_ROOT", str(VAR_DIR / "training")))
TRAINING_HEARTBEAT_SECONDS = env_int("TRAINING_HEARTBEAT_SECONDS", 5, minimum=1)
TRAINING_STALE_SECONDS = env_int("TRAINING_STALE_SECONDS", 60, minimum=2)
TRAINING_REQUEUE_SECONDS = env_int("TRAINING_REQUEUE_SECONDS", 300, minimum=1)
TRAINING_MAX_ATTEMPTS = env_int("TRAINING_MAX_ATTEMPTS", 3, minimum=1)
# A snapshot build or agreement recompute still pending after this long has its wake-up sent again (annotation.wake_lost).
WAKEUP_RESEND_SECONDS = env_int("WAKEUP_RESEND_SECONDS", 300, minimum=1)
# An agreement recompute still running this long after it started lost its worker: it is sent again.
AGREEMENT_STALE_SECONDS = env_int("AGREEMENT_STALE_SECONDS", 900, minimum=10)
TRAINING_MAX_ACTIVE_JOBS_PER_USER = env_int("TRAINING_MAX_ACTIVE_JOBS_PER_USER", 20, minimum=1)
SNAPSHOT_MAX_ACTIVE_PER_PROJECT = env_int("SNAPSHOT_MAX_ACTIVE_PER_PROJECT", 3, minimum=1)
# A pairwise JSONL snapshot of at least SNAPSHOT_PARALLEL_MIN_ITEMS items, on PostgreSQL, is built by this many
# forked processes (annotation.services.snapshots._ParallelBuild); 1: always in the worker's own process.
SNAPSHOT_BUILD_PROCESSES = env_int("SNAPSHOT_BUILD_PROCESSES", min(os.cpu_count() or 1, 4), minimum=1)
SNAPSHOT_PARALLEL_MIN_ITEMS = env_int("SNAPSHOT_PARALLEL_MIN_ITEMS", 20_000, minimum=0)
AGREEMENT_MAX_ACTIVE_PER_PROJECT = env_int("AGREEMENT_MAX_ACTIVE_PER_PROJECT", 3, minimum=1)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
# Caps on one imported line's text (annotation.importing.Limits); a line past one is refused naming the field.
IMPORT_MAX_TURN_CHARS = env_int("IMPORT_MAX_TURN_CHARS", 100_000, minimum=1)
IMPORT_MAX_RESPONSE_CHARS = env_int("IMPORT_MAX_RESPONSE_CHARS", 100_000, minimum=1)
IMPORT_MAX_METADATA_BYTES = env_int("IMPORT_MAX_METADATA_BYTES", 64 * 1024, minimum=2)
IMPORT_MAX_ID_CHARS = env_int("IMPORT_MAX_ID_CHARS", 200, minimum=1)
if IMPORT_MAX_ID_CHARS > 200:
    raise ImproperlyConfiguredEnv(f"IMPORT_MAX_ID_CHARS={IMPORT_MAX_ID_CHARS}: the external_id column holds at most 200")
IMPORT_MAX_LINE_BYTES = env_int("IMPORT_MAX_LINE_BYTES", 8 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    # Token first: DRF answers an unauthenticated call with the first class's challenge, so scripts get
    # 401 with "WWW-Authenticate: Token" (session-first would answer 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotation.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotation.api.errors.exception_handler",
    # Multipart only where a file is expected (the import action names its own parsers).
    "DEFAULT_PARSER_CLASSES": ["annotation.api.parsers.JSONParser", "annotation.api.parsers.FormParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Failed sign-ins per client address and username, one scope per endpoint (annotation/api/views_auth.py).
    "DEFAULT_THROTTLE_RATES": {"login": env_rate("LOGIN_THROTTLE_RATE", "10/minute"),
                               "token": env_rate("TOKEN_THROTTLE_RATE", "10/minute")},
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RLHF platform API",
    "DESCRIPTION": "Collect, measure, curate and train: the public API of the platform.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files: no CDN, no network at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The error responses every operation can give, in the one error shape (annotation/api/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "annotation.api.schema.document_errors"],
    "ENUM_NAME_OVERRIDES": {
        "ProjectKindEnum": "annotation.models.Project.Kind",
        "TrainingJobKindEnum": "training.models.TrainingJob.Kind",
        "ModelKindEnum": "training.models.Model.Kind",
        "TrainingJobStatusEnum": "training.models.TrainingJob.Status",
    },
}

# Celery. The broker only carries wake-ups; state lives in the database.
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_BROKER_DIR = VAR_DIR / "broker"
if not CELERY_BROKER_URL:
    # Embedded broker: kombu's filesystem transport, served by a real `celery worker` process.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "reclaim-expired-leases": {"task": "annotation.reclaim_expired_leases", "schedule": 60.0},
    "reconcile-snapshots": {"task": "annotation.reconcile_snapshots", "schedule": 60.0},
    "wake-lost": {"task": "annotation.wake_lost", "schedule": 60.0},
    "reconcile-training-jobs": {"task": "training.reconcile_jobs",
                                "schedule": float(env_int("TRAINING_RECONCILE_SECONDS", 15, minimum=1))},
}
CELERY_TASK_ROUTES = {"training.run_job": {"queue": TRAINING_QUEUE}}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

VAR_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
