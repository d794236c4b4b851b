"""The Twilio backend with the real `twilio` library against a local fake API: sends, faults, error codes."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic.hashing import contact_hash
from messaging.backends.base import OutboundSms, PermanentSendError, TransientSendError
from messaging.backends.twilio import SmsBackend
from messaging.delivery import apply_delivery_status
from messaging.models import MessageStatus, SmsMessage, SmsOptOut
from messaging.outbox import enqueue_due_messages
from messaging.sending import deliver_sms
from messaging.verification_codes import send_verification_code
from privacy.models import ConsentPurpose, ConsentRecord
from privacy.selectors import has_consent
from tests.support.builders import ClientFactory
from tests.support.sms import deliver

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 14, 0, tzinfo=LA)


def test_backend_sends_with_messaging_service_callback_and_validity(fake_twilio):
    result = SmsBackend().send(
        OutboundSms(
            to="+14085550143",
            body="Hello",
            validity_seconds=600,
            status_callback="https://clinic.example/messaging/twilio/status/",
        )
    )
    (sent,) = fake_twilio.messages
    assert result.sid == sent["sid"] and result.status == "queued"
    assert sent["To"] == "+14085550143" and sent["Body"] == "Hello"
    assert sent["MessagingServiceSid"].startswith("MG") and "From" not in sent
    assert sent["ValidityPeriod"] == "600"
    assert sent["StatusCallback"] == "https://clinic.example/messaging/twilio/status/"


def test_location_sender_number_is_used_when_set(fake_twilio):
    SmsBackend().send(OutboundSms(to="+14085550143", body="Hi", from_number="+14088211633"))
    assert fake_twilio.messages[0]["From"] == "+14088211633"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limit_and_server_errors_are_transient(fake_twilio, status):
    fake_twilio.fail_next(1, status=status, code=20429 if status == 429 else None)
    with pytest.raises(TransientSendError):
        SmsBackend().send(OutboundSms(to="+14085550143", body="Hi"))


@pytest.mark.parametrize(
    ("status", "header", "seconds"),
    [
        (429, "120", 120),
        (503, "Thu, 26 Nov 2026 03:02:00 GMT", 120),
        (429, "86400", 3600),
        (429, "soon", None),
        (429, None, None),
        (500, "120", None),
    ],
)
def test_twilios_retry_after_is_kept_with_the_transient_error(fake_twilio, status, header, seconds):
    fake_twilio.fail_next(1, status=status, code=20429 if status == 429 else None, retry_after=header)
    with time_machine.travel(datetime(2026, 11, 26, 3, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        with pytest.raises(TransientSendError) as error:
            SmsBackend().send(OutboundSms(to="+14085550143", body="Hi"))
    assert error.value.retry_after == seconds


def test_unreachable_twilio_is_transient(fake_twilio, settings):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(TransientSendError):
        SmsBackend().send(OutboundSms(to="+14085550143", body="Hi"))


def test_client_errors_are_permanent_with_the_twilio_code(fake_twilio):
    fake_twilio.fail_next(1, status=400, code=21211)
    with pytest.raises(PermanentSendError) as error:
        SmsBackend().send(OutboundSms(to="+14085550143", body="Hi"))
    assert error.value.code == "21211"


# --- Through the delivery service -------------------------------------------


@pytest.mark.django_db
def test_transient_faults_retry_then_send_once(fake_twilio, queued_reminder):
    fake_twilio.fail_next(2, status=503)
    first, second, third = deliver(queued_reminder), deliver(queued_reminder), deliver(queued_reminder)
    assert [first.outcome, second.outcome, third.outcome] == ["retry", "retry", "sent"]
    assert 0 < first.retry_in <= second.retry_in * 2 + 5  # backing off
    queued_reminder.refresh_from_db()
    assert len(fake_twilio.messages) == 1 and queued_reminder.twilio_sid == fake_twilio.messages[0]["sid"]
    assert queued_reminder.status == MessageStatus.SENT and queued_reminder.attempts == 3


@pytest.mark.django_db
def test_a_throttled_text_waits_at_least_as_long_as_twilio_asks(fake_twilio, queued_reminder):
    fake_twilio.fail_next(1, status=429, code=20429, retry_after=300)
    fake_twilio.fail_next(1, status=429, code=20429)  # no Retry-After: our own backoff, seconds
    throttled = deliver(queued_reminder)
    assert throttled.outcome == "retry" and throttled.retry_in >= 300
    # A task redelivered early (or a dispatch pass) does not send it sooner.
    assert deliver(queued_reminder, now=NOW + timedelta(seconds=120)).outcome == "deferred"
    assert len(fake_twilio.received) == 1
    again = deliver(queued_reminder, now=NOW + timedelta(seconds=331))  # 300 s, plus up to a tenth at random
    assert again.outcome == "retry" and again.retry_in <= 10
    sent = deliver(queued_reminder, now=NOW + timedelta(seconds=341))
    assert sent.outcome == "sent" and len(fake_twilio.messages) == 1


@pytest.mark.django_db
def test_a_wait_longer_than_ten_minutes_goes_back_to_the_dispatch_pass(fake_twilio, queued_reminder):
    fake_twilio.fail_next(1, status=503, retry_after=1800)
    assert deliver(queued_reminder).outcome == "deferred"  # no half-hour Celery ETA
    for seconds, queued in ((1799, 0), (1981, 1)):  # 30 minutes, plus up to a tenth at random
        with time_machine.travel(NOW + timedelta(seconds=seconds), tick=False):
            assert enqueue_due_messages(now=NOW + timedelta(seconds=seconds)) == queued
    assert deliver(queued_reminder, now=NOW + timedelta(seconds=1981)).outcome == "sent"


@pytest.mark.django_db
def test_texts_in_a_row_reuse_one_connection_to_twilio(fake_twilio, queued_reminder, settings):
    others = [
        SmsMessage.objects.create(
            to_number=f"+1408555017{n}",
            body=f"Text {n}",
            client=queued_reminder.client,
            location=queued_reminder.location,
        )
        for n in range(3)
    ]
    for message in [queued_reminder, *others]:
        assert deliver(message).outcome == "sent"
    assert len(fake_twilio.messages) == 4 and fake_twilio.connections == 1  # no new handshake per text

    settings.TWILIO_AUTH_TOKEN = "rotated-token"  # changed settings: a new client, with the new token
    extra = SmsMessage.objects.create(to_number="+14085550180", body="After rotation", client=queued_reminder.client)
    assert deliver(extra).outcome == "sent" and fake_twilio.connections == 2


@pytest.mark.django_db
def test_gives_up_after_the_attempt_limit_with_the_reason(fake_twilio, queued_reminder, settings):
    settings.SMS_MAX_ATTEMPTS = 3
    fake_twilio.fail_next(10, status=500)
    outcomes = [deliver(queued_reminder).outcome for _ in range(4)]
    queued_reminder.refresh_from_db()
    assert outcomes == ["retry", "retry", "failed", "noop"]
    assert (
        queued_reminder.status == MessageStatus.FAILED and "Gave up after 3 attempts" in queued_reminder.status_reason
    )


@pytest.mark.django_db
def test_21610_unsubscribed_records_an_opt_out_and_withdraws_consent(fake_twilio, queued_reminder):
    fake_twilio.fail_next(1, status=400, code=21610)
    assert deliver(queued_reminder).outcome == "failed"
    queued_reminder.refresh_from_db()
    assert queued_reminder.error_code == "21610"
    assert SmsOptOut.objects.filter(phone_hash=contact_hash("+14085550143")).exists()
    assert not has_consent(client=queued_reminder.client, purpose=ConsentPurpose.SMS_REMINDERS)
    # One withdrawal per SMS purpose (reminders, marketing, waitlist offers).
    assert ConsentRecord.objects.filter(client=queued_reminder.client, granted=False, source="sms_keyword").count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("code", [21211, 21614])
def test_invalid_or_landline_number_flags_the_client_for_the_front_desk(fake_twilio, queued_reminder, code):
    fake_twilio.fail_next(1, status=400, code=code)
    assert deliver(queued_reminder).outcome == "failed"
    queued_reminder.client.refresh_from_db()
    assert str(code) in queued_reminder.client.mobile_phone_problem
    # A flagged number gets no further program texts.
    assert not SmsOptOut.objects.exists()


class ReportedBeforeAnswering(SmsBackend):
    """Twilio takes the text and its status report reaches us before its answer does; then the answer fails."""

    error = None

    def send(self, message):
        accepted = super().send(message)  # Twilio has it ...
        text_id = int(message.status_callback.rpartition("=")[2])
        apply_delivery_status(sid=accepted.sid, provider_status="sent", message_id=text_id, to=message.to)
        raise self.error  # ... and then our read times out, or the connection drops


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error", [PermanentSendError("Twilio did not answer in time"), TransientSendError("Connection reset")]
)
def test_a_report_that_arrives_before_twilios_answer_is_not_undone_by_the_answer_failing(
    fake_twilio, queued_reminder, settings, error
):
    ReportedBeforeAnswering.error = error
    settings.SMS_BACKEND = f"{__name__}.ReportedBeforeAnswering"
    assert deliver(queued_reminder).outcome == "sent"
    (accepted,) = fake_twilio.messages
    apply_delivery_status(sid=accepted["sid"], provider_status="delivered")
    queued_reminder.refresh_from_db()
    assert queued_reminder.status == MessageStatus.DELIVERED and queued_reminder.twilio_sid == accepted["sid"]
    assert deliver(queued_reminder).outcome == "noop" and len(fake_twilio.received) == 1  # never sent again


def test_an_unreadable_retry_after_leaves_our_own_backoff(fake_twilio):
    fake_twilio.fail_next(1, status=429, code=20429, retry_after="\u00b2")  # byte 0xB2 on the wire
    with pytest.raises(TransientSendError) as error:
        SmsBackend().send(OutboundSms(to="+14085550143", body="Hi"))
    assert error.value.retry_after is None


@pytest.mark.django_db
def test_a_code_someone_is_waiting_for_is_not_held_for_a_long_throttle(fake_twilio):

    person = ClientFactory(mobile_phone="+14085550143")
    message = send_verification_code(phone="+14085550143", body="Your code is 123456.", client=person)
    fake_twilio.fail_next(1, status=429, code=20429, retry_after=1800)
    assert deliver_sms(message_id=message.pk).outcome == "failed"
    message.refresh_from_db()
    assert (
        message.status == MessageStatus.FAILED
        and "too late for a text the person is waiting for" in message.status_reason
    )
    fake_twilio.fail_next(1, status=429, code=20429, retry_after=120)  # a short wait is still worth it
    short = send_verification_code(phone="+14085550143", body="Your code is 654321.", client=person)
    assert deliver_sms(message_id=short.pk).outcome == "retry"
