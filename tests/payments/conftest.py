import json
import time

import pytest

from tests.fakes.stripe_server import FakeStripe, sign

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture(autouse=True)
def _local_payments_backend(settings):
    from payments.backends import local

    settings.PAYMENTS_BACKEND = "payments.backends.local.PaymentsBackend"
    local.reset()
    yield
    local.reset()


@pytest.fixture
def fake_stripe(settings):
    """The real Stripe backend and library, pointed at a local fake Stripe API."""
    server = FakeStripe().start()
    settings.PAYMENTS_BACKEND = "payments.backends.stripe.PaymentsBackend"
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    server.hang_seconds = 1.5
    yield server
    server.stop()


def post_event(http, event, *, secret=WEBHOOK_SECRET, signature=None, timestamp=None):
    payload = json.dumps(event)
    header = signature if signature is not None else sign(payload, secret, timestamp=timestamp)
    return http.post(
        "/payments/stripe/webhook/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


def event(event_type, obj, *, event_id=None):
    return {
        "id": event_id or f"evt_{time.monotonic_ns()}",
        "object": "event",
        "type": event_type,
        "api_version": "2025-01-01",
        "created": int(time.time()),
        "data": {"object": obj},
    }
