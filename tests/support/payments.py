"""Stripe as the tests see it: signed webhook events posted to the endpoint."""

import json
import time

from django.db import connection

from payments.backends import local
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


def clinic_asking(kind="deposit_fixed", *, deposit_amount=5000, late_cancel_fee=4000, no_show_fee=6000, **extra):
    """A bookable location and service whose booking asks for a deposit (or a card on file), with a policy."""
    from payments import services
    from payments.models import PaymentRequirement
    from tests.support.builders import bookable_clinic

    location, service, people = bookable_clinic(**extra)
    PaymentRequirement.objects.create(
        location=location,
        service=service,
        kind=kind,
        deposit_amount=deposit_amount if kind == "deposit_fixed" else None,
    )
    policy = services.save_cancellation_policy(
        location=location, window_hours=24, late_cancel_fee=late_cancel_fee, no_show_fee=no_show_fee
    )
    return location, service, people, policy


def start_paid_booking(http, location, service, start, **overrides):
    """Send the booking form for a service that asks for a payment; the checkout it started."""
    from payments.models import BookingCheckout
    from tests.support.booking import post_booking

    response = post_booking(http, location, service, start, **overrides)
    assert response.status_code == 302, response.content.decode()[:2000]
    checkout = BookingCheckout.objects.get(key=response.url.rstrip("/").split("/")[-1])
    return checkout


def accept_policy(http, checkout, **extra):
    """Tick "I accept the cancellation policy" and continue: the response redirects to the hosted page."""
    from django.urls import reverse

    data = {"accept_cancellation_policy": "on", **extra}
    return http.post(reverse("payments:booking_checkout", args=[checkout.key]), data)


def pay_on_local_page(http, checkout, card="pm_card_visa", **extra):
    from django.urls import reverse

    checkout.refresh_from_db()
    return http.post(
        reverse("payments:local_checkout", args=[checkout.stripe_checkout_session_id]), {"card": card, **extra}
    )


class WatchingBackend(local.PaymentsBackend):
    """The local backend, noting for each call whether a database transaction was open."""

    seen: list[tuple[str, bool]] = []

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if callable(attr) and not name.startswith("_"):

            def watched(*args, **kwargs):
                WatchingBackend.seen.append((name, connection.in_atomic_block))
                return attr(*args, **kwargs)

            return watched
        return attr
