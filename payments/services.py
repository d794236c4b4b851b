"""Payments' business rules. No database lock is ever held while Stripe is called: each flow
writes its record first (its id makes the idempotency key), calls Stripe outside any
transaction, then records the answer under a short lock. A call whose answer never came
leaves the record in a clear state ("unknown" / refund pending) that `reconcile_payment`
and `retry_refund` settle by asking Stripe again with the same key."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic.errors import BusinessRuleError
from clinic.models import Client, Location
from clinic.plain_text import render_plain_text

from . import selectors, states
from .backends import get_backend
from .backends.base import CardError, Intent, PaymentsError, RetryablePaymentsError
from .models import (
    BookingCheckout,
    CancellationPolicy,
    CardSetup,
    CardSetupStatus,
    CheckoutStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentRequirement,
    PaymentStatus,
    ProcessedWebhookEvent,
    Refund,
    RefundStatus,
    RequirementKind,
    SavedCard,
    StripeCustomer,
    format_money,
)

logger = logging.getLogger(__name__)


class PaymentRefused(BusinessRuleError):
    """A request this payment cannot take (a clear message for staff or the client)."""


# --- Cancellation policy -------------------------------------------------------------------------


@transaction.atomic
def save_cancellation_policy(
    *,
    location: Location,
    window_hours: int,
    late_cancel_fee: int,
    no_show_fee: int,
    currency: str = "usd",
    staff_user: Any = None,
) -> CancellationPolicy:
    """A new version of the location's policy; earlier versions stay exactly as clients accepted them."""
    Location.objects.select_for_update().filter(pk=location.pk).first()  # one new version at a time
    latest = selectors.current_cancellation_policy(location=location)
    policy = CancellationPolicy(
        location=location,
        version=(latest.version + 1) if latest else 1,
        window_hours=window_hours,
        late_cancel_fee=late_cancel_fee,
        no_show_fee=no_show_fee,
        currency=currency.lower(),
        created_by=staff_user,
    )
    policy.wording = policy.plain_words()
    policy.save()
    return policy


# --- Customers and cards -------------------------------------------------------------------------


def ensure_stripe_customer(*, client: Client) -> str:
    existing = StripeCustomer.objects.filter(client=client).first()
    if existing:
        return existing.stripe_customer_id
    # Keyed by the client's id: two requests racing here get one customer from Stripe.
    customer_id = get_backend().create_customer(
        idempotency_key=f"customer-{client.pk}", metadata={"client": str(client.pk)}
    )
    customer, _ = StripeCustomer.objects.get_or_create(stripe_customer_id=customer_id, defaults={"client": client})
    return customer.stripe_customer_id


def start_card_setup(*, client: Client) -> CardSetup:
    """Ask Stripe for a SetupIntent: the client then saves a card on Stripe's page; nothing is charged."""
    customer_id = ensure_stripe_customer(client=client)
    setup = CardSetup.objects.create(client=client)
    try:
        intent = get_backend().create_setup_intent(
            customer_id=customer_id, idempotency_key=f"setup-{setup.pk}", metadata={"card_setup": str(setup.pk)}
        )
    except RetryablePaymentsError as exc:
        CardSetup.objects.filter(pk=setup.pk).update(status=CardSetupStatus.UNKNOWN)
        raise PaymentRefused("The card service did not answer; please try again in a moment.") from exc
    CardSetup.objects.filter(pk=setup.pk).update(stripe_setup_intent_id=intent.id)
    setup.stripe_setup_intent_id = intent.id
    setup.client_secret = intent.client_secret  # type: ignore[attr-defined]  # for the page only, never stored
    return setup


# --- Charges ---------------------------------------------------------------------------------------


def start_deposit(*, client: Client, location: Location, service_id: int, appointment: Any = None) -> Payment:
    """The deposit the service's requirement asks for, at the amount computed here (never a form's)."""
    requirement = selectors.payment_requirement(location=location, service_id=service_id)
    amount = requirement.deposit_due() if requirement else 0
    if not requirement or amount <= 0:
        raise PaymentRefused("This service asks for no deposit at this location.")
    customer_id = ensure_stripe_customer(client=client)
    payment = Payment.objects.create(
        client=client,
        location=location,
        appointment=appointment,
        kind=PaymentKind.DEPOSIT,
        amount=amount,
        currency=requirement.currency,
    )
    return submit_payment(payment_id=payment.pk, customer_id=customer_id)


def charge_fee(*, client: Client, location: Location, kind: str, appointment: Any = None) -> Payment:
    """Charge the late-cancel or no-show fee of the location's current policy to the saved card, off-session."""
    policy = selectors.current_cancellation_policy(location=location)
    if kind not in (PaymentKind.LATE_CANCEL_FEE, PaymentKind.NO_SHOW_FEE):
        raise PaymentRefused("Only a late-cancel or a no-show fee can be charged to a saved card.")
    amount = (
        0 if policy is None else (policy.late_cancel_fee if kind == PaymentKind.LATE_CANCEL_FEE else policy.no_show_fee)
    )
    if amount <= 0:
        raise PaymentRefused("This location's cancellation policy sets no such fee.")
    card = selectors.latest_saved_card(client=client)
    if card is None:
        raise PaymentRefused("The client has no saved card.")
    customer_id = ensure_stripe_customer(client=client)
    assert policy is not None  # amount > 0 above
    payment = Payment.objects.create(
        client=client,
        location=location,
        appointment=appointment,
        kind=kind,
        amount=amount,
        currency=policy.currency,
        stripe_payment_method_id=card.stripe_payment_method_id,
    )
    return submit_payment(payment_id=payment.pk, customer_id=customer_id)


def submit_payment(*, payment_id: int, customer_id: str) -> Payment:
    """Send the payment to Stripe (again) under its own key, with the same parameters each time:
    a repeat returns Stripe's first answer. A payment with a saved card is charged off-session."""
    payment = Payment.objects.get(pk=payment_id)
    intent: Intent | None = None
    new_status, reason = None, ""
    try:
        intent = get_backend().create_payment_intent(
            amount=payment.amount,
            currency=payment.currency,
            customer_id=customer_id,
            idempotency_key=payment.idempotency_key,
            metadata={"payment": str(payment.pk)},
            payment_method=payment.stripe_payment_method_id,
            off_session=bool(payment.stripe_payment_method_id),
        )
        new_status = states.FROM_STRIPE.get(intent.status, PaymentStatus.PROCESSING)
    except RetryablePaymentsError as exc:
        new_status, reason = PaymentStatus.UNKNOWN, str(exc)
    except CardError as exc:
        intent = exc.payment_intent
        if exc.needs_authentication:
            new_status, reason = PaymentStatus.REQUIRES_ACTION, "The card needs the client's authentication."
        else:
            new_status, reason = PaymentStatus.FAILED, f"Declined: {exc}"
    except PaymentsError as exc:
        new_status, reason = PaymentStatus.FAILED, str(exc)
    return _record_intent_answer(payment_id=payment.pk, intent=intent, status=new_status, reason=reason)


@transaction.atomic
def _record_intent_answer(*, payment_id: int, intent: Intent | None, status: str, reason: str) -> Payment:
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if intent is not None:
        payment.stripe_payment_intent_id = payment.stripe_payment_intent_id or intent.id
        payment.client_secret = intent.client_secret or payment.client_secret
    states.move(payment, status, reason=reason)
    payment.save()
    return payment


# Stripe forgets an idempotency key after 24 hours: past that, sending again could charge twice.
KEY_LIFETIME_MARGIN = timedelta(hours=23)
CHECK_BY_HAND = "Stripe's answer never came and it is too late to ask again safely: check it in the Stripe dashboard."


