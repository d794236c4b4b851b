"""Attacks on the webhook with signed but odd bodies: always a 4xx or 200, never a 500 or a half-applied event."""

import pytest

from payments import services
from payments.models import Payment, PaymentKind, PaymentStatus, ProcessedWebhookEvent
from tests.support.builders import ClientFactory, LocationFactory
from tests.support.payments import event, post_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def deposit(fake_stripe):
    client = ClientFactory()
    customer = services.ensure_stripe_customer(client=client)
    payment = Payment.objects.create(
        client=client, location=LocationFactory(), kind=PaymentKind.DEPOSIT, amount=5000, currency="usd"
    )
    return services.submit_payment(payment_id=payment.pk, customer_id=customer)


def _intent(payment, **extra):
    return {
        "id": payment.stripe_payment_intent_id,
        "object": "payment_intent",
        "amount": payment.amount,
        "currency": payment.currency,
        "status": "succeeded",
        "metadata": {"payment": str(payment.pk)},
        **extra,
    }


@pytest.mark.parametrize(
    "event_id",
    ["evt_\x00nul", "evt_" + "x" * 300, "", 12345],
    ids=["nul", "too-long", "empty", "number"],
)
def test_an_event_id_that_cannot_be_stored_is_400_and_applies_nothing(client, deposit, event_id):
    body = event("payment_intent.succeeded", _intent(deposit))
    body["id"] = event_id
    response = post_event(client, body)
    assert response.status_code == 400
    deposit.refresh_from_db()
    assert deposit.status != PaymentStatus.SUCCEEDED
    assert not ProcessedWebhookEvent.objects.exists()


def test_an_event_type_with_a_nul_is_400(client, deposit):
    response = post_event(client, event("payment_intent.succeeded\x00", _intent(deposit)))
    assert response.status_code == 400


@pytest.mark.parametrize("ours", ["²", "9" * 40, "-1"])
def test_odd_metadata_ids_are_not_ours_never_a_500(client, deposit, ours):
    Payment.objects.filter(pk=deposit.pk).update(stripe_payment_intent_id=None)
    intent = _intent(deposit, id="pi_lost", metadata={"payment": ours})
    response = post_event(client, event("payment_intent.succeeded", intent))
    assert response.status_code == 200
    deposit.refresh_from_db()
    assert deposit.status != PaymentStatus.SUCCEEDED


@pytest.mark.parametrize("ours", ["²", "9" * 40])
def test_odd_card_setup_ids_are_not_ours_never_a_500(client, fake_stripe, ours):
    obj = {"id": "seti_x", "object": "setup_intent", "payment_method": "pm_1", "metadata": {"card_setup": ours}}
    response = post_event(client, event("setup_intent.succeeded", obj))
    assert response.status_code == 200


def test_a_refunded_amount_that_is_not_a_number_is_400_and_changes_nothing(client, deposit):
    post_event(client, event("payment_intent.succeeded", _intent(deposit)))
    obj = {"id": "ch_1", "object": "charge", "payment_intent": deposit.stripe_payment_intent_id, "amount_refunded": "x"}
    response = post_event(client, event("charge.refunded", obj))
    assert response.status_code == 400
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.SUCCEEDED and deposit.amount_refunded == 0
