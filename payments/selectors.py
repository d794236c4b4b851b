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


def client_payments(*, client_id: int, appointment_ids: "list[int] | None" = None) -> "QuerySet[Payment]":
    """A client's charges with their refunds, newest first; with appointment_ids, only those of these appointments."""
    payments = Payment.objects.filter(client_id=client_id)
    if appointment_ids is not None:
        payments = payments.filter(appointment_id__in=appointment_ids)
    return (
        payments.exclude(status__in=["pending", "failed", "canceled"])
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
class BalancePart:
    """One service the checkout charges for: its name and price here (None when not set)."""

    service: str
    price: int | None


@dataclass(frozen=True)
class AppointmentBalance:
    """What a visit costs at checkout, in minor units: the price (None when not set for a service here), the
    deposit kept (paid less refunded), what was already taken at checkout, and what is still due. For a visit
    of several services it is one balance for the whole visit: every part still on (not cancelled, not a no-show)
    priced, less the visit's one deposit, however its parts were split."""

    price: int | None
    currency: str
    deposit_paid: int
    taken_at_checkout: int
    due: int
    parts: tuple[BalancePart, ...] = ()
    mixed_currencies: bool = False


# A visit's parts that are charged at checkout: the ones that happened or are to happen now.
_CHARGED_STATUSES = ("booked", "confirmed", "checked_in", "completed")


def checkout_appointments(*, appointment: Any) -> list[Any]:
    """The appointments one checkout covers, in order: the appointment alone, or every part of its visit that is
    still on (a cancelled or missed part is not charged; the visit's deposit still counts in full)."""
    from appointments.models import Appointment

    if appointment.visit_id is None:
        return [appointment]
    return list(
        Appointment.objects.filter(visit_id=appointment.visit_id, status__in=_CHARGED_STATUSES)
        .select_related("service", "location")
        .order_by("start", "pk")
    )


def appointment_balance(*, appointment: Any) -> AppointmentBalance:
    from appointments.models import Appointment

    charged = checkout_appointments(appointment=appointment)
    parts, currencies = [], set()
    for part in charged:
        requirement = payment_requirement(location=part.location, service_id=part.service_id)
        parts.append(BalancePart(service=part.service.name, price=requirement.price_amount if requirement else None))
        if requirement is not None and requirement.price_amount is not None:
            currencies.add(requirement.currency)
    unpriced = not parts or any(part.price is None for part in parts)
    price = None if unpriced else sum(part.price or 0 for part in parts)
    currency = min(currencies) if currencies else "usd"
    # The deposit sits on the visit's first appointment and the balance on whichever part checked out: the
    # visit's payments all count, on every part (a cancelled one's too), so nothing is taken twice.
    if appointment.visit_id is None:
        paid_for = Payment.objects.filter(appointment_id=appointment.pk)
    else:
        paid_for = Payment.objects.filter(
            appointment_id__in=Appointment.objects.filter(visit_id=appointment.visit_id).values("pk")
        )
    payments = paid_for.filter(status__in=_COUNTED)
    kept = models.F("amount") - models.F("amount_refunded")
    deposit = payments.filter(kind=PaymentKind.DEPOSIT).aggregate(total=Sum(kept))["total"] or 0
    taken = payments.filter(kind=PaymentKind.BALANCE).aggregate(total=Sum(kept))["total"] or 0
    due = max((price or 0) - deposit - taken, 0)
    return AppointmentBalance(
        price=price,
        currency=currency,
        deposit_paid=deposit,
        taken_at_checkout=taken,
        due=due,
        parts=tuple(parts),
        mixed_currencies=len(currencies) > 1,
    )


def services_paid_for(*, payment: Payment) -> list[str]:
    """The services a payment is for, in the visit's order, for its receipt: the appointment's own, or every
    service of its visit (a visit's deposit and fees are for the whole visit; its balance for the parts it
    charged, the ones still on)."""
    from appointments.models import Appointment

    appointment = payment.appointment
    if appointment is None:
        return []
    if appointment.visit_id is None:
        return [appointment.service.name]
    if payment.kind == PaymentKind.BALANCE:
        parts = checkout_appointments(appointment=appointment)
    else:
        parts = list(
            Appointment.objects.filter(visit_id=appointment.visit_id).select_related("service").order_by("start", "pk")
        )
    return [part.service.name for part in parts]


def checkout_service_names(*, checkout: Any) -> list[str]:
    """The services an online booking's payment step was for: its one service, or every part of its visit in order."""
    if not checkout.visit_parts:
        return [checkout.service.name]
    from appointments.models import Service

    names = Service.objects.in_bulk([part["service"] for part in checkout.visit_parts])
    return [names[part["service"]].name for part in checkout.visit_parts if part["service"] in names]