def reconcile_payment(*, payment_id: int) -> Payment:
    """Settle a payment whose answer from Stripe never came: ask again with the same key, while Stripe
    still remembers it; after that, leave it for staff to check rather than risk a second charge."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.status not in (PaymentStatus.UNKNOWN, PaymentStatus.PENDING) or payment.client_id is None:
        return payment
    if BookingCheckout.objects.filter(payment_id=payment.pk).exists():
        return payment  # paid on Stripe's Checkout page: its session settles it (sync_booking_checkout)
    if payment.created_at < timezone.now() - KEY_LIFETIME_MARGIN:
        Payment.objects.filter(pk=payment.pk).update(status_reason=CHECK_BY_HAND)
        payment.status_reason = CHECK_BY_HAND
        return payment
    customer = StripeCustomer.objects.filter(client_id=payment.client_id).first()
    if customer is None:
        return payment
    return submit_payment(payment_id=payment.pk, customer_id=customer.stripe_customer_id)


# --- Refunds ---------------------------------------------------------------------------------------


def refund_payment(*, payment_id: int, amount: int, reason: str, staff_user: Any = None) -> Refund:
    """Refund all or part of a paid payment: never more than was paid and not yet refunded.

    A payment taken through Stripe is refunded through Stripe (send_refund, its own key). One taken at the
    desk (cash, the clinic's card terminal) is given back there by the staff member: the refund is recorded
    as done, nothing goes to Stripe, and the client's receipt is emailed as for any refund."""
    reason = (reason or "").strip()
    if not reason:
        raise PaymentRefused("Say why the payment is refunded.")
    if not isinstance(amount, int) or amount <= 0:
        raise PaymentRefused("The refund must be more than 0.")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        at_desk = payment.method != PaymentMethod.STRIPE
        if not at_desk and not payment.stripe_payment_intent_id:
            raise PaymentRefused("This payment never reached Stripe: there is nothing to refund.")
        available = selectors.refundable_amount(payment=payment)
        if amount > available:
            raise PaymentRefused(f"At most {available} cents can be refunded on this payment.")
        refund = Refund.objects.create(
            payment=payment,
            amount=amount,
            currency=payment.currency,
            reason=reason[:300],
            requested_by=staff_user if getattr(staff_user, "pk", None) else None,
            # Given back at the desk, as it was taken: done now (its receipt follows on commit).
            status=RefundStatus.SUCCEEDED if at_desk else RefundStatus.PENDING,
        )
        if at_desk:
            _recount_refunds(payment)
            return refund
    return send_refund(refund_id=refund.pk)


def send_refund(*, refund_id: int) -> Refund:
    """Send (or send again) a pending refund under its own key: Stripe refunds it once whatever the retries."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING or refund.stripe_refund_id:
        return refund
    if refund.created_at < timezone.now() - KEY_LIFETIME_MARGIN:
        Refund.objects.filter(pk=refund.pk).update(status_reason=CHECK_BY_HAND)
        refund.status_reason = CHECK_BY_HAND
        return refund
    try:
        result = get_backend().create_refund(
            payment_intent_id=refund.payment.stripe_payment_intent_id or "",
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            metadata={"refund": str(refund.pk), "payment": str(refund.payment_id)},
        )
    except RetryablePaymentsError as exc:
        Refund.objects.filter(pk=refund.pk).update(status_reason=str(exc)[:300])
        refund.refresh_from_db()
        return refund
    except PaymentsError as exc:
        Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.FAILED, status_reason=str(exc)[:300])
        refund.refresh_from_db()
        return refund
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        refund.stripe_refund_id = result.id
        refund.status_reason = ""
        if result.status == "succeeded":
            refund.status = RefundStatus.SUCCEEDED
        elif result.status in ("failed", "canceled"):
            refund.status = RefundStatus.FAILED
        refund.save()
        _recount_refunds(payment)
    return refund


def _recount_refunds(payment: Payment, *, reported_by_stripe: int = 0) -> None:
    done = sum(r.amount for r in payment.refunds.filter(status=RefundStatus.SUCCEEDED))
    payment.amount_refunded = min(max(done, reported_by_stripe, payment.amount_refunded), payment.amount)
    states.move(payment, states.refunded_status(payment))
    payment.save()


# --- Stripe's webhooks -----------------------------------------------------------------------------


class BadEvent(ValueError):
    """A signed body that is not an event we can store: answered 400, nothing applied."""


_MAX_DB_ID = 2**63 - 1


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _our_id(value: Any) -> int | None:
    """Our id from an event's metadata, or None: only plain ASCII digits a database id can hold ("²" is a digit too)."""
    text = str(value or "")
    if not (text.isascii() and text.isdigit()) or int(text) > _MAX_DB_ID:
        return None
    return int(text)


def _cents(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadEvent("An amount that is not a whole number of cents.")
    return value


def handle_stripe_event(event: dict[str, Any]) -> str:
    """Apply one verified event once: a replay or retried delivery of its id changes nothing.

    Returns what happened: "applied", "duplicate" or "ignored" (a type we do not use).
    A card's details are fetched from Stripe before the transaction, never under a lock.
    Raises BadEvent for a signed body the database cannot hold (NUL, an id too long or missing).
    """
    event_id, event_type = event["id"], event["type"]
    obj = event["data"]["object"]
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not isinstance(obj, dict):
        raise BadEvent("Not a Stripe event.")
    if not event_id or len(event_id) > 255 or len(event_type) > 100 or _has_nul(event):
        raise BadEvent("Not an event that can be stored.")
    if ProcessedWebhookEvent.objects.filter(pk=event_id).exists():
        return "duplicate"
    card, payment_method, refunds = None, "", None
    if event_type == "setup_intent.succeeded" and obj.get("payment_method"):
        card = get_backend().card_details(payment_method_id=_id_of(obj["payment_method"]))
    elif event_type == "checkout.session.completed":
        payment_method, card = _session_card(obj)
    elif event_type == "charge.refunded":
        refunds = _refunds_of_charge(obj)
    with transaction.atomic():
        _, created = ProcessedWebhookEvent.objects.get_or_create(event_id=event_id, defaults={"type": event_type})
        if not created:
            return "duplicate"
        handler = _HANDLERS.get(event_type)
        if handler is None:
            return "ignored"
        handler(obj, card=card, payment_method=payment_method, refunds=refunds)
    return "applied"


def _id_of(value: Any) -> str:
    return value if isinstance(value, str) else str(value.get("id", ""))


def _payment_for_intent(obj: dict[str, Any]) -> Payment | None:
    """By the intent's id, or by our id in its metadata when Stripe's answer never reached us."""
    intent_id = _id_of(obj.get("payment_intent") or "") if obj.get("object") == "charge" else str(obj.get("id", ""))
    payment = Payment.objects.select_for_update().filter(stripe_payment_intent_id=intent_id).first()
    if payment is None and obj.get("object") == "payment_intent":
        ours = _our_id((obj.get("metadata") or {}).get("payment"))
        if ours is not None:
            payment = Payment.objects.select_for_update().filter(pk=ours, stripe_payment_intent_id=None).first()
            if payment is not None:
                payment.stripe_payment_intent_id = intent_id
    return payment


def _intent_succeeded(obj: dict[str, Any], **kwargs: Any) -> None:
    payment = _payment_for_intent(obj)
    if payment is None or payment.amount != obj.get("amount") or payment.currency != obj.get("currency"):
        return  # not ours, or not what we asked for: never mark paid on another amount
    states.move(payment, PaymentStatus.SUCCEEDED)
    payment.save()


def _intent_failed(obj: dict[str, Any], **kwargs: Any) -> None:
    payment = _payment_for_intent(obj)
    if payment is None:
        return
    error = obj.get("last_payment_error") or {}
    states.move(payment, PaymentStatus.FAILED, reason=str(error.get("message") or "The payment failed."))
    payment.save()


def _setup_succeeded(obj: dict[str, Any], *, card: Any = None, **kwargs: Any) -> None:
    setup = CardSetup.objects.select_for_update().filter(stripe_setup_intent_id=obj.get("id")).first()
    if setup is None:
        ours = _our_id((obj.get("metadata") or {}).get("card_setup"))
        setup = CardSetup.objects.select_for_update().filter(pk=ours).first() if ours is not None else None
    if setup is None or setup.client_id is None or card is None:
        return  # not ours, or the person was erased meanwhile
    setup.status = CardSetupStatus.SUCCEEDED
    setup.stripe_setup_intent_id = setup.stripe_setup_intent_id or obj.get("id")
    setup.save()
    SavedCard.objects.get_or_create(
        stripe_payment_method_id=_id_of(obj["payment_method"]),
        defaults={
            "client_id": setup.client_id,
            "brand": card.brand,
            "last4": card.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
        },
    )


# --- Refunds as Stripe reports them (ours, or made in Stripe's dashboard) ---------------------------------

# What a refund made in Stripe's dashboard is recorded with (Stripe's reason, a fixed word, follows it).
REFUNDED_AT_STRIPE = "Refunded in the Stripe dashboard"
_REFUND_STATUS_FROM_STRIPE = {
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
}
_STRIPE_REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer", "expired_uncaptured_charge"}
# How far back the reconcile pass asks Stripe for refunds a lost webhook never brought (Stripe retries a
# webhook for three days; a week also covers a beat that was down meanwhile).
REFUND_LOOKBACK = timedelta(days=7)


def _payment_for_refund(obj: dict[str, Any]) -> Payment | None:
    """The (locked) payment a Stripe refund gave money back from: by its PaymentIntent's id. A refund of a
    charge we never recorded (another integration's, or a payment whose intent id we never learnt) is None."""
    intent_id = _id_of(obj.get("payment_intent") or "")
    if not intent_id:
        return None
    return Payment.objects.select_for_update().filter(stripe_payment_intent_id=intent_id).first()


def _apply_stripe_refund(payment: Payment, obj: dict[str, Any]) -> Refund | None:
    """Under the payment's lock: the one Refund row for this Stripe refund, found by Stripe's refund id, else by
    our refund's id in its metadata (our own refund whose answer from Stripe has not been recorded yet), else
    made now (a refund made in Stripe's dashboard). Never a second row for one Stripe refund, whatever the order
    of the webhooks, the reconcile pass and our own API answer; a repeat changes nothing."""
    refund_id = obj.get("id")
    if not isinstance(refund_id, str) or not refund_id or len(refund_id) > 255:
        raise BadEvent("A refund without a usable id.")
    status = _REFUND_STATUS_FROM_STRIPE.get(str(obj.get("status") or ""))
    changed = False
    refund = Refund.objects.select_for_update().filter(stripe_refund_id=refund_id).first()
    if refund is None:
        ours = _our_id((obj.get("metadata") or {}).get("refund"))
        if ours is not None:
            refund = payment.refunds.select_for_update().filter(pk=ours, stripe_refund_id=None).first()
            if refund is not None:
                refund.stripe_refund_id, changed = refund_id, True
    if refund is not None and refund.payment_id != payment.pk:
        logger.warning("Stripe refund %s is recorded on another payment; not applied", refund_id)
        return None
    if refund is None:
        amount = _cents(obj.get("amount"))
        if status is None or amount <= 0 or str(obj.get("currency") or "").lower() != payment.currency:
            return None  # a bare id (an old charge.refunded list), or not money in this payment's currency
        if amount > payment.amount:
            # No refund gives back more than was paid: the takings would count money never taken.
            raise BadEvent("A refund larger than the payment.")
        reason = str(obj.get("reason") or "")
        refund = Refund.objects.create(
            payment=payment,
            amount=amount,
            currency=payment.currency,
            reason=f"{REFUNDED_AT_STRIPE} ({reason})" if reason in _STRIPE_REFUND_REASONS else REFUNDED_AT_STRIPE,
            status=status,
            stripe_refund_id=refund_id,
        )
        made_at = _stripe_time(obj.get("created"))
        if made_at is not None:
            # The takings list counts a refund on the day it was made at Stripe, not the day we heard of it.
            Refund.objects.filter(pk=refund.pk).update(created_at=made_at)
        return refund
    if status is not None and status != RefundStatus.PENDING and refund.status == RefundStatus.PENDING:
        refund.status, changed = status, True
        refund.status_reason = "" if status == RefundStatus.SUCCEEDED else "Stripe reports the refund failed."
    if changed:
        refund.save()  # a receipt follows a refund that just succeeded (payments.receipts)
    return refund


def _stripe_time(value: Any) -> Any:
    """Stripe's `created` (unix seconds) as a time, if it is a sane one (never in the future)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    try:
        made_at = datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return min(made_at, timezone.now())


def _settle_refunds(payment: Payment, *, reported_by_stripe: int = 0) -> None:
    """Under the payment's lock: what was refunded (rows that succeeded, or Stripe's total) and the status."""
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED):
        _recount_refunds(payment, reported_by_stripe=reported_by_stripe)
        return
    done = sum(r.amount for r in payment.refunds.filter(status=RefundStatus.SUCCEEDED))
    refunded = min(max(done, reported_by_stripe, payment.amount_refunded), payment.amount)
    if refunded <= 0:
        return
    # A refund reported before the success reached us: the money went back, whatever arrives later.
    payment.amount_refunded = refunded
    states.move(payment, PaymentStatus.SUCCEEDED)
    states.move(payment, states.refunded_status(payment))
    payment.save()


def _refund_event(obj: dict[str, Any], **kwargs: Any) -> None:
    """refund.created / refund.updated / refund.failed (and the older charge.refund.updated): one refund."""
    payment = _payment_for_refund(obj)
    if payment is None:
        logger.info("Stripe refund %s is of no payment of ours; acknowledged, nothing recorded", obj.get("id"))
        return
    if _apply_stripe_refund(payment, obj) is not None:
        _settle_refunds(payment)


def _charge_refunded(obj: dict[str, Any], *, refunds: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
    """A charge's refunded total changed. Its refunds (listed from Stripe before the transaction; a charge no
    longer carries them in current API versions) are each recorded once, as refund.* events would."""
    reported = _cents(obj.get("amount_refunded"))  # before anything is written
    payment = _payment_for_intent(obj)
    if payment is None:
        return
    carried = (obj.get("refunds") or {}).get("data") or []
    by_id = {r["id"]: r for r in carried if isinstance(r, dict) and isinstance(r.get("id"), str)}
    by_id.update({r["id"]: r for r in refunds or []})
    for refund in by_id.values():
        _apply_stripe_refund(payment, refund)
    _settle_refunds(payment, reported_by_stripe=reported)


def _refunds_of_charge(obj: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The refunds of a refunded charge of ours, asked of Stripe before any lock (None for a charge not ours,
    or when Stripe refuses: the charge's own list and total then count). A timeout raises: Stripe retries."""
    intent_id = _id_of(obj.get("payment_intent") or "")
    if not intent_id or not Payment.objects.filter(stripe_payment_intent_id=intent_id).values_list("pk").first():
        return None
    try:
        return [r.as_event_object() for r in get_backend().list_refunds(payment_intent_id=intent_id)]
    except RetryablePaymentsError:
        raise
    except PaymentsError:
        logger.warning("Stripe did not list the refunds of %s; its total is recorded", intent_id, exc_info=True)
        return None


