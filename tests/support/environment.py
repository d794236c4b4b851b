"""The settings every test runs under, and markers for what a test needs from the machine."""

import os

import pytest

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
requires_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs PostgreSQL: set DATABASE_URL=postgres://... (as .ci/run does)"
)


@pytest.fixture(autouse=True)
def _test_settings(settings):
    from django.core.cache import cache, caches

    from appointments import slot_cache
    from clinic.celery import app
    from messaging.backends import locmem

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "messaging.backends.locmem.SmsBackend"
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    # Frozen clocks would never let a send window pass; test_send_rate sets its own cap.
    settings.SMS_SEND_RATE_PER_SECOND = 1_000_000
    # Tests post many forms from one address; test_rate_limits turns this back on.
    settings.RATELIMIT_ENABLE = False
    locmem.outbox.clear()
    cache.clear()  # cached weeks of free times and counters never leak from one test to the next
    slot_cache.forget_process_copies()
    caches["cookie_consent"].clear()  # this process's cookie groups, as objects
    caches["fragments"].clear()  # template fragments kept per process
    settings.SITE_URL = "http://testserver"
    # Each test starts in English: a Spanish request leaves its language active in the thread.
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Unit tests run tasks in-process; the worker tests start a real worker instead.
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def sms_outbox():
    from messaging.backends import locmem

    return locmem.outbox
