"""A worker killed mid-batch (acks late): nothing lost, nothing doubled.

The fake Twilio answers slowly; the worker is SIGKILLed (with its pool process)
while it waits for Twilio's answer to the second text of a batch of four. Redis
hands the unacknowledged batch to a new worker once the visibility timeout
(CELERY_VISIBILITY_TIMEOUT) has passed. The text that was with Twilio at the
moment of death may have gone out, so it is never sent again: the dispatch pass
marks it failed, with the reason, once SMS_SENDING_TIMEOUT_MINUTES have passed.
"""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

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
BROKER_DB = 11
REMINDERS = 4
VISIBILITY_TIMEOUT = 2  # seconds; an hour in production
LOST_REASON = "Worker lost while handing to the provider; not resent, to avoid a duplicate."


def _statuses():
    return dict(SmsMessage.objects.values_list("to_number", "status"))


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(fake_twilio):
    phones = due_reminders(REMINDERS, phone_prefix="+1408557")
    broker = shared_redis_db(BROKER_DB)
    env = worker_env(broker=broker, twilio_url=fake_twilio.url, CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT)
    fake_twilio.delay = 0.8  # every answer takes most of a second
    with running_workers() as start, publishing_to(broker):
        first = start(env, concurrency=1)
        assert workers_answering(1)
        assert dispatch_due_reminders().queued == REMINDERS  # one batch task of four

        assert wait_for(lambda: len(fake_twilio.received) >= 2, interval=0.02)
        first.kill()  # Twilio has the second text and has not answered yet
        killed_at = time.monotonic()
        in_flight = fake_twilio.received[-1]["To"]
        assert _statuses()[in_flight] == MessageStatus.SENDING
        answered = len(fake_twilio.received) - 1  # 1 unless this process was slow to notice
        assert sorted(_statuses().values()) == sorted(
            [MessageStatus.SENT] * answered
            + [MessageStatus.SENDING]
            + [MessageStatus.QUEUED] * (REMINDERS - answered - 1)
        )

        # The batch was never acknowledged: Redis gives it to the next worker after the timeout.
        time.sleep(max(0.0, VISIBILITY_TIMEOUT + 0.2 - (time.monotonic() - killed_at)))
        start(env, concurrency=1)
        others = [phone for phone in phones if phone != in_flight]
        assert wait_for(lambda: all(_statuses()[p] == MessageStatus.SENT for p in others), timeout=20), _statuses()
        time.sleep(1)  # a second copy of anything would arrive by now

    assert _statuses()[in_flight] == MessageStatus.SENDING  # the new worker left it alone
    # The dispatch pass after SMS_SENDING_TIMEOUT_MINUTES gives it up rather than risk a duplicate.
    later = timezone.now() + timedelta(minutes=settings.SMS_SENDING_TIMEOUT_MINUTES, seconds=30)
    assert dispatch_due_reminders(now=later).given_up == 1
    lost = SmsMessage.objects.get(to_number=in_flight)
    assert (lost.status, lost.status_reason, lost.twilio_sid) == (MessageStatus.FAILED, LOST_REASON, None)

    # Never two requests for one text. The provider did accept the one in flight at the kill.
    assert fake_twilio.received_per_recipient() == {phone: 1 for phone in phones}
    assert fake_twilio.accepted_per_recipient() == {phone: 1 for phone in phones}
    sent = SmsMessage.objects.filter(status=MessageStatus.SENT)
    assert {row.twilio_sid for row in sent} == {m["sid"] for m in fake_twilio.messages if m["To"] != in_flight}