def reconcile_stripe_refunds(*, now: Any = None) -> int:
    """Refunds made at Stripe (ours or in its dashboard) in the last REFUND_LOOKBACK whose webhook never came:
    each recorded once, as its webhook would have. Asks Stripe outside any lock; returns how many changed."""
    now = now or timezone.now()
    try:
        listed = get_backend().list_refunds(created_since=int((now - REFUND_LOOKBACK).timestamp()))
    except PaymentsError:
        logger.warning("Stripe did not list its refunds; the next pass asks again", exc_info=True)
        return 0
    known = dict(
        Refund.objects.filter(stripe_refund_id__in=[r.id for r in listed]).values_list("stripe_refund_id", "status")
    )
    changed = 0
    for stripe_refund in listed:
        ours = known.get(stripe_refund.id)
        settled_here = ours is not None and (
            ours != RefundStatus.PENDING or _REFUND_STATUS_FROM_STRIPE.get(stripe_refund.status) == RefundStatus.PENDING
        )
        if settled_here:
            continue
        try:
            with transaction.atomic():
                obj = stripe_refund.as_event_object()
                payment = _payment_for_refund(obj)
                if payment is None:
                    continue
                if _apply_stripe_refund(payment, obj) is not None:
                    _settle_refunds(payment)
                    changed += 1
        except BadEvent:
            logger.warning("Stripe listed refund %r that cannot be recorded", stripe_refund.id)
    return changed


