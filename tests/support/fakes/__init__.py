"""Local stand-ins for outside providers, so no test reaches another host; their fixtures."""

import pytest

from tests.support.fakes.twilio_server import FakeTwilio


@pytest.fixture
def fake_twilio(settings):
    """The real Twilio backend, pointed at a local fake Messages API."""
    server = FakeTwilio().start()
    settings.SMS_BACKEND = "messaging.backends.twilio.SmsBackend"
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    settings.TWILIO_API_BASE_URL = server.url
    yield server
    server.stop()
