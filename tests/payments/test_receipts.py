"""An emailed receipt for every charge and refund, after commit and once; the manage page lists payments."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse

from appointments.links import manage_token
from appointments.models import Appointment
from payments import receipts, services
from payments.models import Payment, PaymentStatus, Refund
from payments.tasks import reconcile_payments
from tests.support.payments import accept_policy, clinic_asking, pay_on_local_page, start_paid_booking

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")


def slot():
    return datetime.combine(datetime.now(LA).date() + timedelta(days=10), time(10), tzinfo=LA)


def paid_deposit(http, capture):
    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=5000)
    checkout = start_paid_booking(http, location, service, slot())
    accept_policy(http, checkout)
    with capture(execute=True):
        pay_on_local_page(http, checkout)
    return Payment.objects.get()


def receipts_to(address):
    return [m for m in mail.outbox if m.subject.startswith("Receipt") and m.to == [address]]


@pytest.mark.policy("use-payments")
def test_a_paid_deposit_gets_one_emailed_receipt(client, django_capture_on_commit_callbacks):
    payment = paid_deposit(client, django_capture_on_commit_callbacks)
    (receipt,) = receipts_to(payment.client.email)
    assert "deposit of $50.00" in receipt.subject and "$50.00" in receipt.body
    # Saved again, replayed, swept: no second receipt.
    with django_capture_on_commit_callbacks(execute=True):
        payment.save()
    assert receipts.send_payment_receipt(payment_id=payment.pk) is False
    reconcile_payments.apply()
    assert len(receipts_to(payment.client.email)) == 1
    payment.refresh_from_db()
    assert payment.receipt_emailed_at is not None


def test_no_receipt_before_the_commit_or_for_an_unpaid_payment(client, django_capture_on_commit_callbacks):
    location, service, _, _ = clinic_asking("deposit_fixed")
    checkout = start_paid_booking(client, location, service, slot())
    accept_policy(client, checkout)
    assert receipts.send_payment_receipt(payment_id=checkout.payment_id) is False  # not paid yet
    with django_capture_on_commit_callbacks(execute=False) as queued:
        pay_on_local_page(client, checkout)
    assert not receipts_to(checkout.client.email)  # paid, but not committed yet: nothing sent
    for callback in queued:
        callback()
    assert len(receipts_to(checkout.client.email)) == 1


@pytest.mark.policy("use-payments")
def test_a_refund_gets_its_own_receipt_once(client, django_capture_on_commit_callbacks):
    payment = paid_deposit(client, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_payment(payment_id=payment.pk, amount=2000, reason="Moved the visit")
    refund = Refund.objects.get()
    (receipt,) = [m for m in receipts_to(payment.client.email) if "refund" in m.subject]
    assert "$20.00" in receipt.subject and "Moved the visit" not in receipt.body  # staff's reason stays inside
    assert receipts.send_refund_receipt(refund_id=refund.pk) is False


def test_a_receipt_whose_task_never_ran_is_sent_by_the_sweep(client, django_capture_on_commit_callbacks):
    payment = paid_deposit(client, django_capture_on_commit_callbacks)
    Payment.objects.filter(pk=payment.pk).update(receipt_emailed_at=None)
    mail.outbox.clear()
    assert receipts.send_missed_receipts() == 1
    assert len(receipts_to(payment.client.email)) == 1


def test_the_manage_page_lists_the_clients_payments(client, django_capture_on_commit_callbacks):
    payment = paid_deposit(client, django_capture_on_commit_callbacks)
    appointment = Appointment.objects.get()
    page = client.get(reverse("appointments:manage", args=[manage_token(appointment)])).content.decode()
    assert "Your payments" in page and "$50.00" in page and str(PaymentStatus.SUCCEEDED.label) in page
    assert payment.client_id == appointment.client_id
