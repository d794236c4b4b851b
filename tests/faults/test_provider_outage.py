"""Twilio answers 429 and 500 for a while, then recovers: every due reminder is sent exactly once.

Two real workers on Redis send through the Twilio backend to the fake Twilio.
"""

import time

import pytest

from messaging.models import MessageStatus, SmsMessage
from messaging.reminders import dispatch_due_reminders
from tests.support.processes import (
    due_reminders,
    publishing_to,
    requires_redis,
    running_workers,
    shared_redis_db,
    wait_for,
    worker_env,
    workers_answering,
)

pytestmark = [requires_redis, pytest.mark.django_db(transaction=True)]
BROKER_DB = 10
REMINDERS = 5
THROTTLED = 3  # 429 Too Many Requests, with Retry-After
OUTAGE_SECONDS = 1.5  # then 500s for everyone, until Twilio recovers


def test_after_a_provider_outage_every_due_reminder_is_sent_exactly_once(fake_twilio):
    phones = due_reminders(REMINDERS, phone_prefix="+1408556")
    broker = shared_redis_db(BROKER_DB)
    # The first retry after 0.1-0.2 s (2.5-5 s in production), doubling: six attempts outlast the outage.
    env = worker_env(broker=broker, twilio_url=fake_twilio.url, SMS_RETRY_BACKOFF_SECONDS=0.2)
    with running_workers() as start, publishing_to(broker):
        start(env)
        start(env)
        assert workers_answering(2)
        fake_twilio.fail_next(THROTTLED, status=429, code=20429, retry_after=1)
        fake_twilio.fail_for(OUTAGE_SECONDS, status=500)
        assert dispatch_due_reminders().queued == REMINDERS

        def all_sent():
            return SmsMessage.objects.filter(status=MessageStatus.SENT).count() == REMINDERS

        assert wait_for(all_sent, timeout=30), list(
            SmsMessage.objects.values_list("status", "attempts", "status_reason")
        )
        assert dispatch_due_reminders().queued == 0  # a later pass: nothing again
        time.sleep(1)  # a duplicate send would arrive by now

    failed = [r for r in fake_twilio.received if r["status"] != 201]
    assert len(failed) > THROTTLED  # the outage did hit the sends
    assert {r["status"] for r in failed} == {429, 500}
    assert fake_twilio.accepted_per_recipient() == {phone: 1 for phone in phones}
    rows = SmsMessage.objects.all()
    assert {m["sid"] for m in fake_twilio.messages} == {row.twilio_sid for row in rows}
    # Each attempt recorded is one request the provider saw, no more.
    received = fake_twilio.received_per_recipient()
    assert {row.to_number: row.attempts for row in rows} == received
