"""Twilio webhooks: signature before anything (rate limits included), a STOP is never lost, no input gives a 500."""

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from clinic.hashing import contact_hash
from messaging.keywords import Keyword, classify
from messaging.models import Direction, SmsMessage, SmsOptOut

pytestmark = pytest.mark.django_db
INBOUND = "/messaging/twilio/inbound/"
STATUS = "/messaging/twilio/status/"
PHONE = "+14085550143"


def post(client, url, data, sign=True):
    headers = {}
    if sign:
        headers["HTTP_X_TWILIO_SIGNATURE"] = RequestValidator("test-auth-token").compute_signature(
            "http://testserver" + url, data
        )
    return client.post(url, data, **headers)


def inbound(body, sid, sender=PHONE):
    return {"MessageSid": sid, "From": sender, "To": "+14088211633", "Body": body}


@pytest.fixture
def tight_limits(settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_sender": "2/m", "webhook": "3/m"}


@pytest.mark.policy("sms-stop")
def test_unsigned_traffic_does_not_use_up_a_senders_budget(client, tight_limits):
    """Forged posts with the victim's number are 403 before any counter; the real texts then go through.

    A STOP is answered even over the limit (it is never lost), so the sender's next ordinary text (HELP,
    answered 429 over the limit) is what shows the forged posts counted for nothing.
    """
    for n in range(10):
        assert post(client, INBOUND, inbound("hello", f"SM{n:032d}"), sign=False).status_code == 403
    helped = post(client, INBOUND, inbound("HELP", "SM" + "9" * 32))
    assert helped.status_code == 200 and "<Message>" in helped.content.decode()
    response = post(client, INBOUND, inbound("STOP", "SM" + "a" * 32))
    assert response.status_code == 200 and "unsubscribed" in response.content.decode()
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()


def test_unsigned_status_callbacks_do_not_use_up_the_webhook_budget(client, tight_limits):
    for n in range(10):
        assert (
            post(client, STATUS, {"MessageSid": f"SM{n:032d}", "MessageStatus": "sent"}, sign=False).status_code == 403
        )
    assert post(client, STATUS, {"MessageSid": "SM" + "b" * 32, "MessageStatus": "sent"}).status_code == 204


@pytest.mark.policy("sms-stop")
def test_a_signed_stop_over_the_rate_limit_is_stored_and_applied(client, tight_limits):
    for n in range(2):
        assert post(client, INBOUND, inbound("hello?", f"SM{n:032d}")).status_code == 200
    response = post(client, INBOUND, inbound("Stop", "SM" + "c" * 32))
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()
    assert SmsMessage.objects.filter(
        twilio_sid="SM" + "c" * 32, direction=Direction.INBOUND, keyword="opt_out"
    ).exists()
    # Its single confirmation still goes; a second STOP over the limit is stored and answered 429.
    assert response.status_code == 200 and "unsubscribed" in response.content.decode()
    assert post(client, INBOUND, inbound("STOP", "SM" + "9" * 32)).status_code == 429
    assert SmsMessage.objects.filter(twilio_sid="SM" + "9" * 32).exists()


def test_other_signed_texts_over_the_limit_wait_unread_in_the_inbox_with_no_reply(client, tight_limits):
    for n in range(2):
        post(client, INBOUND, inbound("hello?", f"SM{n:032d}"))
    assert post(client, INBOUND, inbound("HELP", "SM" + "d" * 32)).status_code == 429
    stored = SmsMessage.objects.get(twilio_sid="SM" + "d" * 32)
    assert stored.read_at is None
    assert not SmsMessage.objects.filter(in_reply_to=stored).exists()


@pytest.mark.parametrize(
    "body", ["ＳＴＯＰ", "S\x00TOP", "STOP\u200b", "\u00adStop", "ｓｔｏｐ", "STOP\x07", "Ｓｔｏｐ！"]
)
def test_keywords_are_nfkc_normalised_and_control_characters_ignored(body):
    assert classify(body) == Keyword.OPT_OUT


def test_a_full_width_stop_with_a_nul_byte_is_a_stop_and_is_stored_without_the_nul(client):
    response = post(client, INBOUND, inbound("ＳＴ\x00ＯＰ", "SM" + "e" * 32))
    assert response.status_code == 200
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()
    assert "\x00" not in SmsMessage.objects.get(twilio_sid="SM" + "e" * 32).body


def test_a_huge_signed_body_is_a_4xx(client):
    assert post(client, INBOUND, inbound("x" * 3_000_000, "SM" + "f" * 32)).status_code in (400, 413)
    assert post(client, INBOUND, inbound("x" * 5000, "SM" + "f" * 32)).status_code == 400


any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
odd_text = st.one_of(
    any_text, st.sampled_from(["\x00", "STOP\x00", "ＳＴＯＰ", "\u202e", "\ufeffSTART", "9" * 70, "SM\x00abc"])
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sid=st.one_of(st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), odd_text),
    sender=st.one_of(st.just(PHONE), odd_text, st.builds(lambda t: PHONE + t, odd_text)),
    to=odd_text,
    body=st.one_of(odd_text, st.text(max_size=2500)),
    status=st.one_of(st.sampled_from(["sent", "delivered", "failed"]), odd_text),
)
def test_no_signed_webhook_input_gives_a_500(client, sid, sender, to, body, status):
    """Signed requests with any unicode, NUL bytes or long values are answered below 500."""
    response = post(client, INBOUND, {"MessageSid": sid, "From": sender, "To": to, "Body": body})
    assert response.status_code < 500
    response = post(
        client, STATUS + "?text=" + "1", {"MessageSid": sid, "MessageStatus": status, "To": to, "ErrorCode": body[:30]}
    )
    assert response.status_code < 500
