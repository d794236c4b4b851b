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

from django.urls import reverse

from .base import (
    BasePaymentsBackend,
    CardDetails,
    CardError,
    CheckoutSession,
    Intent,
    PermanentPaymentsError,
    RefundResult,
)

NEEDS_AUTHENTICATION = "pm_card_authenticationRequired"
DECLINED = "pm_card_chargeDeclined"

# Every call that changed something, for tests: (operation, idempotency key, parameters).
calls: list[tuple[str, str, dict]] = []
_lock = threading.Lock()
_refunded: dict[str, int] = {}
_amounts: dict[str, int] = {}
_deleted: set[str] = set()
# Checkout sessions this process made (the simulated hosted page at payments:local_checkout completes them).
_sessions: dict[str, CheckoutSession] = {}


def _id(prefix: str, key: str) -> str:
    return f"{prefix}_local_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def reset() -> None:
    with _lock:
        calls.clear()
        _refunded.clear()
        _amounts.clear()
        _deleted.clear()
        _sessions.clear()


def complete_session(session_id: str, *, payment_method: str = "pm_card_visa") -> CheckoutSession:
    """The client paid (or saved a card) on the simulated hosted page: the session as Stripe then reports it."""
    with _lock:
        session = _sessions[session_id]
        if session.status != "open":
            raise PermanentPaymentsError("This Checkout Session is no longer open.")
        paid = session.mode == "payment"
        session = CheckoutSession(
            **{
                **session.__dict__,
                "status": "complete",
                "payment_status": "paid" if paid else "no_payment_required",
                "payment_intent": _id("pi", session_id) if paid else "",
                "setup_intent": "" if paid else _id("seti", session_id),
            }
        )
        _sessions[session_id] = session
        _methods[session.payment_intent or session.setup_intent] = payment_method
        if paid:
            _amounts[session.payment_intent] = session.amount_total or 0
        return session


_methods: dict[str, str] = {}


class PaymentsBackend(BasePaymentsBackend):
    def _record(self, operation: str, key: str, params: dict) -> None:
        with _lock:
            calls.append((operation, key, params))

    def create_customer(self, *, idempotency_key: str, metadata: dict[str, str]) -> str:
        self._record("create_customer", idempotency_key, {"metadata": metadata})
        return _id("cus", idempotency_key)

    def delete_customer(self, *, customer_id: str) -> None:
        self._record("delete_customer", "", {"customer": customer_id})
        with _lock:
            _deleted.add(customer_id)

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
        with _lock:
            _amounts[intent_id] = amount
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
        if payment_intent_id not in _amounts:
            raise PermanentPaymentsError(f"No such payment_intent: {payment_intent_id}", code="resource_missing")
        if payment_intent_id in _methods:
            return Intent(id=payment_intent_id, status="succeeded", payment_method=_methods[payment_intent_id])
        return Intent(id=payment_intent_id, status="requires_payment_method")

    def retrieve_setup_intent(self, *, setup_intent_id: str) -> Intent:
        return Intent(
            id=setup_intent_id, status="succeeded", payment_method=_methods.get(setup_intent_id, "pm_card_visa")
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
        with _lock:
            if session_id not in _sessions:  # a repeated key: the first answer
                _sessions[session_id] = CheckoutSession(
                    id=session_id,
                    url=reverse("payments:local_checkout", args=[session_id]),
                    status="open",
                    mode=mode,
                    payment_status="unpaid",
                    amount_total=amount if mode == "payment" else None,
                    currency=currency,
                    metadata=dict(metadata),
                )
            return _sessions[session_id]

    def retrieve_checkout_session(self, *, session_id: str) -> CheckoutSession:
        with _lock:
            if session_id not in _sessions:
                raise PermanentPaymentsError(f"No such checkout.session: {session_id}", code="resource_missing")
            return _sessions[session_id]

    def expire_checkout_session(self, *, session_id: str) -> CheckoutSession:
        self._record("expire_checkout_session", "", {"session": session_id})
        with _lock:
            session = _sessions.get(session_id)
            if session is None:  # made by another process (a restarted `make run`): nothing can pay it any more
                return CheckoutSession(id=session_id, url="", status="expired", mode="")
            if session.status == "complete":
                raise PermanentPaymentsError("Only Checkout Sessions with a status of open can be expired.")
            _sessions[session_id] = CheckoutSession(**{**session.__dict__, "status": "expired"})
            return _sessions[session_id]

    def create_refund(
        self, *, payment_intent_id: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> RefundResult:
        refund_id = _id("re", idempotency_key)
        with _lock:
            if any(op == "create_refund" and key == idempotency_key for op, key, _ in calls):
                return RefundResult(id=refund_id, status="succeeded")  # a repeated key: the first answer
        self._record("create_refund", idempotency_key, {"payment_intent": payment_intent_id, "amount": amount})
        return RefundResult(id=refund_id, status="succeeded")

    def card_details(self, *, payment_method_id: str) -> CardDetails:
        return CardDetails(brand="visa", last4="4242", exp_month=12, exp_year=2034)
