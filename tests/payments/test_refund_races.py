"""Attack: two refunds of one payment at once never give back more than was paid."""

import threading
import time

import pytest
from django.db import connection

from payments import selectors, services
from payments.models import Payment, PaymentKind, PaymentStatus, Refund, RefundStatus
from tests.support.builders import ClientFactory, LocationFactory
from tests.support.environment import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.policy("use-payments")
def test_two_managers_refunding_one_payment_at_once_never_refund_more_than_was_paid(monkeypatch):
    read = selectors.refundable_amount

    def slow_read(**kwargs):
        available = read(**kwargs)
        time.sleep(0.5)  # widen the gap between reading what is left and writing the refund
        return available

    monkeypatch.setattr(selectors, "refundable_amount", slow_read)
    location = LocationFactory()
    payment = Payment.objects.create(
        client=ClientFactory(preferred_location=location),
        location=location,
        kind=PaymentKind.DEPOSIT,
        amount=5000,
        status=PaymentStatus.SUCCEEDED,
        stripe_payment_intent_id="pi_race",
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def refund(amount):
        try:
            barrier.wait()
            outcomes.append(services.refund_payment(payment_id=payment.pk, amount=amount, reason="Race").status)
        except services.PaymentRefused as refusal:
            outcomes.append(f"refused: {refusal}")
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(3000,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(o.split(":")[0] for o in outcomes) == ["refused", RefundStatus.SUCCEEDED], outcomes
    payment.refresh_from_db()
    assert Refund.objects.count() == 1 and payment.amount_refunded == 3000