_HANDLERS: dict[str, Callable[..., None]] = {
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.payment_failed": _intent_failed,
    "setup_intent.succeeded": _setup_succeeded,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_event,
    "refund.updated": _refund_event,
    "refund.failed": _refund_event,
    "charge.refund.updated": _refund_event,
    "checkout.session.completed": lambda obj, **kw: _checkout_completed(obj, **kw),
    "checkout.session.expired": lambda obj, **kw: _checkout_expired(obj),
}


# --- Erasure ---------------------------------------------------------------------------------------


def delete_erased_customers() -> int:
    """Delete at Stripe the customers of erased clients (outside any transaction); a failure waits for the next run."""
    deleted = 0
    backend = get_backend()
    for customer in StripeCustomer.objects.filter(client__isnull=True, deletion_requested_at__isnull=False):
        try:
            backend.delete_customer(customer_id=customer.stripe_customer_id)
        except PaymentsError:
            logger.warning("Stripe customer #%s not deleted yet; the next run tries again", customer.pk, exc_info=True)
            continue
        customer.delete()
        deleted += 1
    return deleted


def forget_clients(client_ids: list[int]) -> int:
    """Erasure: cards and customers go, payment rows stay for the books without the person."""
    changed = SavedCard.objects.filter(client_id__in=client_ids).delete()[0]
    # Staff write the refund's reason freely and may name the person; the amount and date stay.
    changed += Refund.objects.filter(payment__client_id__in=client_ids).update(reason="[erased]", status_reason="")
    changed += Payment.objects.filter(client_id__in=client_ids).update(client=None, status_reason="", client_secret="")
    changed += CardSetup.objects.filter(client_id__in=client_ids).update(client=None)
    changed += BookingCheckout.objects.filter(client_id__in=client_ids).update(client=None)
    changed += StripeCustomer.objects.filter(client_id__in=client_ids).update(
        client=None, deletion_requested_at=timezone.now()
    )
    if changed:
        transaction.on_commit(_queue_customer_deletion)
    return changed


def _queue_customer_deletion() -> None:
    from .tasks import delete_erased_stripe_customers

    delete_erased_stripe_customers.delay()


# --- Online booking with a deposit or a card on file (Stripe Checkout) ---------------------------------
#
# The booking form's answers create the client's record and hold the time (appointments.services.hold_booking);
# the client reads the cancellation policy and accepts it (recorded in the consent ledger with its exact
# wording and version), then pays or saves a card on Stripe's hosted page (no JavaScript needed). The
# completed session (webhook, or the return page asking Stripe) books the held time. A session abandoned
# past the hold is expired at Stripe and the time released; a payment that still succeeds late books the
# time if it is free, and is otherwise refunded in full: never two appointments, never money kept for none.

CANCELLATION_POLICY_PURPOSE = "cancellation_policy"
HOLD_REASON = "Online booking: waiting for the deposit or card"
# Stripe refuses a Checkout Session that expires sooner than this; we expire it ourselves when the hold ends.
STRIPE_MIN_SESSION_MINUTES = 31


def asks_payment(requirement: PaymentRequirement | None) -> bool:
    """Does booking under this requirement take a step first (a deposit due, or a card on file)?"""
    if requirement is None or requirement.kind == RequirementKind.NONE:
        return False
    return requirement.kind == RequirementKind.CARD_ON_FILE or requirement.deposit_due() > 0


def booking_step_needed(*, location: Location, service_id: int) -> bool:
    # Asked by every booking page and booking: the requirement from this process's copy (no query).
    return asks_payment(selectors.booking_requirement(location=location, service_id=service_id))


def start_booking_checkout(*, booking: Any) -> BookingCheckout:
    """Hold the time, create the client's record (with the form's consents) and the pending deposit or card
    request, all or nothing. `booking` is an appointments.booking_steps.BookingRequest. The amount is computed
    here from the service's requirement, never taken from a request. Raises SlotUnavailable / BookingRefused."""
    from appointments import services as appointment_services

    # The row itself, not the booking pages' copy: the amount is computed from it.
    requirement = selectors.payment_requirement(location=booking.location, service_id=booking.service.pk)
    if requirement is None or not asks_payment(requirement):
        raise PaymentRefused("This service asks for no payment at this location.")
    from django.conf import settings

    expires_at = timezone.now() + timedelta(minutes=settings.PAYMENT_SLOT_HOLD_MINUTES)
    with transaction.atomic():
        hold, client, client_created = appointment_services.hold_booking(
            location=booking.location,
            service=booking.service,
            start=booking.start,
            practitioner_id=booking.practitioner_id,
            details=booking.details,
            consents=booking.consents,
            meta=booking.meta,
            expires_at=expires_at,
            reason=HOLD_REASON,
            signed_in=booking.signed_in,  # the signed-in client's own record (appointments.client_for_booking)
        )
        payment, setup = None, None
        if requirement.kind == RequirementKind.CARD_ON_FILE:
            setup = CardSetup.objects.create(client=client)
        else:
            payment = Payment.objects.create(
                client=client,
                location=booking.location,
                kind=PaymentKind.DEPOSIT,
                amount=requirement.deposit_due(),
                currency=requirement.currency,
            )
        return BookingCheckout.objects.create(
            client=client,
            location=booking.location,
            service=booking.service,
            practitioner_id=hold.practitioner_id,
            start=booking.start,
            hold=hold,
            hold_expires_at=expires_at,
            kind=requirement.kind,
            policy=selectors.current_cancellation_policy(location=booking.location),
            payment=payment,
            card_setup=setup,
            client_made_for_it=client_created,
        )


# --- A visit of several services: one checkout for the whole visit ---------------------------------------


def visit_payment_ask(*, location: Location, service_ids: list[int]) -> tuple[str, int, str] | None:
    """What booking a visit of these services here asks, as (kind, deposit, currency), or None when no part asks
    anything: a deposit of the parts' deposits summed when any part takes one (Stripe's page then also saves
    the card, for the parts that want one on file), else a card on file when any part wants one. Computed here
    from the requirements, never taken from a request."""
    asking = [
        requirement
        for requirement in (selectors.payment_requirement(location=location, service_id=pk) for pk in service_ids)
        if requirement is not None
        and (requirement.kind == RequirementKind.CARD_ON_FILE or requirement.deposit_due() > 0)
    ]
    if not asking:
        return None
    currencies = {requirement.currency for requirement in asking}
    if len(currencies) > 1:
        raise PaymentRefused("These services are paid in different currencies: please book them one by one.")
    deposit = sum(requirement.deposit_due() for requirement in asking)
    kind = RequirementKind.DEPOSIT_FIXED if deposit > 0 else RequirementKind.CARD_ON_FILE
    return kind, deposit, currencies.pop()


