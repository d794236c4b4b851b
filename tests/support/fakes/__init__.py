"""Local stand-ins for outside providers, so no test reaches another host; their fixtures."""

import pytest

from tests.support.fakes.stripe_server import FakeStripe
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


@pytest.fixture
def fake_stripe(settings):
    """The real Stripe backend and library, pointed at a local fake Stripe API."""
    server = FakeStripe().start()
    settings.PAYMENTS_BACKEND = "payments.backends.stripe.PaymentsBackend"
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_secret"  # tests.support.payments.WEBHOOK_SECRET
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    server.hang_seconds = 1.5
    yield server
    server.stop()
