"""motcua settings, read from the environment.

With nothing set, motcua runs on the embedded default: a SQLite file under ./var,
Celery tasks run eagerly in-process, e-mail goes to the console. Production sets
DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS and friends.
"""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    environ.Env.read_env(_env_file)

DEBUG = env.bool("DEBUG", default=False)
VAR_DIR = Path(env.str("MOTCUA_VAR_DIR", default=str(BASE_DIR / "var")))

# The embedded default has no secret configured: use a per-checkout key kept under var/,
# so sessions survive restarts without a secret ever being committed. A deployment must
# set SECRET_KEY: `check --deploy` fails without it (config.checks).
_secret = env.str("SECRET_KEY", default="")
SECRET_KEY_FROM_ENVIRONMENT = bool(_secret)
if not _secret:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        from django.core.management.utils import get_random_secret_key

        try:  # O_EXCL: two processes starting at once must not write two different keys
            fd = os.open(_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(get_random_secret_key())
        except FileExistsError:
            pass
    _secret = _key_file.read_text().strip()
SECRET_KEY = _secret

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # National sign-in (VNeID, connectors.identity): allauth's OpenID Connect provider.
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "viewflow",
    "viewflow.workflow",
    "procedures",
    "workflows",
    "portal",
    "workspace",
    "notifications",
    "documents",
    "access",
    "security",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "connectors",
    "connectors.national_portal",  # status sync to the national portal (its own models)
    "connectors.payment",  # online fees: payment attempts, callbacks, receipts
    "django_prometheus",  # health, metrics and logs (config.health, config.metrics)
]

