"""Reads for payments."""

from django.conf import settings
from django.db.models import QuerySet, Sum

from clinic.models import Client, Location

from .models import CancellationPolicy, Payment, PaymentRequirement, RefundStatus, SavedCard

STRIPE_BACKEND = "payments.backends.stripe.PaymentsBackend"


def payments_are_on() -> bool:
    """Payments reach Stripe (the local backend simulates them and sends nothing anywhere)."""
    return bool(settings.PAYMENTS_BACKEND == STRIPE_BACKEND)


def current_cancellation_policy(*, location: Location) -> CancellationPolicy | None:
    return CancellationPolicy.objects.filter(location=location).order_by("-version").first()


def payment_requirement(*, location: Location, service_id: int) -> PaymentRequirement | None:
    return PaymentRequirement.objects.filter(location=location, service_id=service_id).first()


def latest_saved_card(*, client: Client) -> SavedCard | None:
    return SavedCard.objects.filter(client=client).order_by("-created_at", "-id").first()


def refundable_amount(*, payment: Payment) -> int:
    """What may still be refunded: the amount paid less refunds done or on their way."""
    if payment.status not in ("succeeded", "partially_refunded"):
        return 0
    taken = payment.refunds.exclude(status=RefundStatus.FAILED).aggregate(total=Sum("amount"))["total"] or 0
    return max(payment.amount - max(taken, payment.amount_refunded), 0)


def client_payments(*, client_id: int) -> "QuerySet[Payment]":
    """A client's charges with their refunds, newest first (for their manage page)."""
    return (
        Payment.objects.filter(client_id=client_id)
        .exclude(status__in=["pending", "failed", "canceled"])
        .select_related("location", "appointment__service")
        .prefetch_related("refunds")
        .order_by("-created_at", "-id")
    )
