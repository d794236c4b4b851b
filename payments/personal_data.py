"""The payments app's personal data: only Stripe ids, card brand, last four digits, expiry and amounts."""

from .models import BookingCheckout, CardSetup, Payment, Refund, SavedCard, StripeCustomer
from .selectors import checkout_service_names
from .services import forget_clients


def export_payments(client_ids):
    payments = Payment.objects.filter(client_id__in=client_ids).select_related("location").order_by("created_at", "id")
    refunds = Refund.objects.filter(payment__client_id__in=client_ids).order_by("created_at", "id")
    return {
        "payments": [
            {
                "id": p.pk,
                "kind": p.kind,
                "method": p.method,
                "location": p.location.name,
                "amount_minor": p.amount,
                "currency": p.currency,
                "amount_refunded_minor": p.amount_refunded,
                "status": p.status,
                "stripe_payment_intent": p.stripe_payment_intent_id or "",
                "created_at": p.created_at.isoformat(),
            }
            for p in payments
        ],
        "refunds": [
            {
                "payment": r.payment_id,
                "amount_minor": r.amount,
                "currency": r.currency,
                "status": r.status,
                "reason": r.reason,
                "stripe_refund": r.stripe_refund_id or "",
                "created_at": r.created_at.isoformat(),
            }
            for r in refunds
        ],
        "saved_cards": [
            {
                "brand": c.brand,
                "last4": c.last4,
                "exp_month": c.exp_month,
                "exp_year": c.exp_year,
                "stripe_payment_method": c.stripe_payment_method_id,
                "created_at": c.created_at.isoformat(),
            }
            for c in SavedCard.objects.filter(client_id__in=client_ids).order_by("created_at", "id")
        ],
        "stripe_customers": [
            {"stripe_customer": c.stripe_customer_id, "created_at": c.created_at.isoformat()}
            for c in StripeCustomer.objects.filter(client_id__in=client_ids)
        ],
        "card_setups": [
            {
                "stripe_setup_intent": s.stripe_setup_intent_id or "",
                "status": s.status,
                "created_at": s.created_at.isoformat(),
            }
            for s in CardSetup.objects.filter(client_id__in=client_ids).order_by("created_at", "id")
        ],
        "online_booking_checkouts": [
            {
                # A visit's checkout names every service of the visit, not only its first.
                "service": ", ".join(checkout_service_names(checkout=b)),
                "location": b.location.name,
                "start": b.start.isoformat(),
                "status": b.status,
                "cancellation_policy_version": b.policy.version if b.policy else None,
                "policy_accepted_at": b.policy_accepted_at.isoformat() if b.policy_accepted_at else None,
                "stripe_checkout_session": b.stripe_checkout_session_id or "",
                "created_at": b.created_at.isoformat(),
            }
            for b in BookingCheckout.objects.filter(client_id__in=client_ids)
            .select_related("service", "location", "policy")
            .order_by("created_at", "id")
        ],
    }


def erase_payments(client_ids):
    return forget_clients(list(client_ids))
