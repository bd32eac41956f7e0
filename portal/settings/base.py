"""Settings shared by every environment. Values come from the environment (env.py)."""

from pathlib import Path

from csp.constants import NONCE, NONE, SELF
from kombu import Queue

from portal.settings.env import env

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# `seed_demo` (a public-password superuser and made-up organizations) refuses to
# run unless this is on: dev.py and test.py turn it on, production leaves it off
# (the demo Compose profile sets DEMO_DATA_ALLOWED=True on purpose).
DEMO_DATA_ALLOWED = env.bool("DEMO_DATA_ALLOWED", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "formtools",
    "django_ratelimit",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",  # "Your sessions" (tenants.sessions)
    "allauth.socialaccount",  # single sign-on (docs/security.md)
    "allauth.socialaccount.providers.openid_connect",
    # Domain apps, from the core upwards (STYLE.md: apps import downwards; the
    # layers are checked by import-linter, docs/architecture.md).
    "core",
    "tenants",
    "catalog",
    "partners",
    "customers",
    "subscriptions",
    "billing",
    "amendments",
    "tenders",
    "imports",
    "offers",
    "resale",
    "upsell",
    "webhooks",
    "portal",
]

MIDDLEWARE = [
    # first: every answer, and every log line of the request, carries its id
    "portal.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # /livez, /readyz, /healthz: answered here, with the security headers above
    # and before the session, the user or anything that reaches a dependency
    # (docs/operations.md)
    "portal.health.ProbeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.i18n.UserLanguageMiddleware",
    "tenants.audit.AuditRequestMiddleware",
    # before anything reads a body (issue 21): 413 for one larger than its route takes
    "portal.request_size.RequestSizeLimitMiddleware",
    "portal.api.filters.RefuseNulMiddleware",
    "portal.idempotency.IdempotencyKeyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # a page needing the provider before `setup_platform` ran: a page naming it, not a 500
    "portal.setup_required.PlatformNotSetUpMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # records each signed-in session's IP, browser and last activity (tenants.sessions)
    "tenants.sessions.SessionActivityMiddleware",
    # after the session and the user: a member who must use two-factor
    # authentication and has none sets it up first (tenants.mfa, SPEC §1)
    "tenants.mfa.MfaEnrolmentMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.portal",
                "portal.context_processors.updates_badge",
            ],
            # Loaded after Django's own: its `date` writes the house formats
            # ("j M Y", …) the active language's way (portal/templatetags/portal_dates.py).
            "builtins": ["portal.templatetags.portal_dates"],
        },
    },
]

# Database: DATABASE_URL (postgres://… for the real stack), SQLite by default.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles large statements (the smart lists' correlated
    # subqueries) for seconds before running them in milliseconds; the portal's
    # queries are short, so it costs far more than it saves (bench/README.md).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has one writer: take the write lock when a transaction begins and wait
    # for it, so concurrent writes queue up instead of failing ("database is locked").
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# Redis is a cache, never a single point of failure (docs/reliability.md): the
# cache client gives up on a connection after REDIS_CONNECT_TIMEOUT seconds and
# on an answer after REDIS_SOCKET_TIMEOUT (redis-py's default is 5 s each), and
# the code that uses it then goes on without it (the throttle lets the request
# through, a cached figure is computed from the database).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.5)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
REDIS_CACHE_OPTIONS = {
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}

