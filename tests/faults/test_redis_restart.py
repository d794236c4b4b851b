"""Redis restarted: the web app keeps taking bookings, and the queued work resumes, once.

A private redis-server (never the shared one) is the broker and the cache, as
REDIS_URL is in production. While it is down a booking is posted: it succeeds
and its confirmation text and email are left to their sweepers. Redis comes
back empty on the same port; the same worker reconnects and the sweepers (the
tasks beat sends) deliver both, exactly once.
"""

import shutil
import time
from datetime import timedelta

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.tasks import send_pending_confirmation_emails
from messaging.models import MessageKind, MessageStatus, SmsMessage
from messaging.tasks import dispatch_due_reminders
from tests.support.booking import ANA_WITH_REMINDERS, post_booking
from tests.support.processes import (
    PrivateRedis,
    publishing_to,
    requires_redis,
    running_workers,
    wait_for,
    worker_env,
    workers_answering,
)

pytestmark = [
    requires_redis,
    pytest.mark.skipif(
        not shutil.which("redis-server"), reason="needs the redis-server program, to run a Redis of its own"
    ),
    pytest.mark.django_db(transaction=True),
]
PHONE, EMAIL = "+14085550177", "ana.restart@example.com"


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.close()


@pytest.fixture
def web_on(private_redis, settings):
    """This process as the web app in production: cache, rate limits and broker all on that Redis."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": private_redis.url,
        },
    }
    settings.RATELIMIT_ENABLE = True
    with publishing_to(private_redis.url):
        yield


def _week_page(client, location, service, start):
    url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    response = client.get(url, {"date": start.date().isoformat(), "practitioner": "any"})
    assert response.status_code == 200
    return response.content.decode()


def _confirmation_text():
    return SmsMessage.objects.get(kind=MessageKind.CONFIRMATION)


def test_while_redis_restarts_bookings_succeed_and_the_queued_work_resumes_once(
    client, open_clinic, fake_twilio, private_redis, web_on, tmp_path
):
    location, service, start = open_clinic
    env = worker_env(
        broker=private_redis.url,
        twilio_url=fake_twilio.url,
        REDIS_URL=private_redis.url,
        EMAIL_URL=f"filemail:///{tmp_path}",
    )
    with running_workers() as start_worker:
        worker = start_worker(env)
        assert workers_answering(1)

        shown = f'datetime="{start.isoformat()}"'
        assert shown in _week_page(client, location, service, start)  # now cached, in Redis and here

        private_redis.stop()
        began = time.monotonic()
        response = post_booking(
            client, location, service, start, **{**ANA_WITH_REMINDERS, "email": EMAIL, "mobile_phone": PHONE}
        )
        assert response.status_code == 302 and time.monotonic() - began < 5  # no hanging on the dead broker
        assert shown not in _week_page(client, location, service, start)  # computed without the cache
        appointment = Appointment.objects.get()
        assert appointment.confirmation_emailed_at is None
        assert _confirmation_text().status == MessageStatus.QUEUED  # written, its task could not be queued

        private_redis.start()  # same port, empty: whatever Redis held is gone
        assert redis.Redis.from_url(private_redis.url).dbsize() == 0
        assert shown not in _week_page(client, location, service, start)
        assert redis.Redis.from_url(private_redis.url).keys("*appointments:week:*")  # cached again
        assert workers_answering(1, timeout=20)  # the same worker reconnected
        assert worker.process.poll() is None
        # Six minutes on, as far as the sweepers can tell: beat's next ticks send their tasks.
        six_minutes_ago = timezone.now() - timedelta(minutes=6)
        Appointment.objects.update(created_at=six_minutes_ago)
        SmsMessage.objects.update(enqueued_at=six_minutes_ago)
        send_pending_confirmation_emails.delay()
        dispatch_due_reminders.delay()

        def delivered():
            appointment.refresh_from_db()
            return appointment.confirmation_emailed_at is not None and _confirmation_text().status == MessageStatus.SENT

        assert wait_for(delivered, timeout=20), (appointment.confirmation_emailed_at, _confirmation_text().status)
        send_pending_confirmation_emails.delay()  # the ticks after: nothing more
        dispatch_due_reminders.delay()
        queue = redis.Redis.from_url(private_redis.url)
        assert wait_for(lambda: queue.llen("celery") == 0, timeout=10)
        time.sleep(1)

    assert fake_twilio.accepted_per_recipient() == {PHONE: 1}
    assert fake_twilio.messages[0]["sid"] == _confirmation_text().twilio_sid
    mailed = "".join(path.read_text() for path in tmp_path.glob("*.log"))  # the worker's file mail backend
    assert mailed.count(f"To: {EMAIL}") == 1 and "Subject:" in mailed
