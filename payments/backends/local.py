"""A payments backend that simulates Stripe in-process, for `make run` and tests: no account, no network.

Stripe's own test payment methods choose the outcome of an off-session charge:
`pm_card_visa` (and any other) succeeds, `pm_card_authenticationRequired` needs
the client's authentication, `pm_card_chargeDeclined` is declined. A deposit
waits for the client's card (requires_payment_method) like Stripe's.
Ids derive from the idempotency key, so a retried call gets the same object back,
as Stripe answers a repeated key.
"""

import hashlib
import threading
from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.urls import reverse

from .base import (
    BasePaymentsBackend,
    CardDetails,
    CardError,
    CheckoutSession,
    Intent,
    PermanentPaymentsError,
    RefundResult,
    StripeRefund,
)

NEEDS_AUTHENTICATION = "pm_card_authenticationRequired"
DECLINED = "pm_card_chargeDeclined"

# Every call that changed something, for tests: (operation, idempotency key, parameters). Per process.
calls: list[tuple[str, str, dict]] = []
_lock = threading.Lock()

# What Stripe would remember (Checkout pages, payment amounts and card choices, refunds, deleted customers) is
# kept in the database (payments.LocalStripeObject): a restarted `make run` or another worker process finds
# the page the client is on, and the amount of a payment the reconcile pass asks about.
SESSION, AMOUNT, METHOD, REFUND, DELETED = "session", "amount", "method", "refund", "deleted"


def _model() -> Any:
    from payments.models import LocalStripeObject

    return LocalStripeObject


def _get(kind: str, object_id: str) -> Any:
    row = _model().objects.filter(key=f"{kind}:{object_id}").first()
    return None if row is None else row.data.get("value")


def _put(kind: str, object_id: str, value: Any) -> None:
    _model().objects.update_or_create(key=f"{kind}:{object_id}", defaults={"data": {"value": value}})


def _session(session_id: str, *, for_update: bool = False) -> CheckoutSession | None:
    rows = _model().objects.filter(key=f"{SESSION}:{session_id}")
    row = (rows.select_for_update() if for_update else rows).first()
    return None if row is None else CheckoutSession(**row.data["value"])


def _put_session(session: CheckoutSession) -> None:
    _put(SESSION, session.id, asdict(session))


def _id(prefix: str, key: str) -> str:
    return f"{prefix}_local_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def reset() -> None:
    """Forget the calls seen (tests). The simulated Stripe itself is in the database, which each test's
    transaction (or flush) already resets; touching it here would need a database in every test."""
    with _lock:
        calls.clear()


def complete_session(session_id: str, *, payment_method: str = "pm_card_visa") -> CheckoutSession:
    """The client paid (or saved a card) on the simulated hosted page: the session as Stripe then reports it."""
    with transaction.atomic():  # the page's row lock: paid once, whichever process serves the click
        session = _session(session_id, for_update=True)
        if session is None:
            raise PermanentPaymentsError(f"No such checkout.session: {session_id}", code="resource_missing")
        if session.status != "open":
            raise PermanentPaymentsError("This Checkout Session is no longer open.")
        paid = session.mode == "payment"
        session = CheckoutSession(
            **{
                **asdict(session),
                "status": "complete",
                "payment_status": "paid" if paid else "no_payment_required",
                "payment_intent": _id("pi", session_id) if paid else "",
                "setup_intent": "" if paid else _id("seti", session_id),
            }
        )
        _put_session(session)
        _put(METHOD, session.payment_intent or session.setup_intent, payment_method)
        if paid:
            _put(AMOUNT, session.payment_intent, session.amount_total or 0)
        return session


