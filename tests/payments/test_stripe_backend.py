"""The Stripe backend through the real library against the fake Stripe API: keys, amounts and faults."""

import pytest

from payments import services
from payments.models import (
    CancellationPolicy,
    Payment,
    PaymentKind,
    PaymentRequirement,
    PaymentStatus,
    Refund,
    RefundStatus,
    RequirementKind,
    SavedCard,
)
from payments.tasks import reconcile_payments
from tests.support.builders import ClientFactory, LocationFactory, ServiceFactory
from tests.support.fakes.stripe_server import DECLINED, NEEDS_AUTHENTICATION

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    location = LocationFactory()
    service = ServiceFactory(locations=[location])
    PaymentRequirement.objects.create(
        location=location, service=service, kind=RequirementKind.DEPOSIT_FIXED, deposit_amount=5000
    )
    return location, service, ClientFactory()


def paid_deposit(fake_stripe, clinic):
    location, service, client = clinic
    payment = services.start_deposit(client=client, location=location, service_id=service.pk)
    fake_stripe.succeed(payment.stripe_payment_intent_id)
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.SUCCEEDED)  # as the webhook would
    return Payment.objects.get(pk=payment.pk)


@pytest.mark.policy("use-payments")
def test_a_deposit_is_created_at_stripe_for_the_server_computed_amount_under_our_payments_key(fake_stripe, clinic):
    location, service, client = clinic
    payment = services.start_deposit(client=client, location=location, service_id=service.pk)
    (create,) = fake_stripe.calls("POST", "/v1/payment_intents")
    assert create["params"]["amount"] == "5000" and create["params"]["currency"] == "usd"
    assert create["idempotency_key"] == f"payment-{payment.pk}"
    assert fake_stripe.calls("POST", "/v1/customers")[0]["idempotency_key"] == f"customer-{client.pk}"
    assert payment.status == PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert payment.stripe_payment_intent_id in fake_stripe.payment_intents
    assert payment.amount == 5000 and payment.client_secret


def test_a_percentage_deposit_is_whole_cents_of_the_price_set_by_staff():
    requirement = PaymentRequirement(kind=RequirementKind.DEPOSIT_PERCENT, price_amount=9999, deposit_percent=15)
    assert requirement.deposit_due() == 1500  # 1499.85 rounded half up
    assert PaymentRequirement(kind=RequirementKind.CARD_ON_FILE, deposit_amount=5000).deposit_due() == 0


def test_no_deposit_is_taken_where_the_service_asks_for_none(fake_stripe, clinic):
    location, service, client = clinic
    PaymentRequirement.objects.filter(service=service).update(kind=RequirementKind.CARD_ON_FILE)
    with pytest.raises(services.PaymentRefused):
        services.start_deposit(client=client, location=location, service_id=service.pk)
    assert not fake_stripe.calls("POST", "/v1/payment_intents") and not Payment.objects.exists()


@pytest.mark.policy("use-payments")
def test_a_timeout_leaves_the_payment_unknown_and_reconciling_asks_again_with_the_same_key_for_one_intent(
    fake_stripe, clinic
):
    location, service, client = clinic
    services.ensure_stripe_customer(client=client)
    fake_stripe.hang_next()  # Stripe creates the intent, the answer never arrives in time
    payment = services.start_deposit(client=client, location=location, service_id=service.pk)
    assert payment.status == PaymentStatus.UNKNOWN
    assert "did not answer in time" in payment.status_reason and payment.stripe_payment_intent_id is None
    Payment.objects.filter(pk=payment.pk).update(updated_at=payment.updated_at.replace(year=2000))
    assert reconcile_payments() == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_PAYMENT_METHOD and payment.stripe_payment_intent_id
    keys = [r["idempotency_key"] for r in fake_stripe.calls("POST", "/v1/payment_intents")]
    assert keys == [f"payment-{payment.pk}"] * 2
    assert len(fake_stripe.payment_intents) == 1  # one intent at Stripe, never two


def test_a_stripe_5xx_leaves_a_clear_unknown_state_not_a_failure(fake_stripe, clinic):
    location, service, client = clinic
    services.ensure_stripe_customer(client=client)
    fake_stripe.fail_next(1, status=503)
    payment = services.start_deposit(client=client, location=location, service_id=service.pk)
    assert payment.status == PaymentStatus.UNKNOWN and "503" in payment.status_reason


def policy_and_card(location, client, method="pm_card_visa"):
    services.save_cancellation_policy(location=location, window_hours=24, late_cancel_fee=2500, no_show_fee=7500)
    SavedCard.objects.create(
        client=client, stripe_payment_method_id=method, brand="visa", last4="4242", exp_month=1, exp_year=2030
    )


def test_a_no_show_fee_is_the_policys_amount_charged_off_session_to_the_saved_card(fake_stripe, clinic):
    location, _, client = clinic
    policy_and_card(location, client)
    payment = services.charge_fee(client=client, location=location, kind=PaymentKind.NO_SHOW_FEE)
    (create,) = fake_stripe.calls("POST", "/v1/payment_intents")
    assert create["params"]["amount"] == "7500" and create["params"]["off_session"] == "true"
    assert create["params"]["payment_method"] == "pm_card_visa"
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount == 7500


def test_a_card_needing_authentication_leaves_the_fee_waiting_for_the_client(fake_stripe, clinic):
    location, _, client = clinic
    policy_and_card(location, client, NEEDS_AUTHENTICATION)
    payment = services.charge_fee(client=client, location=location, kind=PaymentKind.LATE_CANCEL_FEE)
    assert payment.status == PaymentStatus.REQUIRES_ACTION and payment.amount == 2500
    assert payment.stripe_payment_intent_id in fake_stripe.payment_intents