def start_visit_checkout(*, booking: Any) -> BookingCheckout:
    """start_booking_checkout for a visit (`booking` is an appointments.booking_steps.VisitBookingRequest): every
    part's time held, the client's record, and one deposit (the parts' summed) or card request, all or nothing.
    Raises SlotUnavailable / BookingRefused / PaymentRefused."""
    from django.conf import settings

    from appointments import services as appointment_services

    service_ids = [service.pk for service in booking.services]
    ask = visit_payment_ask(location=booking.location, service_ids=service_ids)
    if ask is None:
        raise PaymentRefused("This visit asks for no payment at this location.")
    kind, deposit, currency = ask
    expires_at = timezone.now() + timedelta(minutes=settings.PAYMENT_SLOT_HOLD_MINUTES)
    with transaction.atomic():
        holds, client, client_created = appointment_services.hold_visit_booking(
            location=booking.location,
            service_ids=service_ids,
            start=booking.start,
            practitioner_ids=booking.practitioner_ids,
            details=booking.details,
            consents=booking.consents,
            meta=booking.meta,
            expires_at=expires_at,
            reason=HOLD_REASON,
            signed_in=booking.signed_in,
        )
        payment, setup = None, None
        if kind == RequirementKind.CARD_ON_FILE:
            setup = CardSetup.objects.create(client=client)
        else:
            payment = Payment.objects.create(
                client=client, location=booking.location, kind=PaymentKind.DEPOSIT, amount=deposit, currency=currency
            )
        return BookingCheckout.objects.create(
            client=client,
            location=booking.location,
            service=booking.services[0],
            practitioner_id=holds[0].practitioner_id,
            start=booking.start,
            hold=None,
            visit_parts=[
                {
                    "service": hold.service_id,
                    "practitioner": hold.practitioner_id,
                    "start": hold.start.isoformat(),
                    "hold": hold.pk,
                }
                for hold in holds
            ],
            hold_expires_at=expires_at,
            kind=kind,
            policy=selectors.current_cancellation_policy(location=booking.location),
            payment=payment,
            card_setup=setup,
            client_made_for_it=client_created,
        )


def go_to_checkout(
    *, checkout_id: int, accepted_policy: bool, meta: Any, success_url: str, cancel_url: str
) -> BookingCheckout:
    """The client accepted the cancellation policy: record it (exact wording, version) and open Stripe's
    hosted page for the server's amount. Pressing the button again returns the same page (one session)."""
    with transaction.atomic():
        checkout = (
            BookingCheckout.objects.select_for_update(of=("self",))
            .select_related("policy", "location")
            .get(pk=checkout_id)
        )
        if checkout.is_final:
            return checkout
        if checkout.status == CheckoutStatus.EXPIRED or checkout.hold_expires_at <= timezone.now():
            raise PaymentRefused("The time was held for you for a limited while only, and that has run out.")
        if checkout.status == CheckoutStatus.AT_STRIPE and checkout.checkout_url:
            return checkout
        if checkout.policy is not None and checkout.policy_accepted_at is None:
            if not accepted_policy:
                raise PaymentRefused("Please accept the cancellation policy to continue.")
            _record_policy_acceptance(checkout=checkout, meta=meta)
        client = checkout.client
    if client is None:
        raise PaymentRefused("This booking can no longer be completed.")
    amount, currency = _checkout_amount(checkout)
    try:
        customer_id = ensure_stripe_customer(client=client)
        session = get_backend().create_checkout_session(
            mode="setup" if checkout.kind == RequirementKind.CARD_ON_FILE else "payment",
            amount=amount,
            currency=currency,
            description=f"Deposit: {_checkout_services(checkout)} at {checkout.location.name}",
            customer_id=customer_id,
            success_url=success_url,
            cancel_url=cancel_url,
            # Fixed by the hold, so a retry sends the very same request (a changed one would be refused);
            # Stripe wants 30 minutes or more: the expiry pass closes it when the hold ends anyway.
            expires_at=int((checkout.hold_expires_at + timedelta(minutes=STRIPE_MIN_SESSION_MINUTES)).timestamp()),
            idempotency_key=checkout.idempotency_key,
            metadata={"booking_checkout": str(checkout.pk)},
            intent_metadata=(
                {"payment": str(checkout.payment_id)}
                if checkout.payment_id
                else {"card_setup": str(checkout.card_setup_id)}
            ),
        )
    except PaymentsError as exc:
        # Asking again (the button) sends the same key: Stripe answers with the same session.
        raise PaymentRefused("The payment service did not answer. Please press the button again.") from exc
    with transaction.atomic():
        checkout = BookingCheckout.objects.select_for_update().get(pk=checkout_id)
        if not checkout.is_final and checkout.status != CheckoutStatus.EXPIRED:
            checkout.stripe_checkout_session_id = session.id
            checkout.checkout_url = session.url
            checkout.status = CheckoutStatus.AT_STRIPE
            checkout.save()
            if checkout.card_setup_id:
                CardSetup.objects.filter(pk=checkout.card_setup_id).update(status=CardSetupStatus.PENDING)
    return checkout


def _checkout_services(checkout: BookingCheckout) -> str:
    return ", ".join(selectors.checkout_service_names(checkout=checkout))


def _checkout_amount(checkout: BookingCheckout) -> tuple[int, str]:
    if checkout.payment_id:
        payment = Payment.objects.get(pk=checkout.payment_id)
        return payment.amount, payment.currency
    if checkout.is_visit:
        ask = visit_payment_ask(
            location=checkout.location, service_ids=[part["service"] for part in checkout.visit_parts]
        )
        return 0, ask[2] if ask else "usd"
    requirement = selectors.payment_requirement(location=checkout.location, service_id=checkout.service_id)
    return 0, requirement.currency if requirement else "usd"


def _record_policy_acceptance(*, checkout: BookingCheckout, meta: Any) -> None:
    from privacy.models import ConsentSource
    from privacy.services import record_consent

    policy = checkout.policy
    assert policy is not None
    record_consent(
        client=checkout.client,
        purpose=CANCELLATION_POLICY_PURPOSE,
        granted=True,
        notice_text=policy.wording,
        source=ConsentSource.BOOKING_FORM,
        ip_address=getattr(meta, "ip_address", None),
        user_agent=getattr(meta, "user_agent", ""),
        visitor_id=getattr(meta, "visitor_id", ""),
        evidence=f"cancellation policy #{policy.pk}: {checkout.location.slug} version {policy.version}"[:200],
    )
    checkout.policy_accepted_at = timezone.now()
    checkout.save(update_fields=["policy_accepted_at", "updated_at"])


def _session_card(obj: dict[str, Any]) -> tuple[str, Any]:
    """The card a completed session used, with its details: asked of Stripe before any lock is taken."""
    backend = get_backend()
    if obj.get("status") != "complete":
        return "", None
    if obj.get("mode") == "setup" and obj.get("setup_intent"):
        intent = backend.retrieve_setup_intent(setup_intent_id=_id_of(obj["setup_intent"]))
    elif obj.get("mode") == "payment" and obj.get("payment_intent"):
        intent = backend.retrieve_payment_intent(payment_intent_id=_id_of(obj["payment_intent"]))
    else:
        return "", None
    if not intent.payment_method:
        return "", None
    return intent.payment_method, backend.card_details(payment_method_id=intent.payment_method)


def _checkout_for_session(obj: dict[str, Any]) -> BookingCheckout | None:
    checkout = BookingCheckout.objects.select_for_update().filter(stripe_checkout_session_id=obj.get("id")).first()
    if checkout is None:
        ours = _our_id((obj.get("metadata") or {}).get("booking_checkout"))
        if ours is not None:
            checkout = BookingCheckout.objects.select_for_update().filter(pk=ours).first()
            if checkout is not None and checkout.stripe_checkout_session_id not in (None, obj.get("id")):
                return None  # another session than the one we opened for it
    return checkout


