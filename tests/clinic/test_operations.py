"""Operations: the health endpoint, and logs that never carry phone numbers or emails."""

import io
import logging

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_migrations(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["migrations"] == "ok"


def test_healthz_says_unhealthy_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["checks"]["redis"].startswith("error")


def test_logs_mask_phone_numbers_and_email_addresses():
    handler = next(h for h in logging.getLogger().handlers if any(f.__class__.__name__ == "MaskPersonalData" for f in h.filters))
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        logger = logging.getLogger("messaging.services")
        logger.warning("SMS to %s failed: The 'To' number +1 (408) 555-0143 is not valid", "+14085550143")
        logger.warning("Unsubscribe for %s", "dana.reyes@example.com")
    finally:
        handler.setStream(old)
    output = stream.getvalue()
    for secret in ("+14085550143", "555-0143", "4085550143", "dana.reyes@example.com", "dana.reyes"):
        assert secret not in output
    assert "***43" in output and "d***@example.com" in output
    assert "mask_personal_data" in settings.LOGGING["handlers"]["console"]["filters"]


def test_beat_schedules_live_in_the_database_and_name_real_tasks():
    from celery import current_app
    from django_celery_beat.models import PeriodicTask

    import messaging.tasks  # noqa: F401  (registers the tasks)
    import privacy.tasks  # noqa: F401

    schedules = dict(PeriodicTask.objects.values_list("task", "enabled"))
    for task in ["messaging.tasks.dispatch_due_reminders", "messaging.tasks.start_due_campaigns", "privacy.tasks.daily_privacy_housekeeping"]:
        assert schedules.get(task) is True and task in current_app.tasks
