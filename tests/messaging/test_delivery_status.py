"""A text's delivery status: one transition table for the send path and Twilio's signed status reports, and
Twilio's error codes translated by the backend into the app's own reasons."""

import pytest
from twilio.request_validator import RequestValidator

from clinic.hashing import contact_hash
from clinic.models import Client
from messaging.backends.base import OutboundSms, PermanentSendError, Rejection
from messaging.backends.twilio import SmsBackend
from messaging.models import MessageStatus, SmsMessage, SmsOptOut
from tests.support.builders import ClientFactory
from tests.support.sms import deliver

pytestmark = pytest.mark.django_db

URL = "/messaging/twilio/status/"
PHONE = "+14085550143"
SID = "SM" + "c" * 32


def report(client, status, **extra):
    """A status report as Twilio sends it: form-encoded and signed with the auth token."""
    data = {"MessageSid": SID, "MessageStatus": status, "To": PHONE, "AccountSid": "AC" + "0" * 32, **extra}
    signature = RequestValidator("test-auth-token").compute_signature("http://testserver" + URL, data)
    response = client.post(URL, data, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 204
    return response


@pytest.fixture
def sent_text():
    return SmsMessage.objects.create(
        to_number=PHONE,
        body="Reminder",
        status=MessageStatus.SENT,
        twilio_sid=SID,
        client=ClientFactory(mobile_phone=PHONE),
    )


# --- Out of order and repeated reports ----------------------------------------------


def test_a_sent_report_arriving_after_delivered_is_ignored(client, sent_text):
    report(client, "delivered")
    sent_text.refresh_from_db()
    delivered_at = sent_text.status_updated_at

    report(client, "sent")
    report(client, "delivered")  # a repeat

    sent_text.refresh_from_db()
    assert sent_text.status == MessageStatus.DELIVERED
    assert sent_text.status_updated_at == delivered_at


def test_a_late_sent_report_does_not_undo_a_failure_twilio_reported(client, sent_text):
    report(client, "failed", ErrorCode="30008")
    report(client, "sent")

    sent_text.refresh_from_db()
    assert sent_text.status == MessageStatus.FAILED and sent_text.error_code == "30008"


def test_a_delivered_report_cannot_revive_a_text_that_twilio_reported_undelivered(client, sent_text):
    report(client, "undelivered", ErrorCode="30003")
    report(client, "delivered")

    sent_text.refresh_from_db()
    assert sent_text.status == MessageStatus.UNDELIVERED


# --- Twilio's codes in the app's words ----------------------------------------------


@pytest.mark.parametrize(
    "code, rejection",
    [
        (21610, Rejection.UNSUBSCRIBED),
        (21211, Rejection.INVALID_NUMBER),
        (21614, Rejection.NOT_MOBILE),
        (30003, Rejection.UNDELIVERABLE),
        (30007, Rejection.UNDELIVERABLE),
        (21408, None),  # "permission to send to this region not enabled": nothing about the person
    ],
)
def test_the_twilio_backend_names_the_rejection_of_a_refused_send(fake_twilio, code, rejection):
    fake_twilio.fail_next(1, status=400, code=code)
    with pytest.raises(PermanentSendError) as error:
        SmsBackend().send(OutboundSms(to=PHONE, body="Hi"))
    assert error.value.code == str(code) and error.value.rejection == rejection


@pytest.mark.parametrize("code", ["30003", "30005", "30006", "30007"])
def test_an_undeliverable_report_marks_only_that_text_and_the_number_stays_in_use(client, sent_text, code):
    report(client, "undelivered", ErrorCode=code)

    sent_text.refresh_from_db()
    sent_text.client.refresh_from_db()
    assert sent_text.status == MessageStatus.UNDELIVERED and sent_text.error_code == code
    assert "carrier could not deliver" in sent_text.status_reason
    assert not SmsOptOut.objects.exists()
    assert sent_text.client.mobile_phone_problem == ""


def test_an_unsubscribed_report_puts_the_number_on_the_opt_out_list(client, sent_text):
    report(client, "failed", ErrorCode="21610")

    sent_text.refresh_from_db()
    assert sent_text.status == MessageStatus.FAILED and "unsubscribed" in sent_text.status_reason
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()


@pytest.mark.parametrize("code, problem", [("21211", "Not a valid phone number"), ("21614", "Not a mobile number")])
def test_an_invalid_number_report_flags_the_clients_mobile_for_the_front_desk(client, sent_text, code, problem):
    report(client, "undelivered", ErrorCode=code)

    sent_text.client.refresh_from_db()
    assert sent_text.client.mobile_phone_problem.startswith(problem) and code in sent_text.client.mobile_phone_problem
    assert not SmsOptOut.objects.exists()


def test_a_repeated_rejection_report_acts_once(client, sent_text):
    report(client, "undelivered", ErrorCode="21610")
    SmsOptOut.objects.all().delete()  # as if lifted by START since
    report(client, "undelivered", ErrorCode="21610")  # Twilio retries its webhook

    assert not SmsOptOut.objects.exists()


# --- The send path follows the same table ---------------------------------------------


def test_a_send_the_carrier_filters_fails_that_text_and_leaves_the_number_alone(fake_twilio, queued_reminder):
    fake_twilio.fail_next(1, status=400, code=30007)
    assert deliver(queued_reminder).outcome == "failed"

    queued_reminder.refresh_from_db()
    queued_reminder.client.refresh_from_db()
    assert queued_reminder.status == MessageStatus.FAILED and queued_reminder.error_code == "30007"
    assert not SmsOptOut.objects.exists() and queued_reminder.client.mobile_phone_problem == ""


def test_reports_then_carry_a_sent_text_forward_but_never_back(client, fake_twilio, queued_reminder):
    assert deliver(queued_reminder).outcome == "sent"
    queued_reminder.refresh_from_db()
    (accepted,) = fake_twilio.messages
    assert queued_reminder.status == MessageStatus.SENT and queued_reminder.twilio_sid == accepted["sid"]

    for status in ("delivered", "sent", "undelivered"):
        data = {"MessageSid": accepted["sid"], "MessageStatus": status, "To": PHONE}
        url = f"{URL}?text={queued_reminder.pk}"
        signature = RequestValidator("test-auth-token").compute_signature("http://testserver" + url, data)
        assert client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 204

    queued_reminder.refresh_from_db()
    assert queued_reminder.status == MessageStatus.DELIVERED
    assert deliver(queued_reminder).outcome == "noop" and len(fake_twilio.received) == 1


def test_a_late_invalid_number_report_does_not_flag_the_new_mobile_the_client_gave_since(client, sent_text):
    # The text went to the old number; the client gave a new one at the desk before Twilio's report came back.
    Client.objects.filter(pk=sent_text.client_id).update(mobile_phone="+14085550199")

    report(client, "undelivered", ErrorCode="21211")

    sent_text.client.refresh_from_db()
    assert sent_text.client.mobile_phone_problem == ""
    sent_text.refresh_from_db()
    assert sent_text.status == MessageStatus.UNDELIVERED and sent_text.error_code == "21211"


@pytest.mark.parametrize(
    "odd",
    [
        {"ErrorCode": "２１６１０"},  # full-width digits: not Twilio's 21610
        {"ErrorCode": "9" * 5000},
        {"ErrorCode": "30006\x00"},
        {"MessageStatus": "délivered"},
        {"MessageStatus": "DELIVERED\x00"},
        {"To": "+1" + "4" * 3000},
        {"ErrorCode": "-1"},
    ],
)
def test_odd_signed_status_reports_never_500_and_never_mark_a_stop(client, sent_text, odd):
    data = {"MessageSid": SID, "MessageStatus": "undelivered", "To": PHONE, **odd}
    for url in (URL, URL + "?text=%EF%BC%99%EF%BC%99", URL + "?text=" + "1" * 40):
        signature = RequestValidator("test-auth-token").compute_signature("http://testserver" + url, data)
        response = client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code in (204, 400)
    assert not SmsOptOut.objects.exists()


def test_an_unsubscribed_report_for_a_shared_number_lists_the_number_once_and_flags_no_record(client, sent_text):
    sharer = ClientFactory(mobile_phone=PHONE)

    report(client, "undelivered", ErrorCode="21610")

    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).count() == 1
    sharer.refresh_from_db()
    sent_text.client.refresh_from_db()
    assert sharer.mobile_phone_problem == "" and sent_text.client.mobile_phone_problem == ""


def test_an_invalid_number_report_flags_only_the_record_the_text_was_for(client, sent_text):
    sharer = ClientFactory(mobile_phone=PHONE)

    report(client, "undelivered", ErrorCode="21211")

    sharer.refresh_from_db()
    sent_text.client.refresh_from_db()
    assert sent_text.client.mobile_phone_problem.startswith("Not a valid phone number")
    assert sharer.mobile_phone_problem == ""
