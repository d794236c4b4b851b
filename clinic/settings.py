"""Settings for the clinic project.

Every value is read from the environment through django-environ. Production
fails closed: DEBUG is off unless set to true, and then SECRET_KEY must be set
and texts go through Twilio. With DEBUG=true (`make run` sets it; the tests use
clinic.settings_test) the defaults suit a laptop: SQLite, eager Celery, mail and
SMS to the console, a development key. The README lists every variable.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for development; production sets real env vars.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The development key is only ever accepted when DEBUG is explicitly on.
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key" if DEBUG else environ.Env.NOTSET)
# Rotating: the new key in SECRET_KEY, the old one here until links signed with it expire.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
# The port `make run` serves on; SITE_URL follows it when SITE_URL is not set, so printed links work.
PORT = env.int("PORT", default=8000)
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "phonenumber_field",
    "django_celery_beat",
    "cookie_consent",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "clinic",
    "privacy",
    "appointments",
    "messaging",
    "payments",
    "waitlist",
    "accounts",
    "clinical_forms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy allowing only the tags the visitor accepted.
    "privacy.csp.ConsentAwareCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Signs staff out after ADMIN_IDLE_TIMEOUT_MINUTES without a request.
    "clinic.middleware.StaffIdleTimeoutMiddleware",
    # Admin times in the zone of the staff member's locations (clinic/timefmt.py).
    "clinic.middleware.StaffTimezoneMiddleware",
    # The admin in English whatever the browser asks (staff work in English).
    "clinic.middleware.StaffEnglishMiddleware",
    # request.user.is_verified(); then staff two-step sign-in when enabled.
    "django_otp.middleware.OTPMiddleware",
    "clinic.twofactor.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "clinic.middleware.DatabaseUnavailableMiddleware",  # database unreachable: the 503 "try again" page, not a 500
    # Deletes cookies of groups the visitor declined or never accepted.
    "cookie_consent.middleware.CleanCookiesMiddleware",
    # Turns a rate-limited request into the friendly 429 page.
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Locks out repeated failed staff logins; last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]

# The base Content-Security-Policy; privacy.csp adds consented tag hosts per request.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "lockout.html"

# Two-step sign-in (TOTP, django-otp) for staff: when on, staff who enrolled an
# authenticator must enter its code, and privacy officers and superusers must enrol.
# On by default in production; STAFF_TWO_FACTOR=false turns it off and `check --deploy` warns.
STAFF_TWO_FACTOR = env.bool("STAFF_TWO_FACTOR", default=not DEBUG)
# A staff session unused this long is signed out (0: never). Client sessions are not affected.
ADMIN_IDLE_TIMEOUT_MINUTES = env.int("ADMIN_IDLE_TIMEOUT_MINUTES", default=30)
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # not even a superuser sees someone's authenticator key

# Rate limits (django-ratelimit, on the shared cache: Redis in production).
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_VIEW = "clinic.views.rate_limited"
# Behind a proxy, the client's address is the entry our own proxies appended to
# X-Forwarded-For (counted from the right), never one the client could have sent.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if env.bool("BEHIND_TLS_PROXY", default=False) else 0)
RATELIMIT_IP_META_KEY = "clinic.ratelimits.client_ip"
AXES_CLIENT_IP_CALLABLE = "clinic.ratelimits.client_ip"
RATE_LIMITS = {
    "booking": env("RATE_LIMIT_BOOKING", default="20/m"),
    "appointment_change": env("RATE_LIMIT_APPOINTMENT_CHANGE", default="20/m"),
    "privacy_request": env("RATE_LIMIT_PRIVACY_REQUEST", default="10/h"),
    "verification": env("RATE_LIMIT_VERIFICATION", default="30/h"),
    "webhook": env("RATE_LIMIT_WEBHOOK", default="600/m"),
    "sms_sender": env("RATE_LIMIT_SMS_SENDER", default="30/m"),
    "admin_login": env("RATE_LIMIT_ADMIN_LOGIN", default="30/m"),
    "two_factor": env("RATE_LIMIT_TWO_FACTOR", default="10/m"),
    "calendar_feed": env("RATE_LIMIT_CALENDAR_FEED", default="30/m"),
    # Client account sign-in: asking for a link or code, per IP and per address asked for.
    "account_sign_in": env("RATE_LIMIT_ACCOUNT_SIGN_IN", default="20/h"),
    "account_sign_in_address": env("RATE_LIMIT_ACCOUNT_SIGN_IN_ADDRESS", default="5/h"),
}

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

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
                "clinic.context_processors.clinic",
                "privacy.context_processors.tracking",
            ],
        },
    },
    {
        # Plain-text email bodies (clinic/plain_text.py): no HTML escaping.
        "NAME": "plain_text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"autoescape": False},
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes SQLite's write lock at BEGIN, so the booking service's
    # check-then-insert is serialised there just as row locks do on PostgreSQL.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    # A file, not memory, so tests with several threads share one database;
    # one per test run, so two runs at once do not trample each other.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: opening one costs a PostgreSQL backend process, 5-20 ms on this machine, more
# than most requests. Checked before reuse, so a connection the server dropped is replaced, not an error.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="America/Los_Angeles")
USE_I18N = True
USE_TZ = True
# The admin's one time format, "Tue 1 Dec 2026, 10:00 AM PST" (clinic/timefmt.py).
FORMAT_MODULE_PATH = ["clinic.formats"]
# The visitor's language: chosen with the chooser on every public page (Django's
# set_language view, remembered in this cookie), else the browser's Accept-Language,
# else LANGUAGE_CODE. The admin stays in English. A client's language is remembered on
# the client (Client.language) for their texts and emails. Adding one: README "Languages".
LANGUAGE_COOKIE_NAME = "language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Mail: consolemail:// locally; smtp+tls://user:pass@host:587 in production.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
if env("EMAIL_URL", default="").startswith("filemail:"):
    # django-environ drops the leading "/" of filemail:///abs/path: keep the path as written.
    _mail_url = urlsplit(env("EMAIL_URL"))
    EMAIL_FILE_PATH = _mail_url.netloc + _mail_url.path
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="California Aesthetics <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Redis backs Celery and, when set, the cache (rate limits share it across hosts): django-redis,
# one client and connection pool per process.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that stops answering must not hang web requests (rate limits fail open).
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# django-cookie-consent reads its cookie groups from a cache on every request: per process, as
# objects (no unpickling), and for at most a minute, so a change in the admin reaches every process.
CACHES["cookie_consent"] = {"BACKEND": "clinic.cache.ProcessObjectCache", "TIMEOUT": 60}
# Template fragments that are the same for every visitor and change only with a deploy (the blank booking
# form's fields): per process, so a new release never serves a fragment of the one before.
CACHES["fragments"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"}
COOKIE_CONSENT_CACHE_BACKEND = "cookie_consent"
COOKIE_CONSENT_LOG_ENABLED = False  # choices go to our own consent ledger instead
COOKIE_CONSENT_SECURE = not DEBUG
COOKIE_CONSENT_SAMESITE = "Lax"
# Tag ids; with none set, no analytics or advertising tag is ever rendered.
GA_MEASUREMENT_ID = env("GA_MEASUREMENT_ID", default="")
GTM_CONTAINER_ID = env("GTM_CONTAINER_ID", default="")
META_PIXEL_ID = env("META_PIXEL_ID", default="")

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
# Without a broker, tasks run in-process so `make run` needs no services.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# Workers log through LOGGING (below) (masked, plain or JSON), not Celery's own handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A web request that queues work must not hang while Redis is down: give up
# after ~1 s and leave the work to its sweeper (clinic/queueing.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    # A task taken by a worker that died before acknowledging it goes back to the
    # queue after this many seconds; keep it above the longest task and retry countdown.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

PHONENUMBER_DEFAULT_REGION = env("PHONENUMBER_DEFAULT_REGION", default="US")
PHONENUMBER_DB_FORMAT = "E164"

# Key for the one-way hashes on suppression lists. Set it explicitly (and keep
# it) in production: it must survive SECRET_KEY rotation, or opt-outs are lost.
CONTACT_HASH_KEY = env("CONTACT_HASH_KEY", default="")

# Clinic identity used in notices, emails and SMS.
CLINIC_NAME = env("CLINIC_NAME", default="California Aesthetics")
OTP_TOTP_ISSUER = CLINIC_NAME  # the name staff see in their authenticator app
# Branding of the public pages (clinic/branding.py checks them at start-up). Logo and favicon are
# paths under static/ (the Content-Security-Policy allows images from this site only); empty: none.
CLINIC_LOGO = env("CLINIC_LOGO", default="img/logo.svg")
CLINIC_FAVICON = env("CLINIC_FAVICON", default="img/favicon.svg")
# Colours as #rrggbb: the accent (links, buttons) and the text on accent-coloured buttons.
CLINIC_ACCENT_COLOR = env("CLINIC_ACCENT_COLOR", default="#7a3e65")
CLINIC_ACCENT_TEXT_COLOR = env("CLINIC_ACCENT_TEXT_COLOR", default="#ffffff")
# The search engines' summary of a page that has no description of its own.
CLINIC_DESCRIPTION = env(
    "CLINIC_DESCRIPTION",
    default=f"{CLINIC_NAME}: book injectables, facials and laser treatments online, no account needed.",
)

# Booking rules (defaults per the foundation issue).
BOOKING_MIN_NOTICE_MINUTES = env.int("BOOKING_MIN_NOTICE_MINUTES", default=120)
BOOKING_HORIZON_DAYS = env.int("BOOKING_HORIZON_DAYS", default=60)
BOOKING_SLOT_GRID_MINUTES = env.int("BOOKING_SLOT_GRID_MINUTES", default=15)
BOOKING_CHANGE_CUTOFF_HOURS = env.int("BOOKING_CHANGE_CUTOFF_HOURS", default=24)
# A manage link stops working this many days after the appointment ends.
BOOKING_MANAGE_LINK_DAYS_AFTER = env.int("BOOKING_MANAGE_LINK_DAYS_AFTER", default=30)

# Client accounts (accounts app): how long a sign-in link or code works, and a signed-in session at most.
ACCOUNT_SIGN_IN_LINK_MINUTES = env.int("ACCOUNT_SIGN_IN_LINK_MINUTES", default=20)
ACCOUNT_SIGN_IN_CODE_MINUTES = env.int("ACCOUNT_SIGN_IN_CODE_MINUTES", default=10)
ACCOUNT_SESSION_HOURS = env.int("ACCOUNT_SESSION_HOURS", default=12)

# How long a preference-center link works.
PREFERENCE_LINK_MAX_AGE_DAYS = env.int("PREFERENCE_LINK_MAX_AGE_DAYS", default=30)

# Privacy requests: "strictest" (default: one month, the GDPR clock), "gdpr" or "ccpa" (45 days).
PRIVACY_REGIME = env("PRIVACY_REGIME", default="strictest")
PRIVACY_VERIFICATION_HOURS = env.int("PRIVACY_VERIFICATION_HOURS", default=72)
PRIVACY_ERASURE_DAYS = env.int("PRIVACY_ERASURE_DAYS", default=14)
PRIVACY_SMS_CODE_MINUTES = env.int("PRIVACY_SMS_CODE_MINUTES", default=15)
PRIVACY_EXPORT_LINK_HOURS = env.int("PRIVACY_EXPORT_LINK_HOURS", default=48)
PRIVACY_DUE_SOON_DAYS = env.int("PRIVACY_DUE_SOON_DAYS", default=7)
# Digest recipients when no Privacy officer user has an email address.
PRIVACY_DIGEST_EMAILS = env.list("PRIVACY_DIGEST_EMAILS", default=[])
# Retention (see privacy/retention.py and the README).
RETENTION_SMS_BODY_DAYS = env.int("RETENTION_SMS_BODY_DAYS", default=365)
RETENTION_UNVERIFIED_REQUEST_DAYS = env.int("RETENTION_UNVERIFIED_REQUEST_DAYS", default=30)
RETENTION_INACTIVE_CLIENT_YEARS = env.int("RETENTION_INACTIVE_CLIENT_YEARS", default=7)
# How long database backups are kept: erasure tombstones are needed only while an older backup could be restored.
BACKUP_RETENTION_DAYS = env.int("BACKUP_RETENTION_DAYS", default=35)

# Production hardening; `manage.py check --deploy` is clean with DEBUG=false.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Text messages (see messaging/backends).
SMS_BACKEND = env(
    "SMS_BACKEND", default="messaging.backends.console.SmsBackend" if DEBUG else "messaging.backends.twilio.SmsBackend"
)
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
# With DEBUG on, a development token lets `manage.py simulate_sms` sign texts to a local server.
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="dev-only-twilio-token" if DEBUG else "")
# Rotating: webhooks signed with one of these are accepted too, so none is lost while Twilio switches.
TWILIO_AUTH_TOKEN_FALLBACKS = env.list("TWILIO_AUTH_TOKEN_FALLBACKS", default=[])
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="https://api.twilio.com")
# True when Twilio Advanced Opt-Out already answers STOP/START/HELP: we then
# record the change but send no second reply.
TWILIO_ADVANCED_OPT_OUT = env.bool("TWILIO_ADVANCED_OPT_OUT", default=False)
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10)
# Reminder offsets for locations without their own rules: 24 h and 2 h before.
SMS_REMINDER_OFFSETS_MINUTES = env.list("SMS_REMINDER_OFFSETS_MINUTES", cast=int, default=[1440, 120])
# A reminder is only sent this long after its due time; later it is skipped as stale.
SMS_REMINDER_GRACE_MINUTES = env.int("SMS_REMINDER_GRACE_MINUTES", default=60)
# TCPA quiet hours: texts only between these local hours [start, end).
SMS_SEND_WINDOW_START_HOUR = env.int("SMS_SEND_WINDOW_START_HOUR", default=8)
SMS_SEND_WINDOW_END_HOUR = env.int("SMS_SEND_WINDOW_END_HOUR", default=21)
# Messages per second per sender number, across all workers.
SMS_SEND_RATE_PER_SECOND = env.int("SMS_SEND_RATE_PER_SECOND", default=10)
SMS_MAX_ATTEMPTS = env.int("SMS_MAX_ATTEMPTS", default=6)
# First retry delay after a transient send error (429, 5xx, network); doubles per attempt, capped at 10 minutes.
SMS_RETRY_BACKOFF_SECONDS = env.float("SMS_RETRY_BACKOFF_SECONDS", default=5)
# A message stuck "handed to provider" this long is given up on, never resent.
SMS_SENDING_TIMEOUT_MINUTES = env.int("SMS_SENDING_TIMEOUT_MINUTES", default=15)
# Queued messages whose task was lost are re-enqueued after this long.
SMS_REQUEUE_AFTER_MINUTES = env.int("SMS_REQUEUE_AFTER_MINUTES", default=5)
# SMS pumping: texts go only to numbers of these countries (ISO 3166 codes the phone library knows).
SMS_ALLOWED_COUNTRIES = [code.strip().upper() for code in env.list("SMS_ALLOWED_COUNTRIES", default=["US", "CA"])]


def _check_sms_countries(codes):
    import phonenumbers
    from django.core.exceptions import ImproperlyConfigured

    unknown = [code for code in codes if code not in phonenumbers.SUPPORTED_REGIONS]
    if not codes or unknown:
        raise ImproperlyConfigured(
            "SMS_ALLOWED_COUNTRIES must list two-letter country codes such as US,CA; "
            f"not understood: {unknown or 'empty'}"
        )


_check_sms_countries(SMS_ALLOWED_COUNTRIES)
# The marketing opt-in promises "up to 4 a month": at most this many per channel per person in any 30 days.
MARKETING_MAX_PER_30_DAYS = env.int("MARKETING_MAX_PER_30_DAYS", default=4)

# Payments (see payments/backends). The local backend simulates Stripe: nothing is charged.
PAYMENTS_BACKEND = env("PAYMENTS_BACKEND", default="payments.backends.local.PaymentsBackend")
# Fail closed: with DEBUG off the local simulator (deposits and fees confirmed with no money taken) stops
# start-up unless this says it is meant (a demo, a load test, a clinic that asks no payment at all).
PAYMENTS_ALLOW_SIMULATOR = env.bool("PAYMENTS_ALLOW_SIMULATOR", default=DEBUG)
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10)
# Payment and refund rows are kept this long for the books; an erasure keeps them without the person.
PAYMENT_RECORD_RETENTION_YEARS = env.int("PAYMENT_RECORD_RETENTION_YEARS", default=7)
# How long an online booking's time is held while the client pays the deposit or saves a card (5 to 60).
PAYMENT_SLOT_HOLD_MINUTES = env.int("PAYMENT_SLOT_HOLD_MINUTES", default=15)
if not 5 <= PAYMENT_SLOT_HOLD_MINUTES <= 60:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"PAYMENT_SLOT_HOLD_MINUTES must be 5 to 60 (got {PAYMENT_SLOT_HOLD_MINUTES}).")
# Waitlist offers: how long a held time waits for its YES, and how many offers one number gets a day.
WAITLIST_OFFER_MINUTES = env.int("WAITLIST_OFFER_MINUTES", default=15)
WAITLIST_MAX_OFFERS_PER_DAY = env.int("WAITLIST_MAX_OFFERS_PER_DAY", default=3)
if not (1 <= WAITLIST_OFFER_MINUTES <= 240) or WAITLIST_MAX_OFFERS_PER_DAY < 1:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "WAITLIST_OFFER_MINUTES must be 1 to 240 and WAITLIST_MAX_OFFERS_PER_DAY at least 1 "
        f"(got {WAITLIST_OFFER_MINUTES} and {WAITLIST_MAX_OFFERS_PER_DAY})."
    )

# Clinical forms: Fernet keys (comma list) that encrypt answers and signatures, apart from the
# database and SECRET_KEY. The first encrypts, all decrypt (rotation: README). DEBUG has a dev key.
CLINICAL_FORMS_DEV_KEY = "ZGV2LW9ubHktY2xpbmljYWwtZm9ybXMta2V5LTAwMDE="
CLINICAL_FORMS_KEYS = env.list("CLINICAL_FORMS_KEYS", default=[CLINICAL_FORMS_DEV_KEY] if DEBUG else [])
CLINICAL_FORMS_DEV_KEY_ALLOWED = DEBUG  # decided at start-up (the test runner turns DEBUG off later)
# Signed clinical forms are medical records: kept this long after the later of signing and the last visit
# (California: at least 7 years for adults), through an erasure, then deleted by the daily retention task.
CLINICAL_RECORD_RETENTION_YEARS = env.int("CLINICAL_RECORD_RETENTION_YEARS", default=7)
# One reminder this many hours before the visit when its forms are still missing.
FORMS_REMINDER_HOURS = env.int("FORMS_REMINDER_HOURS", default=48)

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="plain")  # "json": one object per line, for log shippers
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "clinic.logmask.MaskedFormatter", "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "clinic.logmask.MaskedJsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "filters": {"mask_personal_data": {"()": "clinic.logmask.MaskPersonalData"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["mask_personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