MIDDLEWARE = [
    # Health, metrics and logs: request timing, the request id, then the probes and
    # /metrics answered before host validation and the HTTPS redirect (config.health).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.requestid.RequestIdMiddleware",
    "config.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads the post: an oversized upload is refused unread.
    "config.uploads.UploadLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # The record of every API call (client, endpoint, dossier, status; no bodies).
    "api.middleware.ApiCallMiddleware",
    # After auth and allauth: staff second factor and session limits; 403s logged.
    "security.middleware.RefusedAccessMiddleware",
    "security.middleware.StaffSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Database -----------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'motcua.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL makes commits about three times cheaper (see shared/viewflow-notes.md), and
    # IMMEDIATE transactions stop two writers from deadlocking on a lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # SQLite has no covering indexes: it ignores their INCLUDE columns, as it should, and
    # would say so (models.W040) on every start of `make run`.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A primary that does not answer fails a request (and the readiness probe) in seconds,
    # instead of holding a gunicorn worker until the kernel gives up on the connection.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
# The tables' owner, on PostgreSQL, when the application's role (DATABASE_URL) is another
# that owns nothing: migrate, createcachetable, flush and grant_app_role connect with this
# URL's credentials (config.dbroles; README, "Database roles"). Same database, other role.
DATABASE_MIGRATE = None
if env.str("DATABASE_MIGRATE_URL", default=""):
    from django.core.exceptions import ImproperlyConfigured

    DATABASE_MIGRATE = env.db_url("DATABASE_MIGRATE_URL")
    if "postgresql" not in DATABASES["default"]["ENGINE"] or (
        DATABASE_MIGRATE["NAME"] != DATABASES["default"]["NAME"]
    ):
        raise ImproperlyConfigured(
            "DATABASE_MIGRATE_URL names the owner of DATABASE_URL's PostgreSQL database: "
            "the same database, another role"
        )
# viewflow's SelectForUpdateLock must not run inside an outer transaction: keep this off.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Read replica (issue #17; config.replica, README "Read replica") ----------------------
# A PostgreSQL streaming replica for reports, parsed like DATABASE_URL with the same
# options. Only code inside config.replica.reporting() reads from it; writes never do.
DATABASE_ROUTERS = ["config.replica.ReportRouter"]
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=60.0)
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    if "postgresql" in DATABASES["replica"]["ENGINE"]:
        DATABASES["replica"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
        DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
        # A replica that does not answer must not hold a report for long: then the
        # primary serves it (config.replica).
        DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    # The test suite makes no database for it: it reads the test database.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}

# --- Auth ---------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "procedures.auth.AgencyRoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("MOTCUA_PASSWORD_MIN_LENGTH", default=12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:after_login"
LOGOUT_REDIRECT_URL = "portal:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "portal:home"

# Accounts (django-allauth): citizens sign up with their e-mail address and must verify
# it; officers, whose accounts an administrator creates, log in with their username.
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "signup": "20/h/ip"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[motcua] "

# --- Account security (security app): second factor, lockout, staff sessions -------------
# Failed logins count per account (a username and an e-mail address are one budget:
# security.adapter keys allauth's "login_failed" limit on the account); the lockout and the
# security log live in security/. Staff (officers, supervisors, administrators) must enrol
# and use TOTP (allauth.mfa) before anything but the account pages.
ACCOUNT_ADAPTER = "security.adapter.AccountAdapter"
ACCOUNT_FORMS = {"login": "security.forms.LoginForm"}
MFA_ADAPTER = "security.adapter.MFAAdapter"
# TOTP with recovery codes is required of staff and covers ASVS L2. Security keys
# (WebAuthn, through fido2) are an optional extra: once added, a key may stand in for the
# code at login. Their pages run allauth's own static scripts (allowed by the CSP: no
# inline script) and need a browser with JavaScript; the code pages need none. No
# passkey login or signup: a key is a second factor, never the only one. The relying
# party id is the request's host (ALLOWED_HOSTS checks it), so keys added on one domain
# do not work on another.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_PASSKEY_SIGNUP_ENABLED = False
MFA_FORMS = {
    "add_webauthn": "security.forms.AddWebAuthnForm",
    "edit_webauthn": "security.forms.EditWebAuthnForm",
    "authenticate_webauthn": "security.forms.AuthenticateWebAuthnForm",
    "reauthenticate_webauthn": "security.forms.ReauthenticateWebAuthnForm",
}
# One period either side: officers' phones in remote areas drift.
MFA_TOTP_TOLERANCE = 1
MOTCUA_SECURITY = {
    # This many failed logins on one account within the window lock it for LOCKOUT_SECONDS;
    # its owner is told by e-mail.
    "LOCKOUT_FAILURES": env.int("MOTCUA_LOCKOUT_FAILURES", default=5),
    "LOCKOUT_WINDOW_SECONDS": env.int("MOTCUA_LOCKOUT_WINDOW_SECONDS", default=15 * 60),
    "LOCKOUT_SECONDS": env.int("MOTCUA_LOCKOUT_SECONDS", default=30 * 60),
    # Staff sessions end with the browser, after this long idle, and this long after login.
    "STAFF_IDLE_SECONDS": env.int("MOTCUA_STAFF_IDLE_SECONDS", default=30 * 60),
    "STAFF_MAX_SECONDS": env.int("MOTCUA_STAFF_MAX_SECONDS", default=12 * 60 * 60),
}

# --- Cache: shared by every process (rate limits, allauth); the database by default --------
CACHES = {
    "default": env.cache_url("CACHE_URL", default="dbcache://motcua_cache"),
}
# Caches every process of a deployment shares. With one (Redis in production), a logged-in
# request reads its session from it instead of the database; sessions are still written
# through to the database. A per-process cache (locmem) would let one worker accept a
# session another has ended, so it keeps plain database sessions.
SHARED_CACHE_BACKENDS = (
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
)
if CACHES["default"]["BACKEND"] in SHARED_CACHE_BACKENDS:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "vi"
# Each language named in itself: the language switch shows these names untranslated.
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
# Our catalog first (makemessages writes there), then the Vietnamese we add for allauth.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale" / "allauth"]
# config/formats/vi: short dates as 28/12/2026 (Django's Vietnamese locale has 28-12-2026).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Every installed app's static files but viewflow's: motcua does not use viewflow's own
# front end, whose CSS names fonts viewflow does not ship, so the manifest storage would
# refuse to collect it (config.staticfiles).
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "config.staticfiles.AppDirectoriesFinder",
]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Dossier components and generated documents are personal data: they live outside
# MEDIA_ROOT, have no URL, and are only ever streamed through views that check access.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "workflows.storage.PrivateFileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT)},
    },
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 5_242_880
FILE_UPLOAD_PERMISSIONS = 0o600