def test_a_declined_card_fails_the_fee_with_the_reason(fake_stripe, clinic):
    location, _, client = clinic
    policy_and_card(location, client, DECLINED)
    payment = services.charge_fee(client=client, location=location, kind=PaymentKind.NO_SHOW_FEE)
    assert payment.status == PaymentStatus.FAILED and "declined" in payment.status_reason


@pytest.mark.policy("use-payments")
def test_a_retried_refund_calls_stripe_with_the_same_key_and_stripe_refunds_once(fake_stripe, clinic):
    payment = paid_deposit(fake_stripe, clinic)
    fake_stripe.hang_next()  # Stripe refunds, the answer is lost
    refund = services.refund_payment(payment_id=payment.pk, amount=2000, reason="goodwill")
    assert refund.status == RefundStatus.PENDING and "did not answer" in refund.status_reason
    # Asking again (the staff member's retry or the reconcile task) must not refund again.
    refund = services.send_refund(refund_id=refund.pk)
    assert refund.status == RefundStatus.SUCCEEDED
    keys = [r["idempotency_key"] for r in fake_stripe.calls("POST", "/v1/refunds")]
    assert keys == [f"refund-{refund.pk}"] * 2
    assert len(fake_stripe.refunds) == 1
    payment.refresh_from_db()
    assert payment.amount_refunded == 2000 and payment.status == PaymentStatus.PARTIALLY_REFUNDED


def test_a_refund_is_never_more_than_what_is_left_to_refund(fake_stripe, clinic):
    payment = paid_deposit(fake_stripe, clinic)
    services.refund_payment(payment_id=payment.pk, amount=3000, reason="part")
    with pytest.raises(services.PaymentRefused, match="At most 2000"):
        services.refund_payment(payment_id=payment.pk, amount=2001, reason="too much")
    services.refund_payment(payment_id=payment.pk, amount=2000, reason="the rest")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and payment.amount_refunded == 5000
    assert Refund.objects.count() == 2 and len(fake_stripe.refunds) == 2


def test_a_pending_refund_counts_against_what_is_left(fake_stripe, clinic):
    payment = paid_deposit(fake_stripe, clinic)
    fake_stripe.fail_next(1, status=500)
    first = services.refund_payment(payment_id=payment.pk, amount=5000, reason="all")
    assert first.status == RefundStatus.PENDING
    with pytest.raises(services.PaymentRefused):
        services.refund_payment(payment_id=payment.pk, amount=1, reason="more")


def test_cancellation_policy_versions_keep_their_wording():
    location = LocationFactory()
    first = services.save_cancellation_policy(location=location, window_hours=24, late_cancel_fee=2500, no_show_fee=0)
    second = services.save_cancellation_policy(
        location=location, window_hours=48, late_cancel_fee=5000, no_show_fee=10000
    )
    assert (first.version, second.version) == (1, 2)
    first.refresh_from_db()
    assert "24 hours" in first.wording and "$25.00" in first.wording and "no-show" not in first.wording.lower()
    assert "48 hours" in second.wording and "$100.00" in second.wording
    assert CancellationPolicy.objects.count() == 2


def test_a_card_setup_stripe_does_not_answer_is_a_clear_message_not_a_half_saved_card(fake_stripe, clinic):
    _, _, client = clinic
    services.ensure_stripe_customer(client=client)
    fake_stripe.fail_next(1, status=502)
    with pytest.raises(services.PaymentRefused, match="try again"):
        services.start_card_setup(client=client)
    assert not SavedCard.objects.exists()
    from payments.models import CardSetup

    assert CardSetup.objects.get().status == "unknown"


def test_past_stripes_24_hours_of_key_memory_an_unanswered_payment_or_refund_is_left_to_staff_not_resent(
    fake_stripe, clinic
):
    from datetime import timedelta

    from django.utils import timezone

    location, service, client = clinic
    services.ensure_stripe_customer(client=client)
    fake_stripe.fail_next(1, status=500)
    payment = services.start_deposit(client=client, location=location, service_id=service.pk)
    paid = paid_deposit(fake_stripe, clinic)
    fake_stripe.fail_next(1, status=500)
    refund = services.refund_payment(payment_id=paid.pk, amount=100, reason="goodwill")
    day_ago = timezone.now() - timedelta(hours=24)
    Payment.objects.filter(pk=payment.pk).update(created_at=day_ago, updated_at=day_ago)
    Refund.objects.filter(pk=refund.pk).update(created_at=day_ago, updated_at=day_ago)
    sent = len(fake_stripe.calls("POST", "/v1/"))
    reconcile_payments()
    # Nothing sent again under a key Stripe may have forgotten (the pass only reads Stripe's refund list).
    assert len(fake_stripe.calls("POST", "/v1/")) == sent
    payment.refresh_from_db()
    refund.refresh_from_db()
    assert payment.status == PaymentStatus.UNKNOWN and "Stripe dashboard" in payment.status_reason
    assert refund.status == RefundStatus.PENDING and "Stripe dashboard" in refund.status_reason


def test_a_refund_stripe_refuses_is_marked_failed_with_the_reason_and_frees_the_amount(fake_stripe, clinic):
    payment = paid_deposit(fake_stripe, clinic)
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent_id="pi_unknown_to_stripe")
    refund = services.refund_payment(payment_id=payment.pk, amount=5000, reason="all")
    assert refund.status == RefundStatus.FAILED and "refused" in refund.status_reason
    payment.refresh_from_db()
    assert payment.amount_refunded == 0 and payment.status == PaymentStatus.SUCCEEDED