if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, one redis-py client per pool (core/cache.py)
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Without Redis (`make run`, the tests) there is one process, whose memory
    # cache is shared by every request it serves: rate limits count correctly.
    # With several processes, REDIS_URL gives them one cache (docker compose, prod).
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003"]
# django-ratelimit lists django-redis, not Django's own RedisCache, as supported;
# it needs an atomic `incr`, which Django's RedisCache gives (Redis INCR).
SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "django_ratelimit.W001"]

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: email is the login; sign-up happens by invitation only
# (tenants.adapters.InvitationOnlyAccountAdapter).
ACCOUNT_ADAPTER = "tenants.adapters.InvitationOnlyAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
# Sensitive actions (SPEC §1; tenants.reauthentication): on a page, a password
# typed on allauth's re-authentication page is good for this long; in the API,
# the password comes with each request. After REAUTH_MAX_FAILURES wrong ones,
# each within REAUTH_LOCKOUT_SECONDS of the last, confirming is locked (429)
# until REAUTH_LOCKOUT_SECONDS after the last.
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
REAUTH_MAX_FAILURES = 5
REAUTH_LOCKOUT_SECONDS = 15 * 60
# Two-factor authentication (SPEC §1 rev. 2; docs/security.md, "Sign-in"):
# authenticator apps (TOTP), passkeys and security keys (WebAuthn) and
# recovery codes, managed on "Your profile"; the login asks for the second
# factor, and a passkey alone signs in (it is both factors). A wrong code counts
# against ACCOUNT_RATE_LIMITS["login_failed"], at sign-in and when confirming a
# sensitive action alike.
MFA_ADAPTER = "tenants.mfa.PortalMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "Partner Portal"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=False)
# Partner organizations and the provider require two-factor authentication of
# every member (their members act inside customers' accounts); a customer's
# owner may require it of theirs (Tenant.mfa_required). Off only for local demo
# work (`make run`) and in the tests that sign in without it.
MFA_REQUIRED_FOR_PARTNERS = env.bool("MFA_REQUIRED_FOR_PARTNERS", default=True)
# Sessions (tenants.sessions, docs/security.md "Sessions"): a session's last
# activity is recorded at most once every SESSION_ACTIVITY_PRECISION_SECONDS.
USERSESSIONS_TRACK_ACTIVITY = True
SESSION_ACTIVITY_PRECISION_SECONDS = env.int("SESSION_ACTIVITY_PRECISION_SECONDS", default=300)
# Single sign-on (issue 24; docs/security.md, "Single sign-on"): an organization
# connects its own OpenID Connect provider (a SocialApp row made by
# tenants.sso); the first sign-in links only an existing or invited member, never
# signs anyone up; the provider vouches for addresses of the domains it holds.
SOCIALACCOUNT_ADAPTER = "tenants.sso.SsoSocialAccountAdapter"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_STORE_TOKENS = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Partner Portal] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"

# Security headers on every response (issue 10; prod.py adds HSTS and secure
# cookies). The Content-Security-Policy (django-csp) runs only this site's own
# scripts and styles: no inline script or handler in a template (portal.js hosts
# them; tests/test_security_headers.py scans for them), a nonce only on a page that
# asks for one (the Swagger UI). Images may be data: URIs (Pico's and Swagger UI's
# icons). Forms post only here; "Buy now" leaves by a link, which is not a form.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
# The health probes come over plain http, by IP, from inside the deployment
# (docs/operations.md): never redirected to https (prod.py's SECURE_SSL_REDIRECT).
SECURE_REDIRECT_EXEMPT = [r"^(livez|readyz|healthz)$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

# Email: console in development, SMTP (e.g. the compose mail catcher) when EMAIL_URL is set.
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
    )
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Partner Portal <no-reply@partner-portal.local>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# English, Italian and German (docs/i18n.md). A browser asking for de-CH or it-CH
# gets the Swiss formats (CHF 1'234.50, portal/formats/) with the de or it texts.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("de-ch", "Deutsch (Schweiz)"),
    ("it", "Italiano"),
    ("it-ch", "Italiano (Svizzera)"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Zurich")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "media"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON in (API.md); the upload views name their multipart parser themselves.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.throttling.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_THROTTLE_USER", default="2000/hour")},
    "COERCE_DECIMAL_TO_STRING": True,
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "portal.api.filters.StrictContentNegotiation",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Partner Portal API",
    "DESCRIPTION": (
        "REST API for integrators. Every request acts in one organization: the API token's "
        "own, or for a browser session the `X-Tenant` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # No validator badge: it would load an image from swagger.io (refused by the CSP).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    # Two choice sets named `action`: an import row's keeps its name, an audit
    # event's (tenants.AuditEvent) gets its own.
    "ENUM_NAME_OVERRIDES": {
        "ActionEnum": ["create", "update"],
        "AuditActionEnum": "tenants.models.AuditEvent.Action",
        "SubscriptionChangeKindEnum": "subscriptions.models.SubscriptionChange.Kind",
        "TenantKindEnum": "tenants.models.Tenant.Kind",
        # Named once webhooks' `type` and `status` enums joined the schema: the
        # contract's type and the organization's status kept their names then.
        "TypeEnum": "customers.models.Contract.Type",
        "StatusEnum": "tenants.models.Tenant.Status",
        "WebhookEventTypeEnum": "webhooks.serializers.EVENT_CHOICES",
        "WebhookDeliveryStatusEnum": "webhooks.models.WebhookDelivery.Status",
        # the provider's invoices and the partners' (resale) name the same rules
        "VatTreatmentEnum": "billing.vat.Treatment",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.document_api",
    ],
}

