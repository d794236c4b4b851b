"""`manage.py simulate_sms`: a signed inbound text to a running app (live_server), without Twilio."""

import pytest
from django.core.management import CommandError, call_command

from messaging.models import Direction, SmsMessage
from messaging.opt_outs import is_sms_opted_out
from tests.support.builders import ClientFactory, LocationFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+14085550143"


@pytest.fixture
def running_app(live_server, settings):
    settings.SITE_URL = live_server.url
    LocationFactory(phone="+14088211633")
    return live_server


def test_simulated_stop_reaches_the_running_app_signed_and_opts_the_number_out(running_app, capsys):
    ClientFactory(mobile_phone=PHONE)
    call_command("simulate_sms", "--from", PHONE, "STOP")
    out = capsys.readouterr().out
    assert is_sms_opted_out(PHONE)
    inbound = SmsMessage.objects.get(direction=Direction.INBOUND)
    assert (inbound.from_number, inbound.to_number, inbound.body) == (PHONE, "+14088211633", "STOP")
    assert "Reply: " in out and "unsubscribed" in out.lower()


def test_a_simulated_question_waits_unread_in_the_inbox(running_app, capsys):
    call_command("simulate_sms", "--from", "(408) 555-0143", "Can I come at 3 instead?")
    inbound = SmsMessage.objects.get(direction=Direction.INBOUND)
    assert inbound.from_number == PHONE and inbound.read_at is None
    assert "No reply" in capsys.readouterr().out


def test_an_address_other_than_the_apps_site_url_is_refused_with_a_clear_message(running_app):
    # The signature covers the URL: signed for one host name, checked against SITE_URL's other one.
    host = running_app.url.split("//")[1].split(":")[0]
    other = running_app.url.replace(host, "127.0.0.1" if host == "localhost" else "localhost")
    with pytest.raises(CommandError, match="refused the signature"):
        call_command("simulate_sms", "--from", PHONE, "--url", other, "STOP")
    assert not is_sms_opted_out(PHONE) and not SmsMessage.objects.exists()


def test_bad_input_is_a_clear_error_and_sends_nothing(running_app):
    with pytest.raises(CommandError, match="not a phone number"):
        call_command("simulate_sms", "--from", "nobody", "STOP")
    with pytest.raises(CommandError, match="empty"):
        call_command("simulate_sms", "--from", PHONE, "  ")
    with pytest.raises(CommandError, match="Could not reach"):
        call_command("simulate_sms", "--from", PHONE, "--url", "http://127.0.0.1:9", "STOP")
    assert not SmsMessage.objects.exists()
