"""Twilio status callbacks: signed, idempotent, never moving a status backwards."""

import threading
import time

import pytest
from django.db import connection, transaction
from twilio.request_validator import RequestValidator

from messaging.delivery import apply_delivery_status
from messaging.models import MessageStatus, SmsMessage, SmsOptOut
from tests.support.builders import ClientFactory
from tests.support.environment import requires_postgres

pytestmark = pytest.mark.django_db

URL = "/messaging/twilio/status/"


def signed_post(client, data, *, token="test-auth-token", url=URL, site="http://testserver"):
    signature = RequestValidator(token).compute_signature(site + url, data)
    return client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def sent_message():
    return SmsMessage.objects.create(
        to_number="+14085550143",
        body="Reminder",
        status=MessageStatus.SENT,
        twilio_sid="SM" + "a" * 32,
        client=ClientFactory(mobile_phone="+14085550143"),
    )


def callback(status, sid="SM" + "a" * 32, **extra):
    return {"MessageSid": sid, "MessageStatus": status, "To": "+14085550143", "AccountSid": "AC" + "0" * 32, **extra}


@pytest.mark.policy("collect-appointments-messages")
def test_signed_delivery_report_updates_the_status(client, sent_message):
    response = signed_post(client, callback("delivered"))
    sent_message.refresh_from_db()
    assert response.status_code == 204 and sent_message.status == MessageStatus.DELIVERED


@pytest.mark.parametrize("signature", [None, "", "bm90LWEtc2lnbmF0dXJl"])
def test_missing_or_wrong_signature_is_403_and_changes_nothing(client, sent_message, signature):
    headers = {} if signature is None else {"HTTP_X_TWILIO_SIGNATURE": signature}
    response = client.post(URL, callback("failed"), **headers)
    sent_message.refresh_from_db()
    assert response.status_code == 403 and sent_message.status == MessageStatus.SENT


def test_signature_made_with_another_token_is_refused(client, sent_message):
    assert signed_post(client, callback("delivered"), token="someone-elses-token").status_code == 403


def test_while_rotating_the_auth_token_webhooks_signed_with_the_old_one_still_count(client, sent_message, settings):
    settings.TWILIO_AUTH_TOKEN, settings.TWILIO_AUTH_TOKEN_FALLBACKS = "new-token", ["test-auth-token"]
    assert signed_post(client, callback("sent"), token="test-auth-token").status_code == 204
    assert signed_post(client, callback("delivered"), token="new-token").status_code == 204
    settings.TWILIO_AUTH_TOKEN_FALLBACKS = []  # rotation finished
    assert signed_post(client, callback("delivered"), token="test-auth-token").status_code == 403


def test_signature_is_checked_against_site_url_not_the_proxied_host(client, sent_message, settings):
    settings.SITE_URL = "https://clinic.example"
    # Behind a proxy the request arrives as http://testserver, but Twilio signed the public URL.
    assert signed_post(client, callback("delivered"), site="https://clinic.example").status_code == 204
    assert signed_post(client, callback("delivered"), site="http://testserver").status_code == 403


