"""What a payments backend does, and the errors it raises, whatever the provider."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent or SetupIntent as the provider answered it."""

    id: str
    status: str  # Stripe's word: requires_payment_method, requires_action, processing, succeeded, canceled
    client_secret: str = ""
    payment_method: str = ""


@dataclass(frozen=True)
class CheckoutSession:
    """A Stripe Checkout Session (the hosted payment page) as the provider answered it."""

    id: str
    url: str
    status: str  # open, complete, expired
    mode: str  # payment (a deposit) or setup (a card on file)
    payment_status: str = ""  # paid, unpaid, no_payment_required
    payment_intent: str = ""
    setup_intent: str = ""
    amount_total: int | None = None
    currency: str = ""
    metadata: dict[str, str] | None = None

    def as_event_object(self) -> dict:
        """The session as a webhook event carries it, so both paths apply it the same way."""
        return {
            "id": self.id,
            "object": "checkout.session",
            "status": self.status,
            "mode": self.mode,
            "payment_status": self.payment_status,
            "payment_intent": self.payment_intent or None,
            "setup_intent": self.setup_intent or None,
            "amount_total": self.amount_total,
            "currency": self.currency,
            "metadata": dict(self.metadata or {}),
        }


@dataclass(frozen=True)
class CardDetails:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # succeeded, pending, failed


@dataclass(frozen=True)
class StripeRefund:
    """A refund as Stripe lists it: ours (its metadata names our refund) or one made in Stripe's dashboard."""

    id: str
    amount: int
    currency: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    payment_intent: str = ""
    charge: str = ""
    created: int | None = None
    reason: str = ""  # Stripe's word: duplicate, fraudulent, requested_by_customer, or empty
    metadata: dict[str, str] | None = None

    def as_event_object(self) -> dict:
        """The refund as a `refund.*` webhook event carries it, so both paths apply it the same way."""
        return {
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "payment_intent": self.payment_intent or None,
            "charge": self.charge or None,
            "created": self.created,
            "reason": self.reason or None,
            "metadata": dict(self.metadata or {}),
        }


class PaymentsError(Exception):
    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class RetryablePaymentsError(PaymentsError):
    """Stripe timed out, could not be reached, or answered 429/5xx: the outcome is unknown.

    Trying again with the same idempotency key is safe: Stripe answers a repeated
    key with the first result, so nothing is charged or refunded twice.
    """


class CardError(PaymentsError):
    """The card was declined, or needs the client's authentication (3-D Secure) for an off-session charge."""

    def __init__(
        self, message: str, *, code: str = "", decline_code: str = "", payment_intent: Intent | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.decline_code = decline_code
        self.payment_intent = payment_intent

    @property
    def needs_authentication(self) -> bool:
        return self.code == "authentication_required"


class PermanentPaymentsError(PaymentsError):
    """A request Stripe refused (bad parameters, missing object, wrong key): trying again cannot help."""


class BasePaymentsBackend:
    def create_customer(self, *, idempotency_key: str, metadata: dict[str, str]) -> str:
        raise NotImplementedError

    def delete_customer(self, *, customer_id: str) -> None:
        """Idempotent by nature (Stripe takes no key on DELETE): a customer already gone counts as deleted."""
        raise NotImplementedError

    def create_setup_intent(self, *, customer_id: str, idempotency_key: str, metadata: dict[str, str]) -> Intent:
        raise NotImplementedError

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
        """With off_session and a saved payment_method, charge it now; otherwise wait for the client's card."""
        raise NotImplementedError

    def retrieve_payment_intent(self, *, payment_intent_id: str) -> Intent:
        raise NotImplementedError

    def create_refund(
        self, *, payment_intent_id: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> RefundResult:
        raise NotImplementedError

    def list_refunds(self, *, created_since: int | None = None, payment_intent_id: str = "") -> list[StripeRefund]:
        """Every refund made since a unix time, or of one PaymentIntent, wherever it was made (our API calls or
        Stripe's dashboard), newest first."""
        raise NotImplementedError

    def card_details(self, *, payment_method_id: str) -> CardDetails:
        raise NotImplementedError

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
        """Stripe's hosted page: mode "payment" takes `amount` now and saves the card for later fees;
        mode "setup" only saves a card. `expires_at` (unix time) is at least 30 minutes ahead (Stripe's minimum)."""
        raise NotImplementedError

    def retrieve_checkout_session(self, *, session_id: str) -> CheckoutSession:
        raise NotImplementedError

    def expire_checkout_session(self, *, session_id: str) -> CheckoutSession:
        """Close an open session so it can no longer be paid; a completed one raises PermanentPaymentsError."""
        raise NotImplementedError

    def retrieve_setup_intent(self, *, setup_intent_id: str) -> Intent:
        raise NotImplementedError
