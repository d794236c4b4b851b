"""Operations: the health endpoint, and logs that never carry phone numbers or emails."""

import io
import json
import logging
import sys

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
    handler = next(
        h for h in logging.getLogger().handlers if any(f.__class__.__name__ == "MaskPersonalData" for f in h.filters)
    )
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        logger = logging.getLogger("messaging.sending")
        logger.warning("SMS to %s failed: The 'To' number +1 (408) 555-0143 is not valid", "+14085550143")
        logger.warning("Unsubscribe for %s", "dana.reyes@example.com")
        logger.warning("Cleaned up attempts older than 2026-11-25 20:09:30+00:00")
        logger.warning("Lookup tel:4085550177 phone:408-555-0166 id-4085550155")
    finally:
        handler.setStream(old)
    output = stream.getvalue()
    for secret in (
        "+14085550143",
        "555-0143",
        "4085550143",
        "dana.reyes@example.com",
        "dana.reyes",
        "4085550177",
        "555-0166",
        "4085550155",
    ):
        assert secret not in output
    assert "***43" in output and "d***@example.com" in output
    assert "older than 2026-11-25 20:09:30+00:00" in output  # dates are not phone numbers
    assert "mask_personal_data" in settings.LOGGING["handlers"]["console"]["filters"]


def test_beat_schedules_live_in_the_database_and_name_real_tasks():
    from celery import current_app
    from django_celery_beat.models import PeriodicTask

    import messaging.tasks  # noqa: F401  (registers the tasks)
    import privacy.tasks  # noqa: F401

    schedules = dict(PeriodicTask.objects.values_list("task", "enabled"))
    for task in [
        "messaging.tasks.dispatch_due_reminders",
        "messaging.tasks.start_due_campaigns",
        "privacy.tasks.daily_privacy_housekeeping",
    ]:
        assert schedules.get(task) is True and task in current_app.tasks


def test_json_log_lines_are_structured_and_masked_including_tracebacks():
    from clinic.logmask import MaskedJsonFormatter, MaskPersonalData

    formatter = MaskedJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level", "name": "logger"}
    )
    try:
        raise ValueError("duplicate key (mobile_phone)=(+14085550143) for dana.reyes@example.com")
    except ValueError:
        record = logging.getLogger("appointments.services").makeRecord(
            "appointments.services",
            logging.ERROR,
            __file__,
            1,
            "Booking for %s failed",
            ("+14085550143",),
            exc_info=True,
        )
        record.exc_info = sys.exc_info()
    MaskPersonalData().filter(record)  # as the console handler does before formatting
    line = formatter.format(record)
    entry = json.loads(line)
    assert entry["asctime"][:4].isdigit()  # the timestamp is left whole
    assert entry["level"] == "ERROR" and entry["logger"] == "appointments.services"
    assert entry["message"] == "Booking for ***43 failed"
    assert "ValueError" in entry["exc_info"] and "***43" in entry["exc_info"]
    for secret in ("4085550143", "dana.reyes@example.com"):
        assert secret not in line