def test_tampered_body_breaks_the_signature(client, sent_message):
    data = callback("delivered")
    signature = RequestValidator("test-auth-token").compute_signature("http://testserver" + URL, data)
    response = client.post(URL, {**data, "MessageStatus": "failed"}, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403


def test_status_never_moves_backwards_and_repeats_are_harmless(client, sent_message):
    for status in ["delivered", "sent", "failed", "delivered"]:
        assert signed_post(client, callback(status)).status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.DELIVERED


def test_unknown_sid_is_acknowledged_without_change(client, sent_message):
    assert signed_post(client, callback("delivered", sid="SM" + "b" * 32)).status_code == 204
    assert SmsMessage.objects.get().status == MessageStatus.SENT


def test_missing_fields_are_400(client, sent_message):
    assert signed_post(client, {"AccountSid": "AC1"}).status_code == 400


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_undelivered_with_unsubscribed_code_records_an_opt_out(client, sent_message):
    signed_post(client, callback("undelivered", ErrorCode="21610"))
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.UNDELIVERED and sent_message.error_code == "21610"
    assert SmsOptOut.objects.count() == 1


@pytest.fixture
def lost_send():
    """A text handed to Twilio whose answer never reached us; the give-up sweep has marked it failed."""
    return SmsMessage.objects.create(
        to_number="+14085550143",
        body="Reminder",
        status=MessageStatus.FAILED,
        attempts=1,
        status_reason="Worker lost while handing to the provider; not resent, to avoid a duplicate.",
        client=ClientFactory(mobile_phone="+14085550143"),
    )


def test_a_report_for_a_text_whose_answer_was_lost_records_it_as_sent_with_its_sid(client, lost_send):
    sid = "SM" + "b" * 32
    url = f"{URL}?text={lost_send.pk}"
    assert signed_post(client, callback("sent", sid=sid), url=url).status_code == 204
    lost_send.refresh_from_db()
    assert lost_send.status == MessageStatus.SENT and lost_send.twilio_sid == sid
    assert lost_send.sent_at is not None and "Confirmed by Twilio" in lost_send.status_reason
    assert signed_post(client, callback("delivered", sid=sid), url=url).status_code == 204
    lost_send.refresh_from_db()
    assert lost_send.status == MessageStatus.DELIVERED


def test_a_report_cannot_take_over_a_text_that_has_its_own_sid_or_was_never_sent(client, sent_message, lost_send):
    other_sid = "SM" + "c" * 32
    signed_post(client, callback("delivered", sid=other_sid), url=f"{URL}?text={sent_message.pk}")
    sent_message.refresh_from_db()
    assert sent_message.twilio_sid == "SM" + "a" * 32 and sent_message.status == MessageStatus.SENT
    queued = SmsMessage.objects.create(to_number="+14085550143", body="Later", status=MessageStatus.QUEUED)
    signed_post(client, callback("delivered", sid=other_sid), url=f"{URL}?text={queued.pk}")
    queued.refresh_from_db()
    assert queued.status == MessageStatus.QUEUED and queued.twilio_sid is None


def test_a_report_for_another_recipient_does_not_confirm_a_text_with_that_id(client, lost_send):
    # After a database restore ids are handed out again: a late report for the old text N names another number.
    url = f"{URL}?text={lost_send.pk}"
    signed_post(client, callback("sent", sid="SM" + "b" * 32, To="+14085550999"), url=url)
    lost_send.refresh_from_db()
    assert lost_send.status == MessageStatus.FAILED and lost_send.twilio_sid is None


@pytest.mark.parametrize("text", ["abc", "%C2%B2", "9" * 40, ""])  # %C2%B2: a superscript 2, a digit to isdigit()
def test_a_malformed_text_id_is_ignored(client, lost_send, text):
    response = signed_post(client, callback("delivered", sid="SM" + "d" * 32), url=f"{URL}?text={text}")
    lost_send.refresh_from_db()
    assert response.status_code == 204 and lost_send.status == MessageStatus.FAILED


def test_the_report_url_of_a_text_cannot_be_pointed_at_another_text(client, lost_send):
    data = callback("sent", sid="SM" + "e" * 32)
    signature = RequestValidator("test-auth-token").compute_signature(f"http://testserver{URL}?text=999999", data)
    response = client.post(f"{URL}?text={lost_send.pk}", data, HTTP_X_TWILIO_SIGNATURE=signature)
    lost_send.refresh_from_db()
    assert response.status_code == 403 and lost_send.status == MessageStatus.FAILED


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_report_racing_the_senders_own_save_is_applied_not_dropped():
    sid = "SM" + "9" * 32
    message = SmsMessage.objects.create(to_number="+14085550143", body="Reminder", status=MessageStatus.SENDING)
    saved = threading.Event()

    def sender_saves_its_answer():  # deliver_sms's save after Twilio answered, committing a moment later
        with transaction.atomic():
            SmsMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
                status=MessageStatus.SENT, twilio_sid=sid
            )
            saved.set()
            time.sleep(0.5)
        connection.close()

    sender = threading.Thread(target=sender_saves_its_answer)
    sender.start()
    saved.wait()
    known = apply_delivery_status(sid=sid, provider_status="delivered", message_id=message.pk, to="+14085550143")
    sender.join()
    message.refresh_from_db()
    assert known and message.status == MessageStatus.DELIVERED