def _checkout_completed(obj: dict[str, Any], *, card: Any = None, payment_method: str = "", **kwargs: Any) -> None:
    """Under the event's transaction: the session's payment or card is recorded, then the time booked or,
    when it was taken meanwhile, the deposit refunded in full (sent to Stripe after commit)."""
    if (obj.get("metadata") or {}).get("fee_payment"):
        _fee_session_completed(obj)
        return
    checkout = _checkout_for_session(obj)
    if checkout is None or checkout.is_final or obj.get("status") != "complete":
        return
    checkout.stripe_checkout_session_id = checkout.stripe_checkout_session_id or obj.get("id")
    if checkout.payment_id:
        payment = Payment.objects.select_for_update().get(pk=checkout.payment_id)
        if (
            obj.get("payment_status") != "paid"
            or obj.get("amount_total") != payment.amount
            or obj.get("currency") != payment.currency
            or not obj.get("payment_intent")
        ):
            logger.warning("Checkout session %s not paid as asked; not applied", obj.get("id"))
            return
        payment.stripe_payment_intent_id = payment.stripe_payment_intent_id or _id_of(obj["payment_intent"])
        states.move(payment, PaymentStatus.SUCCEEDED)
        payment.save()
        if payment.amount_refunded:  # a refund reported before the success reached us
            _recount_refunds(payment, reported_by_stripe=payment.amount_refunded)
    elif checkout.card_setup_id:
        CardSetup.objects.filter(pk=checkout.card_setup_id).update(
            status=CardSetupStatus.SUCCEEDED, stripe_setup_intent_id=_id_of(obj.get("setup_intent") or "") or None
        )
    if card is not None and payment_method and checkout.client_id:
        SavedCard.objects.get_or_create(
            stripe_payment_method_id=payment_method,
            defaults={
                "client_id": checkout.client_id,
                "brand": card.brand,
                "last4": card.last4,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
            },
        )
    appointment = _book_held_visit(checkout) if checkout.is_visit else _book_held_time(checkout)
    if appointment is not None:
        checkout.status = CheckoutStatus.BOOKED
        checkout.appointment = appointment
        checkout.visit_id = appointment.visit_id
        if checkout.payment_id:
            Payment.objects.filter(pk=checkout.payment_id).update(appointment=appointment)
    elif checkout.payment_id:
        checkout.status = CheckoutStatus.REFUNDED
        _refund_in_full(payment, reason="Paid after the held time was taken: refunded automatically.")
    else:
        checkout.status = CheckoutStatus.NOT_BOOKED
    checkout.hold = None
    checkout.save()


def _book_held_time(checkout: BookingCheckout) -> Any:
    """The appointment for the held time (the hold itself if it is still there), or None when the time
    is no longer free. Under the appointments' own locks: never a second appointment at that time."""
    from appointments import services as appointment_services

    client = checkout.client
    if client is None:
        return None
    hold_id = checkout.hold_id
    try:
        with transaction.atomic():
            appointment = appointment_services.book_appointment(
                location=checkout.location,
                service=checkout.service,
                start=checkout.start,
                practitioner_id=checkout.practitioner_id,
                details=appointment_services.ClientDetails(
                    first_name=client.first_name,
                    last_name=client.last_name,
                    email=client.email,
                    mobile_phone=client.mobile_phone,
                ),
                # Recorded when the form was sent (hold_booking); the client's record is booked as is.
                consents=appointment_services.BookingConsents(privacy_policy=True),
                client=client,
                hold_id=hold_id,
            )
    except BusinessRuleError:
        appointment_services.release_hold(hold_id=hold_id)
        return None
    return appointment


def _book_held_visit(checkout: BookingCheckout) -> Any:
    """The visit's first appointment, its parts booked together (on the held times if still held, else if
    still free), or None when a part's time was taken: then every hold is released. Under the appointments'
    own visit locks: never a second booking of any part's time."""
    from appointments import services as appointment_services

    client = checkout.client
    if client is None:
        return None
    try:
        with transaction.atomic():
            appointments = appointment_services.book_held_visit(
                location=checkout.location,
                service_ids=[part["service"] for part in checkout.visit_parts],
                start=checkout.start,
                # The held practitioners, as a single booking keeps its hold's.
                practitioner_ids=[part["practitioner"] for part in checkout.visit_parts],
                client=client,
                hold_ids=checkout.hold_ids,
            )
    except BusinessRuleError:
        for hold_id in checkout.hold_ids:
            appointment_services.release_hold(hold_id=hold_id)
        return None
    return appointments[0]


def _refund_in_full(payment: Payment, *, reason: str) -> None:
    """Under the payment's lock: a refund of everything not yet refunded, sent to Stripe after commit."""
    available = selectors.refundable_amount(payment=payment)
    if available <= 0 or not payment.stripe_payment_intent_id:
        return
    refund = Refund.objects.create(payment=payment, amount=available, currency=payment.currency, reason=reason)
    transaction.on_commit(lambda: send_refund(refund_id=refund.pk))


def _checkout_expired(obj: dict[str, Any]) -> None:
    checkout = _checkout_for_session(obj)
    if checkout is not None:
        _abandon(checkout, reason="The client left Stripe's page without paying; the held time was released.")


def _abandon(checkout: BookingCheckout, *, reason: str) -> None:
    """Under the checkout's lock: the held time goes back to the booking pages; a later payment still counts."""
    from appointments import services as appointment_services

    if checkout.is_final or checkout.status == CheckoutStatus.EXPIRED:
        return
    for hold_id in checkout.hold_ids:
        appointment_services.release_hold(hold_id=hold_id)
    checkout.status = CheckoutStatus.EXPIRED
    checkout.hold = None
    checkout.save()
    if checkout.payment_id:
        payment = Payment.objects.select_for_update().get(pk=checkout.payment_id)
        if states.move(payment, PaymentStatus.FAILED, reason=reason):
            payment.save()
    if checkout.card_setup_id:
        CardSetup.objects.filter(pk=checkout.card_setup_id, status=CardSetupStatus.PENDING).update(
            status=CardSetupStatus.FAILED
        )


def expire_booking_checkout(*, checkout_id: int, now: Any = None) -> BookingCheckout:
    """The hold ran out: close the Stripe page (outside any lock), then release the time. A page that was
    paid meanwhile is applied instead (booked if the time is free, else refunded)."""
    checkout = BookingCheckout.objects.get(pk=checkout_id)
    now = now or timezone.now()
    if checkout.is_final or checkout.status == CheckoutStatus.EXPIRED or checkout.hold_expires_at > now:
        return checkout
    if checkout.stripe_checkout_session_id:
        backend = get_backend()
        try:
            backend.expire_checkout_session(session_id=checkout.stripe_checkout_session_id)
        except RetryablePaymentsError:
            logger.warning("Checkout #%s: Stripe did not answer; the next pass tries again", checkout.pk)
            return checkout  # the hold lapses by itself meanwhile (availability ignores an expired hold)
        except PaymentsError:
            return sync_booking_checkout(checkout_id=checkout.pk)  # completed at Stripe just now
    with transaction.atomic():
        checkout = BookingCheckout.objects.select_for_update().get(pk=checkout_id)
        _abandon(checkout, reason="The held time ran out before the payment; it was released.")
    return checkout


def expire_booking_checkouts(*, now: Any = None) -> int:
    now = now or timezone.now()
    due = BookingCheckout.objects.filter(
        status__in=[CheckoutStatus.POLICY, CheckoutStatus.AT_STRIPE], hold_expires_at__lte=now
    ).values_list("pk", flat=True)
    return sum(expire_booking_checkout(checkout_id=pk, now=now).status != CheckoutStatus.AT_STRIPE for pk in list(due))


