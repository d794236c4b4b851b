"""A real Celery worker on Redis sends through the Twilio backend to a local fake Twilio.

Needs REDIS_URL (as .ci/run sets); the database is the test database, shared
with the worker process, so the test commits its data (transaction=True).
"""

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from django.db import connection

from appointments.models import Appointment
from messaging.models import MessageKind, MessageStatus, ReminderRule, SmsMessage
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.factories import AppointmentFactory, ClientFactory, bookable_clinic
from tests.fakes.twilio_server import FakeTwilio

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DB = 9  # a Redis database of its own, flushed first, so no stale task leaks in

pytestmark = [
    pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set REDIS_URL=redis://... (as .ci/run does)"),
    pytest.mark.django_db(transaction=True),
]


def _midday_zone():
    """A fixed-offset zone where it is around noon now, so quiet hours never interfere."""
    utc_hour = datetime.now(ZoneInfo("UTC")).hour
    offset = (12 - utc_hour + 12) % 24 - 12  # -12..+11
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def _database_url():
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker_env(fake_twilio):
    broker = REDIS_URL.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    redis.Redis.from_url(broker).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DEBUG": "true",
        "SITE_URL": "http://testserver",
        "SMS_BACKEND": "messaging.backends.twilio.SmsBackend",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "test-auth-token",
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
        "TWILIO_API_BASE_URL": fake_twilio.url,
    }
    return env


@pytest.fixture
def worker(worker_env):
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "clinic", "worker", "--concurrency=2", "--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT,
        env=worker_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output[-5000:])


def manage(env, *args):
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def wait_for(predicate, timeout=45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_sends_confirmation_and_both_reminders_exactly_once(worker, worker_env, fake_twilio):
    location, service, (person,) = bookable_clinic(hours=((clock(0), clock(23, 59)),))
    location.timezone = _midday_zone()
    location.save()
    # Two reminders, both due by now: 60 and 30 minutes before an appointment 29 minutes away.
    ReminderRule.objects.create(location=location, minutes_before=60)
    ReminderRule.objects.create(location=location, minutes_before=30)
    client = ClientFactory(mobile_phone="+14085550143")
    record_consent(client=client, purpose=ConsentPurpose.SMS_REMINDERS, granted=True, notice_text="Texts", source=ConsentSource.BOOKING_FORM)
    now = datetime.now(ZoneInfo("UTC"))
    appointment = AppointmentFactory(location=location, service=service, practitioner=person, client=client, start=now + timedelta(minutes=29))
    Appointment.objects.filter(pk=appointment.pk).update(created_at=now - timedelta(hours=2))

    manage(worker_env, "shell", "-c", f"from messaging.tasks import queue_booking_confirmation as t; t.delay({appointment.pk})")
    manage(worker_env, "dispatch_reminders")
    manage(worker_env, "dispatch_reminders")  # a second beat pass: nothing new

    assert wait_for(lambda: len(fake_twilio.messages) >= 3), (worker.poll(), fake_twilio.messages)
    assert wait_for(lambda: SmsMessage.objects.filter(status=MessageStatus.SENT).count() == 3)
    manage(worker_env, "dispatch_reminders")
    time.sleep(2)  # anything sent twice would have arrived by now
    assert len(fake_twilio.messages) == 3
    rows = SmsMessage.objects.order_by("kind")
    assert sorted(rows.values_list("kind", flat=True)) == [MessageKind.CONFIRMATION, MessageKind.REMINDER, MessageKind.REMINDER]
    assert {m["sid"] for m in fake_twilio.messages} == set(rows.values_list("twilio_sid", flat=True))
    assert all(m["To"] == "+14085550143" and "STOP" in m["Body"] for m in fake_twilio.messages)