# --- Object storage for private files (issue #17) -----------------------------------------
# MOTCUA_PRIVATE_STORAGE=s3 puts dossier files and generated documents in an S3-compatible
# bucket (AWS S3, MinIO, Ceph, ...) instead of PRIVATE_MEDIA_ROOT. The bucket stays private:
# objects are written with a private ACL, motcua never hands out a URL for them, and every
# download is streamed by the server through its access-checked views.
PRIVATE_STORAGE = env.str("MOTCUA_PRIVATE_STORAGE", default="filesystem")
if PRIVATE_STORAGE not in ("filesystem", "s3"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("MOTCUA_PRIVATE_STORAGE must be 'filesystem' or 's3'")
if PRIVATE_STORAGE == "s3":
    from botocore.config import Config as _S3Config

    _sse = env.str("MOTCUA_S3_SSE", default="")  # "", "AES256" or "aws:kms"
    _kms_key = env.str("MOTCUA_S3_SSE_KMS_KEY_ID", default="")
    STORAGES["private"] = {
        "BACKEND": "workflows.s3storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": env.str("MOTCUA_S3_BUCKET"),
            "endpoint_url": env.str("MOTCUA_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("MOTCUA_S3_REGION", default="") or None,
            # Unset: boto3's own chain (AWS_ACCESS_KEY_ID, an instance or pod role, ...).
            "access_key": env.str("MOTCUA_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("MOTCUA_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("MOTCUA_S3_PREFIX", default=""),
            # "" for a bucket that refuses ACLs (Object Ownership: bucket owner enforced).
            "default_acl": env.str("MOTCUA_S3_ACL", default="private") or None,
            "object_parameters": {
                **({"ServerSideEncryption": _sse} if _sse else {}),
                **({"SSEKMSKeyId": _kms_key} if _kms_key else {}),
            },
            "file_overwrite": False,
            "verify": env.str("MOTCUA_S3_CA_BUNDLE", default="") or None,
            # Past this size a download is spooled to a temporary file, not kept in memory.
            "max_memory_size": FILE_UPLOAD_MAX_MEMORY_SIZE,
            "client_config": _S3Config(
                s3={"addressing_style": env.str("MOTCUA_S3_ADDRESSING_STYLE", default="auto")},
                signature_version="s3v4",
                connect_timeout=env.float("MOTCUA_S3_CONNECT_TIMEOUT", default=5),
                read_timeout=env.float("MOTCUA_S3_READ_TIMEOUT", default=30),
                retries={"mode": "standard", "max_attempts": env.int("MOTCUA_S3_ATTEMPTS", 3)},
            ),
        },
    }

# --- E-mail -------------------------------------------------------------------------------
# With DEBUG and no EMAIL_URL, mail is written to files in var/mail/ (one file per batch,
# whole messages: sign-up confirmation and password-reset links among them), so that the
# demo's mail does not flood `make run`'s terminal. Without DEBUG and without EMAIL_URL,
# mail goes to an SMTP server on localhost; `check --deploy` warns when EMAIL_URL names
# the console (config.checks, motcua.W005). EMAIL_URL=filemail:// alone means var/mail/.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="filemail://" if DEBUG else "smtp://localhost:25")
vars().update(EMAIL_CONFIG)
if EMAIL_CONFIG["EMAIL_BACKEND"].endswith(".filebased.EmailBackend"):
    EMAIL_FILE_PATH = EMAIL_CONFIG.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="motcua <no-reply@localhost>")
# A hung SMTP server must not hold a worker forever: the attempt fails and is retried.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- Celery -------------------------------------------------------------------------------
_broker = env.str("CELERY_BROKER_URL", default="")
# No broker configured: the embedded default runs every task eagerly, in-process.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not _broker)
# A host named, or kombu warns "No hostname was supplied" at each start.
CELERY_BROKER_URL = _broker or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# Celery's Django fixup closes every database connection before and after each task unless
# this is set; a new PostgreSQL connection per task (a backend started, authenticated, its
# caches filled) costs more than most of motcua's tasks. With it set that high, the
# worker keeps Django's own rule instead (config.celery): a connection lives CONN_MAX_AGE
# seconds, and one that failed is checked before the next task.
CELERY_DB_REUSE_MAX = 1_000_000_000
# --- Several nodes: beat sends each job once per period, however many beats run -----------
# (config.beat: a claim per job and period in the shared cache.) With Redis as the broker,
# a task not acknowledged within the visibility timeout is delivered again to another
# worker: it must exceed the longest task and the longest countdown (render retries wait
# up to 600 s); RabbitMQ redelivers when the worker's connection drops and needs none.
CELERY_BEAT_SCHEDULER = "config.beat:LockedScheduler"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
    if _broker.startswith(("redis://", "rediss://"))
    else {}
)
CELERY_BEAT_SCHEDULE = {
    "dispatch-pending-events": {
        "task": "workflows.tasks.dispatch_pending_events",
        "schedule": env.float("MOTCUA_EVENT_SWEEP_SECONDS", default=60.0),
    },
    "sweep-messages": {
        "task": "notifications.tasks.sweep_messages",
        "schedule": env.float("MOTCUA_MESSAGE_SWEEP_SECONDS", default=60.0),
    },
    "escalate-tasks": {
        "task": "workflows.tasks.escalate_tasks",
        "schedule": env.float("MOTCUA_ESCALATION_SECONDS", default=900.0),
    },
    "fire-flow-timers": {
        "task": "workflows.tasks.fire_flow_timers",
        "schedule": env.float("MOTCUA_TIMER_SECONDS", default=60.0),
    },
    "sweep-documents": {
        "task": "documents.tasks.sweep_documents",
        "schedule": env.float("MOTCUA_DOCUMENT_SWEEP_SECONDS", default=120.0),
    },
    # Abandoned drafts discarded; files past their procedure's retention erased.
    "retention": {
        "task": "workflows.tasks.apply_retention",
        "schedule": env.float("MOTCUA_RETENTION_SECONDS", default=3600.0),
    },
    # Failed and stuck messages, events and renders: one digest mail (notifications.alerts).
    "alert-failures": {
        "task": "notifications.tasks.alert_failures",
        "schedule": env.float("MOTCUA_ALERT_SECONDS", default=600.0),
    },
    # Webhook deliveries whose retry is due, or that missed their after-commit hand-off.
    "sweep-webhooks": {
        "task": "api.tasks.sweep_webhooks",
        "schedule": env.float("MOTCUA_WEBHOOK_SWEEP_SECONDS", default=60.0),
    },
    # Status pushes to the national portal whose retry is due, or that missed their hand-off.
    "sync-national-portal": {
        "task": "connectors.national_portal.tasks.sweep_portal_sync",
        "schedule": env.float("MOTCUA_NATIONAL_PORTAL_SWEEP_SECONDS", default=60.0),
    },
    # API call records and idempotency keys past their keeping time (api.services).
    "prune-api-records": {
        "task": "api.tasks.prune_api_records",
        "schedule": env.float("MOTCUA_API_PRUNE_SECONDS", default=86400.0),
    },
    # Online payments pending too long: asked of the platform (connectors.payment).
    "reconcile-payments": {
        "task": "connectors.payment.tasks.reconcile_payments",
        "schedule": env.float("MOTCUA_PAYMENT_RECONCILE_SECONDS", default=300.0),
    },
    # Each agency's seal over the heads of its dossiers' history (workflows.services.sealing).
    "seal-history": {
        "task": "workflows.tasks.seal_history",
        "schedule": env.float("MOTCUA_HISTORY_SEAL_SECONDS", default=3600.0),
    },
}