# The sweepers re-enqueue an email still pending, or an offer still waiting, this
# long after it was queued (its message or its worker was lost); beat runs them
# this often. At 60 s / 30 s a lost broker is recovered from within five minutes
# (`make chaos`); a message that was only slow is then queued twice, and the
# second task finds nothing left to do.
SWEEP_AFTER_SECONDS = env.int("SWEEP_AFTER_SECONDS", default=60)
SWEEP_EVERY_SECONDS = env.float("SWEEP_EVERY_SECONDS", default=30.0)
# How often the partners' books fold the customers writes marked pending.
BOOKS_FOLD_EVERY_SECONDS = env.float("BOOKS_FOLD_EVERY_SECONDS", default=10.0)

# Celery: Redis when REDIS_URL is set; otherwise tasks run eagerly in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Publishing (a write's after-commit enqueue, beat) to a Redis that stalls or is
# gone: kombu's Redis transport waits for ever by default. Each attempt gives up
# after REDIS_CONNECT_TIMEOUT / REDIS_SOCKET_TIMEOUT (0.5 s), and one retry at
# once, so a request's thread is held about 1 s at most, not for the stall; the
# work stays recorded (an email `pending`, an offer `waiting`) for beat's
# sweepers (docs/reliability.md). A worker's BRPOP reads only once Redis has
# answered, so the socket timeout does not cut its 1 s poll short.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# The worker's own connection (not a publish): it reconnects after an outage,
# at startup too, up to Celery's default of 100 attempts, as before.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = 100
CELERY_TIMEZONE = TIME_ZONE
# The worker logs through LOGGING above (UTC, ISO 8601), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Webhook deliveries have a queue of their own, so that a long fan-out or any
# other task queued before them does not hold them up (docs/operations.md,
# "Scaling web and workers"). A worker started without -Q consumes both queues;
# `-Q webhooks` makes a worker for the deliveries alone.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("webhooks"))
CELERY_TASK_ROUTES = {
    "webhooks.tasks.deliver": {"queue": "webhooks"},
    "webhooks.tasks.deliver_many": {"queue": "webhooks"},
}
CELERY_BEAT_SCHEDULE = {
    "sweep-pending-emails": {
        "task": "tenants.tasks.sweep_pending_emails",
        "schedule": SWEEP_EVERY_SECONDS,
    },
    "expire-partnerships": {"task": "partners.tasks.expire_partnerships", "schedule": 900.0},
    "remind-partnerships-ending": {
        "task": "partners.tasks.remind_partnerships_ending",
        "schedule": 3600.0,
    },
    "sweep-import-jobs": {"task": "partners.tasks.sweep_import_jobs", "schedule": 300.0},
    "place-renewals": {"task": "billing.tasks.place_renewals", "schedule": 3600.0},
    "purge-idempotency-keys": {
        "task": "portal.tasks.purge_idempotency_records",
        "schedule": 3600.0,
    },
    "sweep-waiting-offers": {
        "task": "offers.tasks.sweep_waiting_offers",
        "schedule": SWEEP_EVERY_SECONDS,
    },
    "expire-offers": {"task": "offers.tasks.expire_offers", "schedule": 900.0},
    # The partners' invoices to their customers for the month just ended: hourly,
    # each (partner, customer, month) issued once whatever the reruns (resale.tasks).
    "issue-partner-invoices": {"task": "resale.tasks.issue_partner_invoices", "schedule": 3600.0},
    "sweep-webhooks": {"task": "webhooks.tasks.sweep", "schedule": SWEEP_EVERY_SECONDS},
    "purge-webhook-events": {"task": "webhooks.tasks.purge", "schedule": 3600.0},
    # The customers a write marked pending, counted into the partners' books
    # (subscriptions.books): readers count them from the ledger until then.
    "fold-book-shares": {
        "task": "subscriptions.tasks.fold_book_shares",
        "schedule": BOOKS_FOLD_EVERY_SECONDS,
    },
}

