"""Reads for payments."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import QuerySet, Sum

from clinic.models import Client, Location

from .models import (
    CancellationPolicy,
    Payment,
    PaymentKind,
    PaymentRequirement,
    PaymentStatus,
    Refund,
    RefundStatus,
    SavedCard,
)

STRIPE_BACKEND = "payments.backends.stripe.PaymentsBackend"


def payments_are_on() -> bool:
    """Payments reach Stripe (the local backend simulates them and sends nothing anywhere)."""
    return bool(settings.PAYMENTS_BACKEND == STRIPE_BACKEND)


def current_cancellation_policy(*, location: Location) -> CancellationPolicy | None:
    return CancellationPolicy.objects.filter(location=location).order_by("-version").first()


def payment_requirement(*, location: Location, service_id: int) -> PaymentRequirement | None:
    return PaymentRequirement.objects.filter(location=location, service_id=service_id).first()


def booking_requirement(*, location: Location, service_id: int) -> PaymentRequirement | None:
    """payment_requirement from this process's copy, for the booking pages: every details page and booking asks.

    The copy holds until the version for everything moves (slot_cache.process_copy): saving or deleting a
    requirement moves it (payments.apps), so a change shows at once here and within a second elsewhere.
    Amounts charged are never taken from it: the checkout reads the row again (payment_requirement).
    Callers must not change the row they get (threads share it).
    """
    from appointments import slot_cache

    return slot_cache.process_copy(
        location_slug=location.slug,
        key=("payment requirement", location.pk, service_id),
        build=lambda: payment_requirement(location=location, service_id=service_id),
    )


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
        _shown_payments(client_id)
        .select_related("location", "appointment__service")
        .prefetch_related("refunds")
        .order_by("-created_at", "-id")
    )


def _shown_payments(client_id: int) -> "QuerySet[Payment]":
    return Payment.objects.filter(client_id=client_id).exclude(status__in=["pending", "failed", "canceled"])


def client_has_payments(*, client_id: int) -> bool:
    """Has the client any charge to show? (A cheap statement: most clients just booked have none.)"""
    return _shown_payments(client_id).exists()


def daily_takings(*, locations: "list[Location]", day: "date") -> list[dict]:
    """Per location, for its own calendar day `day`: charges taken, refunds made and the net, per currency.

    A charge counts on the day it was made (created) if it was paid; a refund on the day it was made.
    """
    from datetime import datetime, time, timedelta

    rows = []
    for location in locations:
        tz = location.tzinfo
        start = datetime.combine(day, time(0), tzinfo=tz)
        end = start + timedelta(days=1)
        charges = (
            Payment.objects.filter(
                location=location,
                created_at__gte=start,
                created_at__lt=end,
                status__in=["succeeded", "partially_refunded", "refunded"],
            )
            .values("currency", "kind")
            .annotate(total=Sum("amount"), count=models.Count("id"))
        )
        refunds = (
            Refund.objects.filter(
                payment__location=location, created_at__gte=start, created_at__lt=end, status=RefundStatus.SUCCEEDED
            )
            .values("currency")
            .annotate(total=Sum("amount"), count=models.Count("id"))
        )
        by_currency: dict[str, dict] = {}
        for row in charges:
            entry = by_currency.setdefault(
                row["currency"], {"charged": 0, "refunded": 0, "kinds": {}, "refund_count": 0}
            )
            entry["charged"] += row["total"]
            entry["kinds"][row["kind"]] = (row["count"], row["total"])
        for row in refunds:
            entry = by_currency.setdefault(
                row["currency"], {"charged": 0, "refunded": 0, "kinds": {}, "refund_count": 0}
            )
            entry["refunded"] += row["total"]
            entry["refund_count"] += row["count"]
        for currency, entry in sorted(by_currency.items()):
            rows.append(
                {"location": location, "currency": currency, **entry, "net": entry["charged"] - entry["refunded"]}
            )
        if not by_currency:
            rows.append({"location": location, "currency": "", "charged": 0, "refunded": 0, "net": 0, "kinds": {}})
    return rows


# A payment that holds money (or may yet: an answer not in, a card asking for authentication) counts
# against the balance, so a second checkout never takes the same balance twice.
_COUNTED = [
    PaymentStatus.SUCCEEDED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
    PaymentStatus.PENDING,
    PaymentStatus.UNKNOWN,
    PaymentStatus.PROCESSING,
    PaymentStatus.REQUIRES_ACTION,
]


@dataclass(frozen=True)
class AppointmentBalance:
    """What a visit costs at checkout, in minor units: the price (None when not set for the service here),
    the deposit kept (paid less refunded), what was already taken at checkout, and what is still due."""

    price: int | None
    currency: str
    deposit_paid: int
    taken_at_checkout: int
    due: int


def appointment_balance(*, appointment: Any) -> AppointmentBalance:
    requirement = payment_requirement(location=appointment.location, service_id=appointment.service_id)
    price = requirement.price_amount if requirement else None
    currency = requirement.currency if requirement else "usd"
    payments = Payment.objects.filter(appointment_id=appointment.pk, status__in=_COUNTED)
    kept = models.F("amount") - models.F("amount_refunded")
    deposit = payments.filter(kind=PaymentKind.DEPOSIT).aggregate(total=Sum(kept))["total"] or 0
    taken = payments.filter(kind=PaymentKind.BALANCE).aggregate(total=Sum(kept))["total"] or 0
    due = max((price or 0) - deposit - taken, 0)
    return AppointmentBalance(price=price, currency=currency, deposit_paid=deposit, taken_at_checkout=taken, due=due)
