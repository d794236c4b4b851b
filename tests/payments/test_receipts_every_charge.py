"""An emailed receipt for every charge and every refund, once: the late-cancel fee the client confirmed, a fee
completed after the bank asked for authentication (none before), the front desk's no-show fee, the balance taken
at the desk or charged to the card on file, and a refund Stripe confirms only through its webhook."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse

from appointments.links import manage_token
from appointments.models import Appointment
from payments import services
from payments.backends import local
from payments.models import Payment, PaymentKind, PaymentMethod, PaymentRequirement, PaymentStatus, Refund, SavedCard
from payments.tasks import reconcile_payments
from tests.support.front_desk import front_desk_user
from tests.support.payments import (
    accept_policy,
    clinic_asking,
    event,
    pay_on_local_page,
    post_event,
    start_paid_booking,
)

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")


def booked_with_card(http, *, days=2, price=None):
    """Booked online with a card on file, in two days: inside the policy's 72-hour window."""
    location, service, _, _ = clinic_asking("card_on_file")
    services.save_cancellation_policy(location=location, window_hours=72, late_cancel_fee=4000, no_show_fee=6000)
    if price is not None:
        PaymentRequirement.objects.filter(location=location, service=service).update(price_amount=price)
    start = datetime.combine(datetime.now(LA).date() + timedelta(days=days), time(10), tzinfo=LA)
    checkout = start_paid_booking(http, location, service, start)
    accept_policy(http, checkout)
    pay_on_local_page(http, checkout)
    mail.outbox.clear()
    return Appointment.objects.get(client_id=checkout.client_id)


def receipts_to(appointment):
    return [m for m in mail.outbox if m.to == [appointment.client.email] and m.subject.startswith("Receipt")]


@pytest.mark.policy("use-payments")
def test_the_late_cancel_fee_the_client_confirmed_gets_one_receipt(client, django_capture_on_commit_callbacks):
    appointment = booked_with_card(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("appointments:cancel", args=[manage_token(appointment)]), {"accept_fee": "yes"})
    fee = Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE)
    (receipt,) = receipts_to(appointment)
    assert receipt.subject == "Receipt: late-cancel fee of $40.00"
    assert f"For: {appointment.service.name}" in receipt.body and f"payment {fee.pk}" in receipt.body
    reconcile_payments.apply()  # the sweep sends nothing more
    assert len(receipts_to(appointment)) == 1


def test_a_fee_waiting_for_the_clients_authentication_gets_its_receipt_only_once_paid(
    client, django_capture_on_commit_callbacks
):
    appointment = booked_with_card(client)
    SavedCard.objects.update(stripe_payment_method_id=local.NEEDS_AUTHENTICATION)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("appointments:cancel", args=[manage_token(appointment)]), {"accept_fee": "yes"})
    assert Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE).status == PaymentStatus.REQUIRES_ACTION
    assert not receipts_to(appointment)  # nothing was charged yet
    (message,) = [m for m in mail.outbox if "confirm your payment" in m.subject]
    link = re.search(r"https?://[^/\s]+(/payments/fee/\S+)", message.body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(client.post(link).url, {"card": "pm_card_visa"})
    (receipt,) = receipts_to(appointment)
    assert receipt.subject == "Receipt: late-cancel fee of $40.00"


@pytest.mark.policy("use-payments")
def test_the_front_desks_no_show_fee_gets_one_receipt(client, django_capture_on_commit_callbacks):
    appointment = booked_with_card(client)
    client.force_login(front_desk_user(appointment.location))
    url = reverse("admin:payments_payment_charge_fee", args=[appointment.pk, PaymentKind.NO_SHOW_FEE])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"amount": "6000", "confirm": "on"})
    (receipt,) = receipts_to(appointment)
    assert receipt.subject == "Receipt: no-show fee of $60.00" and "Stripe" in receipt.body


@pytest.mark.parametrize(
    ("method", "says"),
    [
        (PaymentMethod.DESK_CASH, "Paid at the desk: cash"),
        (PaymentMethod.DESK_CARD_TERMINAL, "Paid at the desk: card terminal"),
        (PaymentMethod.STRIPE, "charged through our payment provider, Stripe"),
    ],
)
def test_the_balance_taken_at_checkout_gets_one_receipt_however_it_is_paid(
    client, django_capture_on_commit_callbacks, method, says
):
    appointment = booked_with_card(client, days=10, price=12000)
    with django_capture_on_commit_callbacks(execute=True):
        taken = services.take_balance_at_checkout(appointment_id=appointment.pk, method=method)
    assert taken.status == PaymentStatus.SUCCEEDED
    (receipt,) = receipts_to(appointment)
    assert receipt.subject == "Receipt: balance at checkout of $120.00" and says in receipt.body.replace("\n", " ")


def test_a_refund_stripe_confirms_only_through_its_webhook_gets_its_receipt_from_the_sweep(
    client, deposit, fake_stripe, django_capture_on_commit_callbacks
):
    """Stripe first answered "pending"; its charge.refunded event settles the refund (a bulk update, no
    signal): the reconcile pass's sweep sends the receipt, once."""
    fake_stripe.succeed(deposit.stripe_payment_intent_id)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(
            client,
            event("payment_intent.succeeded", {**fake_stripe.payment_intents[deposit.stripe_payment_intent_id]}),
        )
    refund = Refund.objects.create(payment=deposit, amount=2000, reason="goodwill", stripe_refund_id="re_pending")
    mail.outbox.clear()
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": deposit.stripe_payment_intent_id,
        "amount": 5000,
        "amount_refunded": 2000,
        "currency": "usd",
        "refunds": {"data": [{"id": "re_pending", "status": "succeeded", "amount": 2000}]},
    }
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event("charge.refunded", charge))
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    reconcile_payments.apply()
    reconcile_payments.apply()
    sent = [m for m in mail.outbox if m.to == [deposit.client.email] and m.subject.startswith("Receipt: refund")]
    assert [m.subject for m in sent] == ["Receipt: refund of $20.00"]