# Webhooks (SPEC §8, docs/webhooks.md). Loopback, private and link-local targets
# (and plain http) only where this is on: the test and dev settings.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
# A delivery is retried this long (at least three days), with the same webhook-id.
WEBHOOKS_RETRY_FOR_SECONDS = env.int("WEBHOOKS_RETRY_FOR_SECONDS", default=3 * 24 * 3600)
# An endpoint whose every delivery failed this long is disabled, its owners emailed.
WEBHOOKS_DISABLE_AFTER_SECONDS = env.int("WEBHOOKS_DISABLE_AFTER_SECONDS", default=3 * 24 * 3600)
# After a rotation the previous secret signs beside the new one this long.
WEBHOOKS_SECRET_OVERLAP_SECONDS = env.int("WEBHOOKS_SECRET_OVERLAP_SECONDS", default=24 * 3600)
# Events and their delivery logs are kept this long.
WEBHOOKS_KEEP_DAYS = env.int("WEBHOOKS_KEEP_DAYS", default=30)

# Request bodies (docs/security.md, "Request size"). A form or JSON body is at
# most DATA_UPLOAD_MAX_MEMORY_SIZE (Django refuses a larger one when it reads
# it); an uploaded file larger than FILE_UPLOAD_MAX_MEMORY_SIZE is spooled to a
# temporary file instead of memory. Before either is read, a body announcing
# more than REQUEST_BODY_MAX_BYTES is answered 413 unread
# (portal.request_size), except on the upload routes, which take their file's
# limit (a logo 256 KB, an import 10 MB) and its envelope.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # 2.5 MB, Django's default, stated
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
REQUEST_BODY_MAX_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE

# Tenancy
API_TOKEN_LAST_USED_PRECISION_SECONDS = 60
INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=14)

# API: an Idempotency-Key is remembered this long (API.md; at least 24 hours).
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)

# Billing: renewals missed while the job was down are placed up to this many days late.
RENEWAL_CATCH_UP_DAYS = env.int("RENEWAL_CATCH_UP_DAYS", default=7)

# Offers: unanswered offers expire after this many days; a delivery is retried
# this many times (with backoff) before the offer ends `failed`.
OFFER_EXPIRY_DAYS = env.int("OFFER_EXPIRY_DAYS", default=30)
OFFER_DELIVERY_MAX_RETRIES = env.int("OFFER_DELIVERY_MAX_RETRIES", default=5)

# Logs (docs/reliability.md): every line in UTC, ISO 8601, with the request id
# of the request it belongs to ("-" outside one); prod.py writes JSON lines.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {
            "()": "portal.logs.UtcFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "portal.logs.JsonLinesFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
