"""Twilio status callbacks: signed, idempotent, never moving a status backwards."""

import pytest
from twilio.request_validator import RequestValidator

from messaging.models import MessageStatus, SmsMessage, SmsOptOut
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

URL = "/messaging/twilio/status/"


def signed_post(client, data, *, token="test-auth-token", url=URL, site="http://testserver"):
    signature = RequestValidator(token).compute_signature(site + url, data)
    return client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def sent_message():
    return SmsMessage.objects.create(
        to_number="+14085550143", body="Reminder", status=MessageStatus.SENT, twilio_sid="SM" + "a" * 32,
        client=ClientFactory(mobile_phone="+14085550143"),
    )


def callback(status, sid="SM" + "a" * 32, **extra):
    return {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, **extra}


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
