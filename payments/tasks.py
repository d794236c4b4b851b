"""Celery tasks for payments: thin, pass ids, safe to run twice (every Stripe call is keyed)."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import services
from .models import Payment, PaymentStatus, Refund, RefundStatus

# A payment or refund younger than this may still be in flight in its own request.
SETTLE_AFTER = timedelta(minutes=5)


@shared_task(acks_late=True)
def delete_erased_stripe_customers():
    return services.delete_erased_customers()


@shared_task(acks_late=True)
def reconcile_payments():
    """Ask Stripe again, with the same keys, about payments and refunds whose answer never came
    (only while Stripe still remembers the key: older ones are left to staff, see services), and pick up
    refunds made at Stripe whose webhook was lost."""
    before = timezone.now() - SETTLE_AFTER
    settled = 0
    for payment_id in (
        Payment.objects.filter(status__in=[PaymentStatus.UNKNOWN, PaymentStatus.PENDING], updated_at__lt=before)
        .exclude(status_reason=services.CHECK_BY_HAND)
        .values_list("pk", flat=True)
    ):
        services.reconcile_payment(payment_id=payment_id)
        settled += 1
    for refund_id in (
        Refund.objects.filter(status=RefundStatus.PENDING, stripe_refund_id__isnull=True, updated_at__lt=before)
        .exclude(status_reason=services.CHECK_BY_HAND)
        .values_list("pk", flat=True)
    ):
        services.send_refund(refund_id=refund_id)
        settled += 1
    # Refunds made at Stripe (its dashboard, or ours) whose webhook never came: recorded once, as it would have.
    settled += services.reconcile_stripe_refunds()
    services.delete_erased_customers()
    from .receipts import send_missed_receipts

    send_missed_receipts()
    return settled


@shared_task(acks_late=True)
def expire_booking_checkouts():
    """Online bookings whose held time ran out while the client was at Stripe: close the page, free the time."""
    expired = services.expire_booking_checkouts()
    services.forget_abandoned_checkout_clients()
    return expired


@shared_task(acks_late=True, autoretry_for=(services.PaymentsError,), retry_backoff=True, max_retries=5)
def charge_appointment_fee(appointment_id, kind):
    """The fee the client confirmed when cancelling online: one payment per appointment and kind, one key."""
    try:
        return services.charge_appointment_fee(appointment_id=appointment_id, kind=kind).pk
    except services.PaymentRefused:
        return None


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_payment_receipt(payment_id):
    from .receipts import send_payment_receipt as send

    return send(payment_id=payment_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_refund_receipt(refund_id):
    from .receipts import send_refund_receipt as send

    return send(refund_id=refund_id)


@shared_task(acks_late=True)
def purge_expired_payment_records():
    """Daily: payment rows older than PAYMENT_RECORD_RETENTION_YEARS are deleted."""
    return services.purge_expired_payment_records()