# --- Security (production) ----------------------------------------------------------------
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# Rate limits key on the client's address (config.network.client_ip).
RATELIMIT_IP_META_KEY = "config.network.client_ip"
ALLAUTH_TRUSTED_PROXY_COUNT = 1 if BEHIND_TLS_PROXY else 0
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Content-Security-Policy (django-csp): scripts, styles, fonts and images from motcua's own
# origin only, never inline; no plug-ins, no framing. A deployment whose sign-in sends the
# browser to another origin (a national identity provider) adds it to form-action.
_CSP_SELF, _CSP_NONE = "'self'", "'none'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_CSP_SELF],
        "script-src": [_CSP_SELF],
        "style-src": [_CSP_SELF],
        "img-src": [_CSP_SELF, "data:"],
        "font-src": [_CSP_SELF],
        "connect-src": [_CSP_SELF],
        "object-src": [_CSP_NONE],
        "base-uri": [_CSP_SELF],
        "frame-ancestors": [_CSP_NONE],
        "form-action": [_CSP_SELF, *env.list("MOTCUA_CSP_FORM_ACTION", default=[])],
    }
}
# Permissions-Policy (django-permissions-policy): no page of motcua needs the camera, the
# microphone, the location or payment APIs; security keys (WebAuthn) only on its own pages.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "autoplay": [],
    "camera": [],
    "display-capture": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "usb": [],
    "publickey-credentials-create": ["self"],
    "publickey-credentials-get": ["self"],
}

# --- Logging: ids and statuses only, never personal data ------------------------------------
# Every handler passes its lines through config.logging.Redact, which removes what must
# never reach a log even when a library writes it: password-reset and confirmation keys,
# verification codes in URLs, query strings, ID numbers and phone numbers.
# --- Structured logs (structlog): JSON lines unless DEBUG, or as MOTCUA_LOG_FORMAT says
# ("json" or "console"). Every line carries the request id (config.requestid), in the web
# process and in the Celery tasks the request enqueued.
from config.logging import configure_structlog, formatter, log_format  # noqa: E402

LOG_FORMAT = log_format(DEBUG)
configure_structlog()
# --- end structured logs

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logging.Redact"}},
    "formatters": {
        "plain": formatter(LOG_FORMAT),
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
        "server": {"class": "logging.StreamHandler", "formatter": "server", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's default config gives "django" a console handler of its own (DEBUG only):
        # replaced by none, so its lines reach the root's handler once, formatted and redacted.
        "django": {"handlers": [], "level": "INFO"},
        # runserver's request lines (development): the same redaction.
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs each rendering step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # One INFO line per task is noise in the embedded default; failures still show.
        "celery.app.trace": {"level": env.str("CELERY_TRACE_LOG_LEVEL", default="WARNING")},
        # A failing probe answers 503 to the balancer every few seconds: no traceback
        # each time (unexpected errors in a check still log).
        "health_check": {"level": "ERROR"},
        # One line per security event: event, user id, client address (security app).
        "motcua.security": {"level": "INFO"},
    },
}

# --- Health, metrics and logs (config.health, config.metrics, config.requestid) ----------
# Who may read /metrics: addresses or networks (CIDR), as config.network.client_address
# sees the client (the proxy's X-Forwarded-For behind BEHIND_TLS_PROXY). Others get a 404.
import ipaddress  # noqa: E402

