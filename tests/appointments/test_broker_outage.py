"""Redis down: bookings still succeed, and the sweepers deliver what could not be queued."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from appointments.models import Appointment
from appointments.services import send_pending_confirmation_emails
from clinic.celery import app
from messaging.models import MessageStatus, SmsMessage
from messaging.outbox import enqueue_due_messages
from tests.support.booking import ANA_WITH_REMINDERS, post_booking
from tests.support.builders import bookable_clinic

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, tzinfo=LA)


@pytest.fixture
def broker_down():
    eager, url = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager = False
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens there
    _forget_broker_connections()
    yield
    app.conf.task_always_eager, app.conf.broker_url = eager, url
    _forget_broker_connections()


def _forget_broker_connections():
    # The connection and producer pools cache connections to the old URL.
    app._pool = None
    app.amqp._producer_pool = None


def test_booking_succeeds_while_the_broker_is_down_and_the_sweepers_catch_up(
    client, broker_down, sms_outbox, django_capture_on_commit_callbacks
):
    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    start = NOW + timedelta(days=1)
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = post_booking(client, location, service, start, **ANA_WITH_REMINDERS)
    assert response.status_code == 302 and Appointment.objects.count() == 1
    assert mail.outbox == [] and sms_outbox == []
    text = SmsMessage.objects.get()
    assert text.status == MessageStatus.QUEUED  # written, waiting for a worker

    app.conf.task_always_eager = True  # Redis is back
    with time_machine.travel(NOW + timedelta(minutes=6), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert send_pending_confirmation_emails() == 1
        assert enqueue_due_messages() == 1
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]
    assert [m.to for m in sms_outbox] == ["+14085550188"]
    with time_machine.travel(NOW + timedelta(minutes=12), tick=False):
        assert send_pending_confirmation_emails() == 0  # never twice
