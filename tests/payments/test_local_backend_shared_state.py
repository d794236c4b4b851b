"""The local payments backend (`make run` without a Stripe account) keeps its simulated Stripe in the database:
a restarted server or another worker process finds the page the client is on and pays it once."""

import importlib
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from appointments.models import Appointment
from payments.backends import local
from payments.models import CheckoutStatus
from tests.support.payments import accept_policy, clinic_asking, pay_on_local_page, start_paid_booking

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")


def slot():
    return datetime.combine(datetime.now(LA).date() + timedelta(days=10), time(10), tzinfo=LA)


def a_fresh_process():
    """What another gunicorn worker, or `make run` after a restart, starts with: the module loaded anew."""
    importlib.reload(local)


def test_a_checkout_page_opened_by_one_process_is_paid_through_another(client):
    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=5000)
    checkout = start_paid_booking(client, location, service, slot())
    accept_policy(client, checkout)
    a_fresh_process()
    response = pay_on_local_page(client, checkout)
    assert response.status_code == 302
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED and Appointment.objects.count() == 1
    a_fresh_process()
    # Paid once: the page, seen from yet another process, is closed and the reconcile pass finds the payment.
    assert pay_on_local_page(client, checkout).status_code == 410
    backend = local.PaymentsBackend()
    intent = backend.retrieve_payment_intent(payment_intent_id=checkout.payment.stripe_payment_intent_id)
    assert intent.status == "succeeded"


def test_a_retried_refund_key_refunds_once_whichever_process_sends_it():
    backend = local.PaymentsBackend()
    first = backend.create_refund(payment_intent_id="pi_x", amount=100, idempotency_key="refund-1", metadata={})
    a_fresh_process()
    again = local.PaymentsBackend().create_refund(
        payment_intent_id="pi_x", amount=100, idempotency_key="refund-1", metadata={}
    )
    assert again.id == first.id
    assert [key for op, key, _ in local.calls if op == "create_refund"] == []  # the fresh process sent nothing new