MOTCUA_METRICS_ALLOWED_IPS = [
    str(ipaddress.ip_network(value, strict=False))
    for value in env.list("MOTCUA_METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
]
# --- end health, metrics and logs

# --- motcua -------------------------------------------------------------------------------
# make_dev_pki's seal password; `check --deploy` warns when a deployment still uses it.
DEV_SEAL_PASSWORD = "motcua-dev-seal"  # noqa: S105 - development only, checked at deploy
from config.siteurl import site_url  # noqa: E402

SITE_URL_FROM_ENVIRONMENT = bool(env.str("MOTCUA_SITE_URL", default=""))
MOTCUA = {
    # The 15:00 rule (Decree 61/2018 art. 19): a dossier received after this local time
    # is handled as received on the next working day.
    "RECEPTION_CUTOFF": env.str("MOTCUA_RECEPTION_CUTOFF", default="15:00"),
    # Local time printed on the appointment slip for the return of results.
    "APPOINTMENT_TIME": env.str("MOTCUA_APPOINTMENT_TIME", default="16:00"),
    # Supplements after appraisal must be asked within this many working days of receipt.
    "SUPPLEMENT_AFTER_REVIEW_DAYS": env.int("MOTCUA_SUPPLEMENT_AFTER_REVIEW_DAYS", default=3),
    # An apology letter's new appointment date lies at most this many days after today.
    "RESCHEDULE_MAX_DAYS": env.int("MOTCUA_RESCHEDULE_MAX_DAYS", default=365),
    # A task or dossier is "due soon" within this many working days of its due date.
    "DUE_SOON_WORKING_DAYS": env.int("MOTCUA_DUE_SOON_WORKING_DAYS", default=2),
    "HOLIDAY_COUNTRY": "VN",
    "CATALOG_DIR": BASE_DIR / "procedures" / "catalog",
    "AGENCIES_FILE": BASE_DIR / "procedures" / "data" / "agencies.yaml",
    # --- Retention (workflows.services.retention) ---
    # A draft unchanged for this many days is discarded with its files (its history stays).
    "DRAFT_RETENTION_DAYS": env.int("MOTCUA_DRAFT_RETENTION_DAYS", default=30),
    "MESSAGE_STUCK_SECONDS": env.int("MOTCUA_MESSAGE_STUCK_SECONDS", default=300),
    # /health/ready warns (status 200, "warning") when an event or a message has waited
    # longer than this to be delivered (config.health).
    "HEALTH": {
        "OUTBOX_MAX_AGE_SECONDS": env.int("MOTCUA_HEALTH_OUTBOX_MAX_AGE_SECONDS", default=1800),
    },
    # --- The outbox under faults (config.handoff, notifications.alerts, SMS receipts) ---
    # After-commit hand-off to the broker: one attempt, waiting at most TIMEOUT seconds
    # for any answer; after a failure this process leaves hand-offs to the sweeps for
    # PAUSE_SECONDS (config.handoff).
    "HANDOFF": {
        "TIMEOUT": env.float("MOTCUA_HANDOFF_TIMEOUT", default=1.0),
        "PAUSE_SECONDS": env.float("MOTCUA_HANDOFF_PAUSE_SECONDS", default=30.0),
    },
    # Messages and events are retried for this long (exponential backoff, capped at
    # RETRY_MAX_MINUTES between attempts) before they fail permanently.
    "RETRY_HOURS": env.int("MOTCUA_RETRY_HOURS", default=72),
    "RETRY_MAX_MINUTES": env.int("MOTCUA_RETRY_MAX_MINUTES", default=60),
    # Failure digest (notifications.alerts): to MOTCUA_ALERT_EMAILS, else to ADMINS.
    "ALERTS": {
        "EMAILS": env.list("MOTCUA_ALERT_EMAILS", default=[]),
        "STUCK_MINUTES": env.int("MOTCUA_ALERT_STUCK_MINUTES", default=60),
    },
    # Absolute links in messages, e-mails and the papers' QR codes start with this
    # (config.siteurl): MOTCUA_SITE_URL, required in production (check --deploy); under
    # `make run PORT=N`, the address served.
    "SITE_URL": site_url(os.environ),
    # The name messages greet with ("Xin chào từ motcua"), instead of the request's host.
    "SITE_NAME": env.str("MOTCUA_SITE_NAME", default="motcua"),
    # SMS: "console", "file" (options.path) or "http" (options.url, auth, fields, extra).
    "SMS": {
        "backend": env.str("MOTCUA_SMS_BACKEND", default="file"),
        "options": env.json("MOTCUA_SMS_OPTIONS", default={}),
        # Delivery receipts posted by the http gateway (notifications.receipts): signed
        # with HMAC-SHA256 of the body under this secret; empty: receipts are refused.
        "RECEIPT_SECRET": env.str("MOTCUA_SMS_RECEIPT_SECRET", default=""),
    },
    # The integration API (api/, README "Integration API").
    "API": {
        # Requests per minute for a new client; each client's own limit is in the admin.
        "RATE_LIMIT": env.int("MOTCUA_API_RATE_LIMIT", default=600),
        # Days an Idempotency-Key is remembered.
        "IDEMPOTENCY_DAYS": env.int("MOTCUA_API_IDEMPOTENCY_DAYS", default=7),
        # Days the record of API calls is kept.
        "CALL_LOG_DAYS": env.int("MOTCUA_API_CALL_LOG_DAYS", default=180),
        # Webhooks (api.webhooks). Callback URLs that resolve to loopback, private,
        # link-local or other non-public addresses are refused unless this is true
        # (default: DEBUG, so a developer can receive on localhost).
        "WEBHOOK_ALLOW_PRIVATE": env.bool("MOTCUA_WEBHOOK_ALLOW_PRIVATE", default=DEBUG),
        # A subscription is paused after this many deliveries in a row failed for good.
        "WEBHOOK_PAUSE_AFTER": env.int("MOTCUA_WEBHOOK_PAUSE_AFTER", default=5),
        # Seconds to connect, and to wait for the answer, at each POST.
        "WEBHOOK_CONNECT_TIMEOUT": env.float("MOTCUA_WEBHOOK_CONNECT_TIMEOUT", default=5.0),
        "WEBHOOK_READ_TIMEOUT": env.float("MOTCUA_WEBHOOK_READ_TIMEOUT", default=10.0),
        # Seconds for the whole POST, connecting to the last byte of the answer: a
        # receiver trickling its answer byte by byte is cut off then (the attempt fails).
        "WEBHOOK_TOTAL_TIMEOUT": env.float("MOTCUA_WEBHOOK_TOTAL_TIMEOUT", default=30.0),
        # A delivery "sending" for longer than this was left by a worker that died: it is
        # posted again, under the same delivery id. Keep it above the total timeout.
        "WEBHOOK_STUCK_SECONDS": env.int("MOTCUA_WEBHOOK_STUCK_SECONDS", default=120),
        # Days a delivered webhook delivery (and its attempts) is kept; a failed one is
        # kept longer, to be replayed (api.services.api_records_prune, daily).
        "WEBHOOK_DELIVERED_DAYS": env.int("MOTCUA_WEBHOOK_DELIVERED_DAYS", default=30),
        "WEBHOOK_FAILED_DAYS": env.int("MOTCUA_WEBHOOK_FAILED_DAYS", default=180),
    },
    # Result templates live in templates/documents/results/<name>.html.
    "RESULT_TEMPLATE_DIR": "documents/results",
    # Generated papers and signatures (documents app). make_dev_pki writes a local CA,
    # seals and a demo signer under var/pki; production names its real trust roots (the
    # national root CA and the licensed CAs under it) and mounts its seal directory.
    "DOCUMENTS": {
        # PEM files of the CAs whose signatures the verification page calls trusted.
        "TRUST_ROOTS": env.list("MOTCUA_TRUST_ROOTS", default=[str(VAR_DIR / "pki" / "ca.pem")]),
        # Officials' own certificates: "pkcs12" (uploaded file + password at each signature).
        "SIGNER_BACKEND": env.str("MOTCUA_SIGNER_BACKEND", default="pkcs12"),
        # Organisation seals: "seal-directory" reads <SEAL_DIR>/<agency code>.p12.
        "SEAL_BACKEND": env.str("MOTCUA_SEAL_BACKEND", default="seal-directory"),
        "SEAL_DIR": env.str("MOTCUA_SEAL_DIR", default=str(VAR_DIR / "pki" / "seals")),
        "SEAL_PASSWORD": env.str("MOTCUA_SEAL_PASSWORD", default=DEV_SEAL_PASSWORD),
        # The development CA's revocation list, written into the certificates make_dev_pki
        # issues; empty: SITE_URL + /pki/ca.crl (documents/revocation.py). Other CAs' lists
        # are fetched from their certificates' distribution points, CRL_TIMEOUT s each.
        "CRL_URL": env.str("MOTCUA_CRL_URL", default=""),
        "CRL_TIMEOUT": env.float("MOTCUA_CRL_TIMEOUT", default=5.0),
        # An RFC 3161 timestamp server; empty: signatures carry the signer's clock only.
        "TIMESTAMP_URL": env.str("MOTCUA_TIMESTAMP_URL", default=""),
        # Verification page and downloads by code: per client address.
        "VERIFY_RATE": env.str("MOTCUA_VERIFY_RATE", default="20/m"),
        "CHECK_MAX_BYTES": env.int("MOTCUA_CHECK_MAX_BYTES", default=20 * 1024 * 1024),
    },
}

# --- National connections (connectors/, README "National connections") -------------------
# Each connector's BACKEND names a registered adapter; empty switches it off. Under DEBUG,
# with nothing configured, each one uses its sandbox at SANDBOX_HOST:SANDBOX_PORT + its
# offset (identity 0, population 1, national_portal 2, payment 3), which `make run` starts
# (manage.py run_sandboxes). Outside DEBUG nothing is on until the deployment configures it.
SANDBOX_HOST = env.str("MOTCUA_SANDBOX_HOST", default="127.0.0.1")
SANDBOX_PORT = env.int("MOTCUA_SANDBOX_PORT", default=8490)


def sandbox_url(offset: int) -> str:
    return f"http://{SANDBOX_HOST}:{SANDBOX_PORT + offset}"


MOTCUA["CONNECTORS"] = {
    # National sign-in (VNeID through the national portal's single sign-on): #15 item 1.
    # OpenID Connect, code flow with PKCE (connectors.identity); the claim names are the
    # deployment interface's (unverified). Off when SERVER_URL or CLIENT_ID is empty.
    "identity": {
        "BACKEND": "oidc",
        "SERVER_URL": env.str(
            "MOTCUA_IDENTITY_SERVER_URL", default=sandbox_url(0) if DEBUG else ""
        ),
        "CLIENT_ID": env.str(
            "MOTCUA_IDENTITY_CLIENT_ID", default="motcua-sandbox" if DEBUG else ""
        ),
        "CLIENT_SECRET": env.str(
            "MOTCUA_IDENTITY_CLIENT_SECRET", default="motcua-sandbox-secret" if DEBUG else ""
        ),
        "NAME": env.str("MOTCUA_IDENTITY_NAME", default="VNeID"),
        "SCOPE": env.list("MOTCUA_IDENTITY_SCOPE", default=["openid", "profile", "email"]),
        "ID_NUMBER_CLAIM": env.str("MOTCUA_IDENTITY_ID_NUMBER_CLAIM", default="citizen_id"),
        "LEVEL_CLAIM": env.str("MOTCUA_IDENTITY_LEVEL_CLAIM", default="identity_level"),
        # Accounts below this VNeID level are refused (1: any; 2: ID number, password, OTP).
        "MIN_LEVEL": env.int("MOTCUA_IDENTITY_MIN_LEVEL", default=1),
        "TIMEOUT": env.float("MOTCUA_IDENTITY_TIMEOUT", default=10.0),
    },
    # The national population register (prefill): #15 item 2 (connectors.population).
    # BACKEND "national" is the one adapter; URL is the register's base address and TOKEN
    # the bearer token the deployment obtains; TIMEOUT in seconds, after which the citizen
    # fills the form by hand. Under DEBUG: the sandbox (offset 1) and its token.
    "population": {
        "BACKEND": env.str("MOTCUA_POPULATION_BACKEND", default="national" if DEBUG else ""),
        "URL": env.str("MOTCUA_POPULATION_URL", default=sandbox_url(1) if DEBUG else ""),
        "TOKEN": env.str(
            "MOTCUA_POPULATION_TOKEN", default="sandbox-population-token" if DEBUG else ""
        ),
        "TIMEOUT": env.float("MOTCUA_POPULATION_TIMEOUT", default=3.0),
    },
    # Status sync to the national public service portal: #15 item 3.
    "national_portal": {},
    # Online fees through the national payment platform: #15 item 4 (connectors.payment,
    # README "Online payment"). Under DEBUG with no backend set: the sandbox (its secret is
    # the sandbox's own); outside DEBUG off until configured, and citizens pay at the desk.
    "payment": {
        "BACKEND": env.str("MOTCUA_PAYMENT_BACKEND", default="national" if DEBUG else ""),
        "URL": env.str("MOTCUA_PAYMENT_URL", default=sandbox_url(3) if DEBUG else ""),
        "PARTNER_CODE": env.str("MOTCUA_PAYMENT_PARTNER_CODE", default="MOTCUA" if DEBUG else ""),
        "SECRET": env.str("MOTCUA_PAYMENT_SECRET", default="sandbox-secret" if DEBUG else ""),
        "TREASURY_ACCOUNT": env.str(
            "MOTCUA_PAYMENT_TREASURY_ACCOUNT", default="7111-0000-DEMO" if DEBUG else ""
        ),
        "VERSION": env.str("MOTCUA_PAYMENT_VERSION", default="1.0.6"),
        "TIMEOUT": env.float("MOTCUA_PAYMENT_TIMEOUT", default=10.0),
        # Reconciliation asks the platform about attempts pending longer than this; after
        # EXPIRE_HOURS an attempt it still does not know as paid is closed as failed.
        "PENDING_MINUTES": env.int("MOTCUA_PAYMENT_PENDING_MINUTES", default=15),
        "EXPIRE_HOURS": env.int("MOTCUA_PAYMENT_EXPIRE_HOURS", default=24),
    },
}

# The national public service portal (connectors/national_portal, README "National public
# service portal"): each status change pushed through the outbox. Under DEBUG with no URL
# given, the sandbox with its own credentials; outside DEBUG, off until a URL is set.
# AUTH "token": an access token from TOKEN_PATH with CLIENT_ID/CLIENT_SECRET (client
# credentials); "key": API_KEY sent in KEY_HEADER. Paths and field names are unverified.
_portal_url = env.str("MOTCUA_NATIONAL_PORTAL_URL", default="")
_portal_sandbox = DEBUG and not _portal_url
MOTCUA["CONNECTORS"]["national_portal"] = {
    "BACKEND": "national" if (_portal_url or _portal_sandbox) else "",
    "URL": sandbox_url(2) if _portal_sandbox else _portal_url,
    "AUTH": env.str("MOTCUA_NATIONAL_PORTAL_AUTH", default="token"),
    "TOKEN_PATH": env.str("MOTCUA_NATIONAL_PORTAL_TOKEN_PATH", default="/token"),
    "PUSH_PATH": env.str("MOTCUA_NATIONAL_PORTAL_PUSH_PATH", default="/dossiers/sync"),
    "CLIENT_ID": "motcua-sandbox"
    if _portal_sandbox
    else env.str("MOTCUA_NATIONAL_PORTAL_CLIENT_ID", default=""),
    "CLIENT_SECRET": "sandbox-secret"  # noqa: S105 - the sandbox's own, never a real one
    if _portal_sandbox
    else env.str("MOTCUA_NATIONAL_PORTAL_CLIENT_SECRET", default=""),
    "API_KEY": env.str("MOTCUA_NATIONAL_PORTAL_API_KEY", default=""),
    "KEY_HEADER": env.str("MOTCUA_NATIONAL_PORTAL_KEY_HEADER", default="X-Api-Key"),
    "TIMEOUT": env.float("MOTCUA_NATIONAL_PORTAL_TIMEOUT", default=10.0),
    # A push "sending" longer than this was left by a dead worker: taken up again.
    "STUCK_SECONDS": env.int("MOTCUA_NATIONAL_PORTAL_STUCK_SECONDS", default=300),
    # Portal field names, by motcua's name (connectors/national_portal/fields.py): only
    # those that differ from the defaults, e.g. {"dossier_code": "MaHoSoQG"}.
    "FIELDS": env.json("MOTCUA_NATIONAL_PORTAL_FIELDS", default={}),
}
# National sign-in through allauth (connectors.identity): the provider made strict, its one
# app read from MOTCUA["CONNECTORS"]["identity"] by the adapter (never the database), a new
# citizen signed up without a form (e-mail optional, confirmed by mail when given), PKCE on.
SOCIALACCOUNT_ADAPTER = "portal.identity.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "provider_class": "connectors.identity.provider.NationalIdentityProvider",
        "OAUTH_PKCE_ENABLED": True,
    }
}
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "optional"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = MOTCUA["CONNECTORS"]["identity"]["TIMEOUT"]
# The national sign-in button and the "pay online" button post to motcua, which redirects
# the browser to the identity server or the payment platform: browsers apply form-action to
# that redirect, so those servers' origins are allowed there.
from urllib.parse import urlsplit as _urlsplit  # noqa: E402

