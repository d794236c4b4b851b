"""The default local backend simulates Stripe's flows for `make run`; and no call to the payments provider
is ever made inside a database transaction (a lock held while Stripe thinks would stall bookings)."""

import pytest

from payments import services
from payments.backends import local
from payments.models import Payment, PaymentKind, PaymentRequirement, PaymentStatus, RequirementKind, SavedCard
from privacy.erasure import erase_clients
from tests.support.builders import ClientFactory, LocationFactory, ServiceFactory
from tests.support.payments import WatchingBackend, event


def fee_for(method):
    location = LocationFactory()
    client = ClientFactory()
    services.save_cancellation_policy(location=location, window_hours=24, late_cancel_fee=2500, no_show_fee=7500)
    SavedCard.objects.create(
        client=client, stripe_payment_method_id=method, brand="visa", last4="4242", exp_month=1, exp_year=2030
    )
    return services.charge_fee(client=client, location=location, kind=PaymentKind.NO_SHOW_FEE)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, status",
    [
        ("pm_card_visa", PaymentStatus.SUCCEEDED),
        (local.NEEDS_AUTHENTICATION, PaymentStatus.REQUIRES_ACTION),
        (local.DECLINED, PaymentStatus.FAILED),
    ],
)
def test_the_local_backend_simulates_success_authentication_and_decline_by_stripes_test_cards(method, status):
    payment = fee_for(method)
    assert payment.status == status and payment.amount == 7500
    assert [key for op, key, _ in local.calls if op == "create_payment_intent"] == [f"payment-{payment.pk}"]


@pytest.mark.django_db(transaction=True)
def test_no_call_to_the_payments_provider_happens_inside_a_database_transaction(
    settings, django_capture_on_commit_callbacks
):
    settings.PAYMENTS_BACKEND = "tests.support.payments.WatchingBackend"
    WatchingBackend.seen = []
    location = LocationFactory()
    service = ServiceFactory(locations=[location])
    PaymentRequirement.objects.create(
        location=location, service=service, kind=RequirementKind.DEPOSIT_FIXED, deposit_amount=5000
    )
    person = ClientFactory()
    setup = services.start_card_setup(client=person)
    obj = {"id": setup.stripe_setup_intent_id, "object": "setup_intent", "payment_method": "pm_card_visa"}
    services.handle_stripe_event(event("setup_intent.succeeded", obj))
    deposit = services.start_deposit(client=person, location=location, service_id=service.pk)
    Payment.objects.filter(pk=deposit.pk).update(status=PaymentStatus.SUCCEEDED)
    services.refund_payment(payment_id=deposit.pk, amount=100, reason="goodwill")
    services.save_cancellation_policy(location=location, window_hours=24, late_cancel_fee=100, no_show_fee=100)
    services.charge_fee(client=person, location=location, kind=PaymentKind.NO_SHOW_FEE)
    erase_clients(client_ids=[person.pk], reason="test")  # the customer is deleted after the commit
    services.delete_erased_customers()
    calls = {name for name, _ in WatchingBackend.seen}
    assert calls >= {
        "create_customer",
        "create_setup_intent",
        "card_details",
        "create_payment_intent",
        "create_refund",
        "delete_customer",
    }
    assert [name for name, in_transaction in WatchingBackend.seen if in_transaction] == []
