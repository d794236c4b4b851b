"""Attacks on the webhook with signed but odd bodies: always a 4xx or 200, never a 500 or a half-applied event."""

import pytest

from payments.models import Payment, PaymentStatus, ProcessedWebhookEvent
from tests.support.payments import event, intent_of, post_event

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "event_id",
    ["evt_\x00nul", "evt_" + "x" * 300, "", 12345],
    ids=["nul", "too-long", "empty", "number"],
)
def test_an_event_id_that_cannot_be_stored_is_400_and_applies_nothing(client, deposit, event_id):
    body = event("payment_intent.succeeded", intent_of(deposit))
    body["id"] = event_id
    response = post_event(client, body)
    assert response.status_code == 400
    deposit.refresh_from_db()
    assert deposit.status != PaymentStatus.SUCCEEDED
    assert not ProcessedWebhookEvent.objects.exists()


def test_an_event_type_with_a_nul_is_400(client, deposit):
    response = post_event(client, event("payment_intent.succeeded\x00", intent_of(deposit)))
    assert response.status_code == 400


@pytest.mark.parametrize("ours", ["²", "9" * 40, "-1"])
def test_odd_metadata_ids_are_not_ours_never_a_500(client, deposit, ours):
    Payment.objects.filter(pk=deposit.pk).update(stripe_payment_intent_id=None)
    intent = intent_of(deposit, id="pi_lost", metadata={"payment": ours})
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
    post_event(client, event("payment_intent.succeeded", intent_of(deposit)))
    obj = {"id": "ch_1", "object": "charge", "payment_intent": deposit.stripe_payment_intent_id, "amount_refunded": "x"}
    response = post_event(client, event("charge.refunded", obj))
    assert response.status_code == 400
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.SUCCEEDED and deposit.amount_refunded == 0
