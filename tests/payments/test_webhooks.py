"""Stripe's webhooks: signature checked by the library, each event applied once, in any order."""

import time

import pytest

from payments import services
from payments.models import (
    CardSetup,
    Payment,
    PaymentStatus,
    ProcessedWebhookEvent,
    Refund,
    RefundStatus,
    SavedCard,
)
from tests.support.builders import ClientFactory
from tests.support.payments import event, intent_of, post_event

pytestmark = pytest.mark.django_db


def charge(payment, amount_refunded, refunds=()):
    return {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": payment.stripe_payment_intent_id,
        "amount": payment.amount,
        "amount_refunded": amount_refunded,
        "refunds": {"object": "list", "data": [{"id": r, "object": "refund", "status": "succeeded"} for r in refunds]},
    }


def test_a_signed_payment_intent_succeeded_marks_the_deposit_paid(client, deposit):
    response = post_event(client, event("payment_intent.succeeded", intent_of(deposit)))
    assert response.status_code == 200
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.SUCCEEDED


@pytest.mark.policy("use-payments")
@pytest.mark.parametrize(
    "signature",
    ["", "t=1,v1=deadbeef", "garbage"],
    ids=["missing", "wrong", "unreadable"],
)
def test_a_bad_or_missing_signature_is_400_and_changes_nothing(client, deposit, signature):
    response = post_event(client, event("payment_intent.succeeded", intent_of(deposit)), signature=signature)
    assert response.status_code == 400
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.REQUIRES_PAYMENT_METHOD and not ProcessedWebhookEvent.objects.exists()


def test_an_event_signed_with_another_secret_or_too_old_is_refused(client, deposit):
    assert (
        post_event(client, event("payment_intent.succeeded", intent_of(deposit)), secret="whsec_other").status_code
        == 400
    )
    old = int(time.time()) - 3600  # outside the library's five-minute tolerance: a captured request replayed
    assert post_event(client, event("payment_intent.succeeded", intent_of(deposit)), timestamp=old).status_code == 400
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.REQUIRES_PAYMENT_METHOD