for _url in (
    MOTCUA["CONNECTORS"]["identity"]["SERVER_URL"],
    MOTCUA["CONNECTORS"]["payment"]["BACKEND"] and MOTCUA["CONNECTORS"]["payment"]["URL"],
):
    if _url:
        _origin = _urlsplit(_url)
        CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(
            f"{_origin.scheme}://{_origin.netloc}"
        )


# --- Integration API (api/) --------------------------------------------------------------------
# Keys only (no session, so no CSRF): a browser's cookies never authorise an API call.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ClientRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.SafeJSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "api.errors.problem_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "motcua API",
    "DESCRIPTION": (
        "The integration API of motcua: the catalog of administrative procedures, dossiers "
        "submitted on behalf of applicants, their status (with the national public service "
        "portal's status code), results, event subscriptions (webhooks) and statistics. "
        "Every call carries `Authorization: Bearer <key>`; errors are RFC 9457 problem "
        "details in Vietnamese or English (Accept-Language)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "WebhookEventKindEnum": "api.models.EventKind",
        "WebhookDeliveryStatusEnum": "api.models.DeliveryStatus",
        "WebhookSubscriptionStatusEnum": "api.models.SubscriptionStatus",
    },
    "SCHEMA_PATH_PREFIX": "/api/v1",
}