# Stripe keeps a Checkout page payable until its own expiry (the hold's end + STRIPE_MIN_SESSION_MINUTES), and
# a payment arriving meanwhile still books the time for the record: only after that is the record unused.
ABANDONED_RECORD_GRACE = timedelta(minutes=STRIPE_MIN_SESSION_MINUTES + 5)
ABANDONED_RECORD_REASON = "Online booking abandoned at the payment step: the record made for it is erased."


def forget_abandoned_checkout_clients(*, now: Any = None) -> int:
    """Erase the client records that abandoned online bookings made and nothing else uses, once no payment can
    still arrive for them: no personal data stays behind a booking that never happened. A record that has an
    appointment or another live booking, or that the checkout did not make itself (an account's), is kept."""
    from appointments.models import Appointment
    from privacy.erasure import erase_clients

    now = now or timezone.now()
    # Only a record this checkout itself made (client_made_for_it, set by hold_booking), never one found:
    # a signed-in client's account, or a record another booking made, is never erased here.
    made_for_it = list(
        BookingCheckout.objects.filter(
            status=CheckoutStatus.EXPIRED,
            client_made_for_it=True,
            client__isnull=False,
            client__erased_at__isnull=True,
            hold_expires_at__lte=now - ABANDONED_RECORD_GRACE,
        )
        .values_list("client_id", flat=True)
        .distinct()
    )
    if not made_for_it:
        return 0
    with transaction.atomic():
        locked = Client.objects.select_for_update().filter(pk__in=made_for_it, erased_at__isnull=True)
        unused = [
            client_id
            for client_id in locked.values_list("pk", flat=True)
            if not Appointment.objects.filter(client_id=client_id).exists()
            and not BookingCheckout.objects.filter(client_id=client_id).exclude(status=CheckoutStatus.EXPIRED).exists()
            and not _record_used_elsewhere(client_id)
        ]
        if unused:
            erase_clients(client_ids=unused, reason=ABANDONED_RECORD_REASON, tombstone=False)
    return len(unused)


def _record_used_elsewhere(client_id: int) -> bool:
    """The person went on with this record after the checkout: a waitlist entry, a clinical form, or signing in
    to it (an account). Through the record's own relations: payments imports none of those apps."""
    record = Client.objects.filter(pk=client_id)
    return any(
        record.filter(**{f"{relation}__isnull": False}).exists()
        for relation in ("waitlist_entries", "form_submissions", "account_sessions")
    )


def sync_booking_checkout(*, checkout_id: int) -> BookingCheckout:
    """Ask Stripe how the checkout's page ended (the return page; a webhook may come later or never)."""
    checkout = BookingCheckout.objects.get(pk=checkout_id)
    if checkout.is_final or not checkout.stripe_checkout_session_id:
        return checkout
    try:
        session = get_backend().retrieve_checkout_session(session_id=checkout.stripe_checkout_session_id)
    except PaymentsError:
        return checkout  # the webhook, or the next look, settles it
    apply_checkout_session(session=session)
    return BookingCheckout.objects.get(pk=checkout_id)


def apply_checkout_session(*, session: Any) -> BookingCheckout | None:
    """A session as Stripe reports it (its return page, the simulated local page, or a check): applied once."""
    obj = session.as_event_object()
    if obj["status"] == "complete":
        payment_method, card = _session_card(obj)
        with transaction.atomic():
            _checkout_completed(obj, card=card, payment_method=payment_method)
    elif obj["status"] == "expired":
        with transaction.atomic():
            _checkout_expired(obj)
    return BookingCheckout.objects.filter(stripe_checkout_session_id=obj["id"]).first()


# --- Late-cancel and no-show fees for a booked appointment -------------------------------------------------


def _booking_checkouts(*, appointment_id: int) -> Any:
    """The checkout that booked this appointment: its own, or its visit's (one checkout books a whole visit)."""
    from django.db.models import Q

    from appointments.models import Appointment

    visit_id = Appointment.objects.filter(pk=appointment_id).values_list("visit_id", flat=True).first()
    booked_it = Q(appointment_id=appointment_id)
    if visit_id is not None:
        booked_it |= Q(visit_id=visit_id)
    return BookingCheckout.objects.filter(booked_it, policy_accepted_at__isnull=False)


def accepted_policy(*, appointment_id: int) -> CancellationPolicy | None:
    """The cancellation policy the client accepted when booking this appointment, or the visit it is part of
    (the evidence for a fee)."""
    checkout = _booking_checkouts(appointment_id=appointment_id).select_related("policy").first()
    return checkout.policy if checkout else None


def late_cancel_fee_now(*, appointment: Any, now: Any = None) -> tuple[int, CancellationPolicy, SavedCard] | None:
    """(amount, policy, card) when cancelling now costs the accepted policy's late-cancel fee, else None:
    inside its window, before the visit, with a card on file."""
    now = now or timezone.now()
    policy = accepted_policy(appointment_id=appointment.pk)
    if policy is None or policy.late_cancel_fee <= 0 or appointment.client_id is None:
        return None
    if not appointment.start - timedelta(hours=policy.window_hours) <= now < appointment.start:
        return None
    card = selectors.latest_saved_card(client=appointment.client)
    if card is None:
        return None
    return policy.late_cancel_fee, policy, card


def charge_appointment_fee(
    *, appointment_id: int, kind: str, amount: int | None = None, staff_user: Any = None
) -> Payment:
    """Charge the late-cancel or no-show fee of the policy the client accepted to their saved card,
    off-session, under the payment's own idempotency key. Never above the policy's amount; one fee of a
    kind per appointment, and one per visit for a visit of several services booked together (a retried task,
    a second click or another part of the same visit returns the first payment, charged once)."""
    if kind not in (PaymentKind.LATE_CANCEL_FEE, PaymentKind.NO_SHOW_FEE):
        raise PaymentRefused("Only a late-cancel or a no-show fee can be charged to a saved card.")
    with transaction.atomic():
        # The booking's checkout row (the visit's one for every part) is the lock: two clicks or tasks charge once.
        checkout = (
            _booking_checkouts(appointment_id=appointment_id)
            .select_for_update(of=("self",))
            .select_related("policy", "appointment__client")
            .first()
        )
        if checkout is None or checkout.policy is None or checkout.appointment is None:
            raise PaymentRefused("The client did not accept a cancellation policy for this booking: no fee applies.")
        booked = checkout.appointment  # a visit's fee goes on the appointment its checkout booked first
        existing = (
            Payment.objects.filter(appointment_id=booked.pk, kind=kind)
            .exclude(status__in=[PaymentStatus.FAILED, PaymentStatus.CANCELED])
            .first()
        )
        if existing is not None:
            return existing
        policy = checkout.policy
        cap = policy.late_cancel_fee if kind == PaymentKind.LATE_CANCEL_FEE else policy.no_show_fee
        amount = cap if amount is None else amount
        if not isinstance(amount, int) or amount <= 0:
            raise PaymentRefused("The fee must be more than 0.")
        if amount > cap:
            raise PaymentRefused(f"The accepted policy allows at most {format_money(cap, policy.currency)}.")
        card = selectors.latest_saved_card(client=booked.client)
        if card is None:
            raise PaymentRefused("The client has no saved card.")
        payment = Payment.objects.create(
            client=booked.client,
            location_id=booked.location_id,
            appointment_id=booked.pk,
            kind=kind,
            amount=amount,
            currency=policy.currency,
            stripe_payment_method_id=card.stripe_payment_method_id,
        )
        client = booked.client
    try:
        customer_id = ensure_stripe_customer(client=client)
    except RetryablePaymentsError as exc:
        _record_intent_answer(payment_id=payment.pk, intent=None, status=PaymentStatus.UNKNOWN, reason=str(exc))
        return Payment.objects.get(pk=payment.pk)
    payment = submit_payment(payment_id=payment.pk, customer_id=customer_id)
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        email_authentication_link(payment_id=payment.pk)
    return payment