def test_webhooks_are_refused_when_no_signing_secret_is_set(client, deposit, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = post_event(client, event("payment_intent.succeeded", intent_of(deposit)), secret="")
    assert response.status_code == 400
    deposit.refresh_from_db()
    assert deposit.status != PaymentStatus.SUCCEEDED


@pytest.mark.policy("use-payments")
def test_a_replayed_event_id_is_applied_once(client, deposit):
    succeeded = event("payment_intent.succeeded", intent_of(deposit), event_id="evt_once")
    assert post_event(client, succeeded).content == b"applied"
    Payment.objects.filter(pk=deposit.pk).update(status=PaymentStatus.REQUIRES_ACTION)  # anything moved since
    assert post_event(client, succeeded).content == b"duplicate"
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.REQUIRES_ACTION
    assert ProcessedWebhookEvent.objects.filter(event_id="evt_once").count() == 1


@pytest.mark.policy("use-payments")
def test_a_delivery_racing_past_the_first_check_is_still_applied_once(deposit):
    """Two deliveries of one event at once: both pass the cheap look-up before either commits;
    the event row written in the same transaction as the effect lets only one apply it."""
    from unittest import mock

    from django.db.models import QuerySet

    refunded = event("charge.refunded", charge(deposit, 5000), event_id="evt_race")
    assert services.handle_stripe_event(refunded) == "applied"
    Payment.objects.filter(pk=deposit.pk).update(status=PaymentStatus.SUCCEEDED, amount_refunded=0)
    with mock.patch.object(QuerySet, "exists", return_value=False):  # the look-up saw nothing yet
        assert services.handle_stripe_event(refunded) == "duplicate"
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.SUCCEEDED and deposit.amount_refunded == 0


@pytest.mark.policy("use-payments")
def test_a_success_arriving_after_the_refund_does_not_unrefund(client, deposit):
    post_event(client, event("charge.refunded", charge(deposit, 5000)))
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.REFUNDED and deposit.amount_refunded == 5000
    post_event(client, event("payment_intent.succeeded", intent_of(deposit)))
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.REFUNDED and deposit.amount_refunded == 5000


def test_a_failure_arriving_after_the_success_does_not_undo_it(client, deposit):
    post_event(client, event("payment_intent.succeeded", intent_of(deposit)))
    post_event(client, event("payment_intent.payment_failed", intent_of(deposit, status="requires_payment_method")))
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.SUCCEEDED


def test_a_failure_then_a_retry_that_succeeds_ends_paid(client, deposit):
    failed = intent_of(deposit, status="requires_payment_method", last_payment_error={"message": "Card declined"})
    post_event(client, event("payment_intent.payment_failed", failed))
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.FAILED and deposit.status_reason == "Card declined"
    post_event(client, event("payment_intent.succeeded", intent_of(deposit)))
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.SUCCEEDED


def test_a_success_for_another_amount_does_not_mark_the_payment_paid(client, deposit):
    post_event(client, event("payment_intent.succeeded", intent_of(deposit, amount=1)))
    deposit.refresh_from_db()
    assert deposit.status != PaymentStatus.SUCCEEDED


def test_a_success_finds_a_payment_whose_create_answer_was_lost_by_our_id_in_the_metadata(client, deposit):
    intent_id = deposit.stripe_payment_intent_id
    Payment.objects.filter(pk=deposit.pk).update(stripe_payment_intent_id=None, status=PaymentStatus.UNKNOWN)
    post_event(client, event("payment_intent.succeeded", {**intent_of(deposit), "id": intent_id}))
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.SUCCEEDED and deposit.stripe_payment_intent_id == intent_id


def test_charge_refunded_confirms_our_refund_and_a_retry_of_it_changes_nothing(client, deposit, fake_stripe):
    fake_stripe.succeed(deposit.stripe_payment_intent_id)
    post_event(client, event("payment_intent.succeeded", intent_of(deposit)))
    refund = Refund.objects.create(payment=deposit, amount=2000, reason="goodwill", stripe_refund_id="re_1")
    refunded = event("charge.refunded", charge(deposit, 2000, refunds=["re_1"]))
    post_event(client, refunded)
    post_event(client, refunded)
    refund.refresh_from_db()
    deposit.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert deposit.amount_refunded == 2000 and deposit.status == PaymentStatus.PARTIALLY_REFUNDED


def test_setup_intent_succeeded_saves_only_the_cards_ids_brand_last4_and_expiry(client, fake_stripe):
    person = ClientFactory()
    setup = services.start_card_setup(client=person)
    obj = {
        "id": setup.stripe_setup_intent_id,
        "object": "setup_intent",
        "status": "succeeded",
        "payment_method": "pm_card_visa",
        "metadata": {"card_setup": str(setup.pk)},
    }
    assert post_event(client, event("setup_intent.succeeded", obj)).status_code == 200
    card = SavedCard.objects.get(client=person)
    assert (card.stripe_payment_method_id, card.brand, card.last4, card.exp_month, card.exp_year) == (
        "pm_card_visa",
        "visa",
        "4242",
        12,
        2034,
    )
    assert CardSetup.objects.get(pk=setup.pk).status == "succeeded"


def test_an_unknown_event_type_is_acknowledged_and_ignored(client, deposit):
    response = post_event(client, event("customer.updated", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200 and response.content == b"ignored"


def test_a_signed_body_that_is_not_an_event_is_400_not_500(client, fake_stripe):
    response = post_event(client, {"id": "evt_1", "type": "payment_intent.succeeded"})
    assert response.status_code == 400


def test_a_get_is_not_allowed(client, fake_stripe):
    assert client.get("/payments/stripe/webhook/").status_code == 405


def test_a_refund_reported_before_the_success_leaves_the_payment_refunded_whatever_arrives_next(client, deposit):
    Payment.objects.filter(pk=deposit.pk).update(status=PaymentStatus.UNKNOWN)
    post_event(client, event("charge.refunded", charge(deposit, 2000)))
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.PARTIALLY_REFUNDED and deposit.amount_refunded == 2000
    post_event(client, event("payment_intent.succeeded", intent_of(deposit)))
    post_event(client, event("payment_intent.payment_failed", intent_of(deposit)))
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.PARTIALLY_REFUNDED and deposit.amount_refunded == 2000


def test_a_card_saved_for_a_person_erased_meanwhile_is_not_kept(client, fake_stripe):
    person = ClientFactory()
    setup = services.start_card_setup(client=person)
    CardSetup.objects.filter(pk=setup.pk).update(client=None)  # what erasure does
    obj = {"id": setup.stripe_setup_intent_id, "object": "setup_intent", "payment_method": "pm_card_visa"}
    post_event(client, event("setup_intent.succeeded", obj))
    assert not SavedCard.objects.exists()


def test_when_stripe_cannot_give_the_cards_details_the_event_is_answered_503_and_applied_on_redelivery(
    client, fake_stripe
):
    person = ClientFactory()
    setup = services.start_card_setup(client=person)
    obj = {"id": setup.stripe_setup_intent_id, "object": "setup_intent", "payment_method": "pm_card_visa"}
    saved = event("setup_intent.succeeded", obj, event_id="evt_card")
    fake_stripe.fail_next(1, status=500)
    assert post_event(client, saved).status_code == 503  # Stripe delivers it again later
    assert not SavedCard.objects.exists() and not ProcessedWebhookEvent.objects.exists()
    assert post_event(client, saved).status_code == 200
    assert SavedCard.objects.filter(client=person).count() == 1
