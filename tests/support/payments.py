"""Stripe as the tests see it: signed webhook events posted to the endpoint."""

import json
import time

from tests.support.fakes.stripe_server import sign

WEBHOOK_SECRET = "whsec_test_secret"


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


def intent_of(payment, **extra):
    """The payment_intent object for our payment as Stripe sends it: succeeded, unless `extra` says otherwise."""
    return {
        "id": payment.stripe_payment_intent_id,
        "object": "payment_intent",
        "amount": payment.amount,
        "currency": payment.currency,
        "status": "succeeded",
        "metadata": {"payment": str(payment.pk)},
        **extra,
    }