def email_authentication_link(*, payment_id: int) -> bool:
    """The card asked for the client's authentication: email them a link to complete the payment."""
    from django.core.mail import EmailMessage

    from .links import fee_link

    payment = Payment.objects.select_related("client", "location").get(pk=payment_id)
    if payment.client is None or not payment.client.email:
        return False
    from django.utils.translation import gettext

    from clinic.languages import client_language

    with client_language(payment.client):
        body = render_plain_text(
            "payments/email/authenticate_fee.txt",
            {"payment": payment, "amount": format_money(payment.amount, payment.currency), "link": fee_link(payment)},
        )
        subject = gettext("Please confirm your payment to %(location)s") % {"location": payment.location.name}
    EmailMessage(subject=subject, body=body, to=[payment.client.email]).send()
    return True


def fee_checkout_url(*, payment_id: int, success_url: str, cancel_url: str) -> str:
    """Stripe's hosted page for a fee whose off-session charge asked for authentication (the emailed link)."""
    payment = Payment.objects.select_related("client", "location").get(pk=payment_id)
    if payment.status != PaymentStatus.REQUIRES_ACTION or payment.client is None:
        raise PaymentRefused("This payment needs nothing more from you.")
    # One page per ten minutes: a retry inside them sends the same request under the same key.
    bucket = int(timezone.now().timestamp()) // 600 * 600
    try:
        customer_id = ensure_stripe_customer(client=payment.client)
        session = get_backend().create_checkout_session(
            mode="payment",
            amount=payment.amount,
            currency=payment.currency,
            description=f"{payment.get_kind_display()} at {payment.location.name}",
            customer_id=customer_id,
            success_url=success_url,
            cancel_url=cancel_url,
            expires_at=bucket + (STRIPE_MIN_SESSION_MINUTES + 10) * 60,
            idempotency_key=f"fee-checkout-{payment.pk}-{bucket}",
            metadata={"fee_payment": str(payment.pk)},
            intent_metadata={"fee_payment": str(payment.pk)},
        )
    except PaymentsError as exc:
        raise PaymentRefused("The payment service did not answer. Please try again in a moment.") from exc
    return session.url


def _fee_session_completed(obj: dict[str, Any]) -> None:
    """The client completed, on Stripe's page, a fee their card had asked them to authenticate."""
    ours = _our_id((obj.get("metadata") or {}).get("fee_payment"))
    payment = Payment.objects.select_for_update().filter(pk=ours).first() if ours is not None else None
    if payment is None or payment.status != PaymentStatus.REQUIRES_ACTION:
        return
    if (
        obj.get("payment_status") != "paid"
        or obj.get("amount_total") != payment.amount
        or not obj.get("payment_intent")
    ):
        return
    payment.stripe_payment_intent_id = _id_of(obj["payment_intent"])  # the page's intent replaces the unconfirmed one
    states.move(payment, PaymentStatus.SUCCEEDED)
    payment.save()


# --- Checkout at the desk: the balance after the deposit ----------------------------------------------------


def take_balance_at_checkout(*, appointment_id: int, method: str, staff_user: Any = None) -> Payment:
    """Complete the visit and take what is still due: the price here less the deposit kept and anything
    already taken at checkout, computed now (never a form's amount). A visit of several services checks out
    whole: every part still on is completed and one balance is taken (all parts' prices less the visit's
    deposit), whichever part the desk started from. At the desk (cash, the clinic's card terminal) the amount
    is recorded as taken; with the card on file it is charged off-session under the payment's own key, outside
    the lock. The appointments' row locks make a second click take nothing more."""
    from appointments import services as appointment_services
    from appointments.models import Appointment, AppointmentStatus

    if method not in PaymentMethod.values:
        raise PaymentRefused("Choose how the balance is taken.")
    with transaction.atomic():
        asked = Appointment.objects.filter(pk=appointment_id).first()
        if asked is None:
            raise PaymentRefused("This appointment no longer exists.")
        if asked.visit_id is not None:
            # Every part's row, in the visit's order (the same order from any part): a second checkout of
            # the visit, from this part or another, waits here, then finds the balance taken.
            list(
                Appointment.objects.select_for_update(of=("self",))
                .filter(visit_id=asked.visit_id)
                .order_by("start", "pk")
                .values_list("pk", flat=True)
            )
        charged = selectors.checkout_appointments(appointment=asked)
        to_complete = [part.pk for part in charged] if asked.pk in {part.pk for part in charged} else [asked.pk]
        # Completing takes each appointment's row lock (appointments' own service, its rules and gates).
        try:
            completed = [
                appointment_services.change_appointment_status(appointment_id=pk, status=AppointmentStatus.COMPLETED)
                for pk in to_complete
            ]
        except BusinessRuleError as exc:
            raise PaymentRefused(str(exc)) from exc
        # The balance goes on the visit's first part checked out (its deposit's, unless that one was cancelled).
        appointment = completed[0]
        balance = selectors.appointment_balance(appointment=appointment)
        if balance.mixed_currencies:
            raise PaymentRefused("This visit's services are priced in different currencies: take each at the desk.")
        if balance.price is None:
            raise PaymentRefused(
                "This service has no price at this location (Payments > Payment requirements): the balance is unknown."
            )
        if balance.due <= 0:
            raise PaymentRefused("Nothing is due: the deposit and what was taken already cover the price.")
        card = None
        if method == PaymentMethod.STRIPE:
            card = selectors.latest_saved_card(client=appointment.client)
            if card is None:
                raise PaymentRefused("The client has no saved card: take the balance at the desk.")
        at_desk = method != PaymentMethod.STRIPE
        payment = Payment.objects.create(
            client=appointment.client,
            location=appointment.location,
            appointment=appointment,
            kind=PaymentKind.BALANCE,
            amount=balance.due,
            currency=balance.currency,
            method=method,
            taken_by=staff_user if getattr(staff_user, "pk", None) else None,
            # The clinic's own till or terminal took the money: nothing goes to Stripe.
            status=PaymentStatus.SUCCEEDED if at_desk else PaymentStatus.PENDING,
            stripe_payment_method_id=card.stripe_payment_method_id if card else "",
        )
    if at_desk:
        return payment
    try:
        customer_id = ensure_stripe_customer(client=appointment.client)
    except RetryablePaymentsError as exc:
        _record_intent_answer(payment_id=payment.pk, intent=None, status=PaymentStatus.UNKNOWN, reason=str(exc))
        return Payment.objects.get(pk=payment.pk)
    payment = submit_payment(payment_id=payment.pk, customer_id=customer_id)
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        email_authentication_link(payment_id=payment.pk)
    return payment


# --- Retention ---------------------------------------------------------------------------------------------


def purge_expired_payment_records(*, now: Any = None) -> int:
    """Delete payment and refund rows (and the booking checkouts and card requests that led to them) older
    than PAYMENT_RECORD_RETENTION_YEARS: the books need them no longer. Returns how many rows went."""
    from django.conf import settings

    now = now or timezone.now()
    cutoff = now - timedelta(days=round(365.25 * settings.PAYMENT_RECORD_RETENTION_YEARS))
    with transaction.atomic():
        old_payments = Payment.objects.filter(created_at__lt=cutoff)
        deleted = Refund.objects.filter(payment__in=old_payments).delete()[0]
        deleted += BookingCheckout.objects.filter(created_at__lt=cutoff).delete()[0]
        deleted += old_payments.delete()[0]
        deleted += CardSetup.objects.filter(created_at__lt=cutoff).delete()[0]
        deleted += ProcessedWebhookEvent.objects.filter(processed_at__lt=cutoff).delete()[0]
    return deleted
