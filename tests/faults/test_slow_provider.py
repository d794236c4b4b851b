"""Twilio answers after our timeout: the text may have gone out, so it is never sent again;
Twilio's status report on it later records it as sent.

In-process (eager tasks), so it runs on SQLite as well as on PostgreSQL.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from messaging.models import MessageStatus, SmsMessage
from messaging.reminders import dispatch_due_reminders
from tests.support.processes import due_reminders

pytestmark = pytest.mark.django_db


def test_a_text_twilio_answers_after_the_timeout_is_failed_with_the_reason_and_never_resent(
    fake_twilio, settings, django_capture_on_commit_callbacks
):
    (phone,) = due_reminders(1, phone_prefix="+1408558")
    settings.TWILIO_TIMEOUT_SECONDS = 0.3
    fake_twilio.delay = 0.6  # Twilio takes the text, then answers too late

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due_reminders().queued == 1
    message = SmsMessage.objects.get()
    assert message.status == MessageStatus.FAILED
    assert "may have gone out" in message.status_reason

    later = timezone.now() + timedelta(minutes=settings.SMS_REQUEUE_AFTER_MINUTES + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due_reminders(now=later).requeued == 0  # the sweeper does not queue it again
    assert fake_twilio.received_per_recipient() == {phone: 1}


def test_when_twilio_reports_on_that_text_it_is_recorded_as_sent_after_all(
    fake_twilio, settings, client, django_capture_on_commit_callbacks
):
    due_reminders(1, phone_prefix="+1408559")
    settings.TWILIO_TIMEOUT_SECONDS = 0.3
    fake_twilio.delay = 0.6
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_reminders()
    (accepted,) = fake_twilio.messages  # what Twilio took, with the report address we gave it
    callback_url = accepted["StatusCallback"]
    data = {
        "MessageSid": accepted["sid"],
        "MessageStatus": "delivered",
        "To": accepted["To"],
        "AccountSid": "AC" + "0" * 32,
    }
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(callback_url, data)
    path = callback_url.removeprefix(settings.SITE_URL)
    assert client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 204
    message = SmsMessage.objects.get()
    assert message.status == MessageStatus.DELIVERED and message.twilio_sid == accepted["sid"]
