"""The signed link emailed to a client whose card asked for authentication for a fee."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Payment

SALT = "payments.fee-authentication"
MAX_AGE_SECONDS = 14 * 24 * 3600


def fee_token(payment: Payment) -> str:
    return signing.dumps({"p": payment.pk}, salt=SALT)


def fee_link(payment: Payment) -> str:
    return settings.SITE_URL + reverse("payments:fee", args=[fee_token(payment)])


def payment_from_fee_token(token: str) -> Payment | None:
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    return Payment.objects.filter(pk=data.get("p") if isinstance(data, dict) else None).first()
