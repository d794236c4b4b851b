"""The manage link's pages and the payment pages name the client, their treatment, an amount or a card:
no browser, proxy or back-forward cache may keep them (Cache-Control: no-store)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from appointments.links import manage_token
from payments.links import fee_token
from payments.models import Payment, PaymentKind, PaymentStatus
from tests.support.payments import accept_policy, clinic_asking, pay_on_local_page, start_paid_booking

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")


def slot():
    return datetime.combine(datetime.now(LA).date() + timedelta(days=10), time(10), tzinfo=LA)


def assert_not_stored(response):
    assert response.status_code in (200, 302, 409), response.status_code
    assert "no-store" in response.get("Cache-Control", ""), (response.request["PATH_INFO"], response.headers)


def test_the_payment_steps_pages_are_never_cached(client):
    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=5000)
    checkout = start_paid_booking(client, location, service, slot())
    assert_not_stored(client.get(reverse("payments:booking_checkout", args=[checkout.key])))
    assert_not_stored(accept_policy(client, checkout))
    checkout.refresh_from_db()
    local_page = reverse("payments:local_checkout", args=[checkout.stripe_checkout_session_id])
    assert_not_stored(client.get(local_page))
    paid = client.post(local_page, {"card": "pm_card_visa"})
    assert_not_stored(paid)
    assert_not_stored(client.get(reverse("payments:booking_checkout_return", args=[checkout.key])))


@pytest.mark.policy("use-payments")
def test_the_manage_links_pages_and_the_fee_link_are_never_cached(client):
    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=5000)
    checkout = start_paid_booking(client, location, service, slot())
    accept_policy(client, checkout)
    checkout.refresh_from_db()
    pay_on_local_page(client, checkout)
    checkout.refresh_from_db()
    token = manage_token(checkout.appointment)
    for name in ("manage", "reschedule"):
        assert_not_stored(client.get(reverse(f"appointments:{name}", args=[token])))
    assert_not_stored(client.post(reverse("appointments:cancel", args=[token])))

    fee = Payment.objects.create(
        client=checkout.client,
        location=location,
        appointment=checkout.appointment,
        kind=PaymentKind.NO_SHOW_FEE,
        amount=6000,
        status=PaymentStatus.REQUIRES_ACTION,
    )
    assert_not_stored(client.get(reverse("payments:fee", args=[fee_token(fee)])))
