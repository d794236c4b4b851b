"""The one place a payment's status may change: which moves are allowed.

Stripe's events can arrive late, twice or out of order; a move not listed here
is ignored rather than applied, so a `payment_intent.succeeded` that arrives
after a refund does not turn the payment back into "paid", and a failure
reported after a success does not undo it.
"""

from .models import Payment, PaymentStatus

S = PaymentStatus
_OPEN = {S.PENDING, S.UNKNOWN, S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_ACTION, S.PROCESSING, S.FAILED}

ALLOWED: dict[str, set[str]] = {
    **{status: _OPEN - {status} | {S.SUCCEEDED, S.CANCELED} for status in _OPEN},
    S.SUCCEEDED: {S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.PARTIALLY_REFUNDED: {S.REFUNDED},
    S.REFUNDED: set(),
    S.CANCELED: set(),
}
# A payment waiting on Stripe never goes back to "not yet at Stripe".
for _status in _OPEN - {S.PENDING}:
    ALLOWED[_status].discard(S.PENDING)

# Stripe's PaymentIntent statuses, in our words.
FROM_STRIPE = {
    "requires_payment_method": S.REQUIRES_PAYMENT_METHOD,
    "requires_confirmation": S.REQUIRES_PAYMENT_METHOD,
    "requires_action": S.REQUIRES_ACTION,
    "processing": S.PROCESSING,
    "requires_capture": S.PROCESSING,
    "succeeded": S.SUCCEEDED,
    "canceled": S.CANCELED,
}


def can_move(current: str, new: str) -> bool:
    return new in ALLOWED.get(current, set())


def move(payment: Payment, new: str, *, reason: str = "") -> bool:
    """Set the new status on the (locked) payment if the move is allowed; True if it changed."""
    if payment.status == new or not can_move(payment.status, new):
        return False
    payment.status = new
    payment.status_reason = reason[:300]
    return True


def refunded_status(payment: Payment) -> str:
    """The status that follows from what has been refunded of a paid payment."""
    if payment.amount_refunded >= payment.amount:
        return S.REFUNDED
    if payment.amount_refunded > 0:
        return S.PARTIALLY_REFUNDED
    return S.SUCCEEDED
