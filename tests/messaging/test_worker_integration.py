"""A real Celery worker on Redis sends through the Twilio backend to a local fake Twilio.

Needs REDIS_URL (as .ci/run sets); the database is the test database, shared
with the worker process, so the test commits its data (transaction=True).
"""

import time

import pytest

from messaging.models import MessageKind, MessageStatus, ReminderRule, SmsMessage
from tests.support.processes import (
    appointment_soon,
    manage,
    midday_clinic,
    requires_redis,
    running_workers,
    shared_redis_db,
    wait_for,
)
from tests.support.processes import worker_env as make_worker_env

BROKER_DB = 9  # a Redis database of its own, flushed first, so no stale task leaks in

pytestmark = [requires_redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_env(fake_twilio):
    return make_worker_env(broker=shared_redis_db(BROKER_DB), twilio_url=fake_twilio.url)


@pytest.fixture
def worker(worker_env):
    with running_workers() as start:
        yield start(worker_env).process


def test_worker_sends_confirmation_and_both_reminders_exactly_once(worker, worker_env, fake_twilio):
    location, service, (person,) = midday_clinic()
    # Two reminders, both due by now: 60 and 30 minutes before an appointment 29 minutes away.
    ReminderRule.objects.create(location=location, minutes_before=60)
    ReminderRule.objects.create(location=location, minutes_before=30)
    appointment = appointment_soon(location=location, service=service, practitioner=person, phone="+14085550143")

    manage(
        worker_env,
        "shell",
        "-c",
        f"from messaging.tasks import queue_booking_confirmation as t; t.delay({appointment.pk})",
    )
    manage(worker_env, "dispatch_reminders")
    manage(worker_env, "dispatch_reminders")  # a second beat pass: nothing new

    assert wait_for(lambda: len(fake_twilio.messages) >= 3), (worker.poll(), fake_twilio.messages)
    assert wait_for(lambda: SmsMessage.objects.filter(status=MessageStatus.SENT).count() == 3)
    manage(worker_env, "dispatch_reminders")
    time.sleep(2)  # anything sent twice would have arrived by now
    assert len(fake_twilio.messages) == 3
    rows = SmsMessage.objects.order_by("kind")
    assert sorted(rows.values_list("kind", flat=True)) == [
        MessageKind.CONFIRMATION,
        MessageKind.REMINDER,
        MessageKind.REMINDER,
    ]
    assert {m["sid"] for m in fake_twilio.messages} == set(rows.values_list("twilio_sid", flat=True))
    assert all(m["To"] == "+14085550143" and "STOP" in m["Body"] for m in fake_twilio.messages)