class PaymentsBackend(BasePaymentsBackend):
    def _record(self, operation: str, key: str, params: dict) -> None:
        with _lock:
            calls.append((operation, key, params))

    def create_customer(self, *, idempotency_key: str, metadata: dict[str, str]) -> str:
        self._record("create_customer", idempotency_key, {"metadata": metadata})
        return _id("cus", idempotency_key)

    def delete_customer(self, *, customer_id: str) -> None:
        self._record("delete_customer", "", {"customer": customer_id})
        _put(DELETED, customer_id, True)

    def create_setup_intent(self, *, customer_id: str, idempotency_key: str, metadata: dict[str, str]) -> Intent:
        self._record("create_setup_intent", idempotency_key, {"customer": customer_id, "metadata": metadata})
        intent_id = _id("seti", idempotency_key)
        return Intent(id=intent_id, status="requires_payment_method", client_secret=f"{intent_id}_secret_local")

    def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        customer_id: str,
        idempotency_key: str,
        metadata: dict[str, str],
        payment_method: str = "",
        off_session: bool = False,
    ) -> Intent:
        params = {"amount": amount, "currency": currency, "customer": customer_id, "payment_method": payment_method}
        self._record("create_payment_intent", idempotency_key, {**params, "off_session": off_session})
        intent_id = _id("pi", idempotency_key)
        _put(AMOUNT, intent_id, amount)
        if not (off_session and payment_method):
            return Intent(id=intent_id, status="requires_payment_method", client_secret=f"{intent_id}_secret_local")
        waiting = Intent(id=intent_id, status="requires_payment_method", payment_method=payment_method)
        if payment_method == NEEDS_AUTHENTICATION:
            raise CardError(
                "This card needs the cardholder's authentication.",
                code="authentication_required",
                payment_intent=Intent(id=intent_id, status="requires_action", payment_method=payment_method),
            )
        if payment_method == DECLINED:
            raise CardError(
                "Your card was declined.", code="card_declined", decline_code="generic_decline", payment_intent=waiting
            )
        return Intent(id=intent_id, status="succeeded", payment_method=payment_method)

    def retrieve_payment_intent(self, *, payment_intent_id: str) -> Intent:
        if _get(AMOUNT, payment_intent_id) is None:
            raise PermanentPaymentsError(f"No such payment_intent: {payment_intent_id}", code="resource_missing")
        method = _get(METHOD, payment_intent_id)
        if method:
            return Intent(id=payment_intent_id, status="succeeded", payment_method=method)
        return Intent(id=payment_intent_id, status="requires_payment_method")

    def retrieve_setup_intent(self, *, setup_intent_id: str) -> Intent:
        return Intent(
            id=setup_intent_id, status="succeeded", payment_method=_get(METHOD, setup_intent_id) or "pm_card_visa"
        )

    def create_checkout_session(
        self,
        *,
        mode: str,
        amount: int,
        currency: str,
        description: str,
        customer_id: str,
        success_url: str,
        cancel_url: str,
        expires_at: int,
        idempotency_key: str,
        metadata: dict[str, str],
        intent_metadata: dict[str, str],
    ) -> CheckoutSession:
        params = {"mode": mode, "amount": amount, "currency": currency, "customer": customer_id, "metadata": metadata}
        self._record("create_checkout_session", idempotency_key, params)
        session_id = _id("cs", idempotency_key)
        session = _session(session_id)
        if session is None:  # else a repeated key: the first answer
            session = CheckoutSession(
                id=session_id,
                url=reverse("payments:local_checkout", args=[session_id]),
                status="open",
                mode=mode,
                payment_status="unpaid",
                amount_total=amount if mode == "payment" else None,
                currency=currency,
                metadata=dict(metadata),
            )
            _model().objects.get_or_create(key=f"{SESSION}:{session_id}", defaults={"data": {"value": asdict(session)}})
            session = _session(session_id) or session
        return session

    def retrieve_checkout_session(self, *, session_id: str) -> CheckoutSession:
        session = _session(session_id)
        if session is None:
            raise PermanentPaymentsError(f"No such checkout.session: {session_id}", code="resource_missing")
        return session

    def expire_checkout_session(self, *, session_id: str) -> CheckoutSession:
        self._record("expire_checkout_session", "", {"session": session_id})
        with transaction.atomic():
            session = _session(session_id, for_update=True)
            if session is None:  # never made here: nothing can pay it
                return CheckoutSession(id=session_id, url="", status="expired", mode="")
            if session.status == "complete":
                raise PermanentPaymentsError("Only Checkout Sessions with a status of open can be expired.")
            session = CheckoutSession(**{**asdict(session), "status": "expired"})
            _put_session(session)
            return session

    def create_refund(
        self, *, payment_intent_id: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> RefundResult:
        refund_id = _id("re", idempotency_key)
        if _get(REFUND, refund_id) is not None:
            return RefundResult(id=refund_id, status="succeeded")  # a repeated key: the first answer
        self._record("create_refund", idempotency_key, {"payment_intent": payment_intent_id, "amount": amount})
        _put(REFUND, refund_id, {"payment_intent": payment_intent_id, "amount": amount})
        return RefundResult(id=refund_id, status="succeeded")

    def list_refunds(self, *, created_since: int | None = None, payment_intent_id: str = "") -> list[StripeRefund]:
        # The simulator has no dashboard: every refund it knows was made by the app and is recorded already.
        return []

    def card_details(self, *, payment_method_id: str) -> CardDetails:
        return CardDetails(brand="visa", last4="4242", exp_month=12, exp_year=2034)
