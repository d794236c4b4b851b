"""Payments through Stripe with the official `stripe` library (StripeClient).

Every call that creates something carries an idempotency key made from our own
record's id (payment-<id>, refund-<id>, setup-<id>, customer-<client id>), so a
retried task or a retried request gets Stripe's first answer instead of a second
charge. STRIPE_API_BASE lets the tests point the real library at a local fake.
The library's own network retries are off: we retry ourselves, with the same key.
"""

from typing import Any

import stripe as stripe_lib
from django.conf import settings

from .base import (
    BasePaymentsBackend,
    CardDetails,
    CardError,
    CheckoutSession,
    Intent,
    PermanentPaymentsError,
    RefundResult,
    RetryablePaymentsError,
    StripeRefund,
)

# Refunds listed per page, and pages read at most per listing (a clinic refunds far fewer in the look-back).
REFUND_PAGE_SIZE = 100
REFUND_PAGES_MAX = 20


def _plain(obj: Any) -> dict[str, Any]:
    """A StripeObject (no longer a dict in stripe 16) as plain data."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _intent(obj: Any) -> Intent:
    obj = _plain(obj)
    payment_method = obj.get("payment_method") or ""
    if not isinstance(payment_method, str):
        payment_method = payment_method.get("id", "")
    return Intent(
        id=obj["id"], status=obj["status"], client_secret=obj.get("client_secret") or "", payment_method=payment_method
    )


def _session(obj: Any) -> CheckoutSession:
    obj = _plain(obj)
    return CheckoutSession(
        id=obj["id"],
        url=obj.get("url") or "",
        status=obj.get("status") or "",
        mode=obj.get("mode") or "",
        payment_status=obj.get("payment_status") or "",
        payment_intent=_id(obj.get("payment_intent")),
        setup_intent=_id(obj.get("setup_intent")),
        amount_total=obj.get("amount_total"),
        currency=obj.get("currency") or "",
        metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
    )


def _refund(obj: Any) -> StripeRefund:
    obj = _plain(obj)
    return StripeRefund(
        id=obj["id"],
        amount=obj.get("amount"),
        currency=obj.get("currency") or "",
        status=obj.get("status") or "",
        payment_intent=_id(obj.get("payment_intent")),
        charge=_id(obj.get("charge")),
        created=obj.get("created"),
        reason=obj.get("reason") or "",
        metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
    )


def _id(value: Any) -> str:
    if not value:
        return ""
    return value if isinstance(value, str) else str(value.get("id", ""))


class PaymentsBackend(BasePaymentsBackend):
    def __init__(
        self, *, api_key: str | None = None, api_base: str | None = None, timeout: float | None = None
    ) -> None:
        self.client = stripe_lib.StripeClient(
            api_key or settings.STRIPE_SECRET_KEY,
            base_addresses={"api": (api_base or settings.STRIPE_API_BASE).rstrip("/")},
            http_client=stripe_lib.RequestsClient(timeout=timeout or settings.STRIPE_TIMEOUT_SECONDS),
            max_network_retries=0,
        )

    def _call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Stripe's errors as ours: timeouts, unreachable, 429 and 5xx are retryable; card trouble is a CardError."""
        try:
            return func(*args, **kwargs)
        except stripe_lib.CardError as exc:
            error = exc.error
            intent = error.payment_intent if error is not None else None
            raise CardError(
                exc.user_message or str(exc),
                code=exc.code or "",
                decline_code=(error.decline_code or "") if error is not None else "",
                payment_intent=_intent(intent) if intent else None,
            ) from exc
        except (stripe_lib.APIConnectionError, stripe_lib.RateLimitError) as exc:
            raise RetryablePaymentsError(
                f"Stripe could not be reached or did not answer in time ({exc.__class__.__name__}); "
                "the outcome is unknown and will be checked again with the same idempotency key."
            ) from exc
        except stripe_lib.StripeError as exc:
            status = exc.http_status or 0
            if status >= 500 or status == 409:  # 409: the same key is still being processed by Stripe
                raise RetryablePaymentsError(f"Stripe answered {status}; to be tried again.", code=str(status)) from exc
            raise PermanentPaymentsError(
                f"Stripe refused the request: {exc.user_message or exc}", code=exc.code or ""
            ) from exc

    def create_customer(self, *, idempotency_key: str, metadata: dict[str, str]) -> str:
        customer = self._call(
            self.client.v1.customers.create,
            params={"metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        return str(customer.id)

    def delete_customer(self, *, customer_id: str) -> None:
        try:
            self._call(self.client.v1.customers.delete, customer_id)
        except PermanentPaymentsError as exc:
            if exc.code != "resource_missing":  # already deleted: what we wanted
                raise

    def create_setup_intent(self, *, customer_id: str, idempotency_key: str, metadata: dict[str, str]) -> Intent:
        intent = self._call(
            self.client.v1.setup_intents.create,
            params={"customer": customer_id, "usage": "off_session", "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        return _intent(intent)

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
        params: dict[str, Any] = {"amount": amount, "currency": currency, "customer": customer_id, "metadata": metadata}
        if off_session and payment_method:
            params.update(payment_method=payment_method, off_session=True, confirm=True)
        else:
            params["setup_future_usage"] = "off_session"  # the deposit's card can pay a later fee
        intent = self._call(
            self.client.v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key}
        )
        return _intent(intent)

    def retrieve_payment_intent(self, *, payment_intent_id: str) -> Intent:
        return _intent(self._call(self.client.v1.payment_intents.retrieve, payment_intent_id))

    def create_refund(
        self, *, payment_intent_id: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> RefundResult:
        refund = self._call(
            self.client.v1.refunds.create,
            params={"payment_intent": payment_intent_id, "amount": amount, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        return RefundResult(id=refund.id, status=refund.status or "")

    def list_refunds(self, *, created_since: int | None = None, payment_intent_id: str = "") -> list[StripeRefund]:
        params: dict[str, Any] = {"limit": REFUND_PAGE_SIZE}
        if created_since is not None:
            params["created"] = {"gte": created_since}
        if payment_intent_id:
            params["payment_intent"] = payment_intent_id
        refunds: list[StripeRefund] = []
        for _ in range(REFUND_PAGES_MAX):
            page = _plain(self._call(self.client.v1.refunds.list, params=params))
            data = page.get("data") or []
            refunds.extend(_refund(obj) for obj in data)
            if not page.get("has_more") or not data:
                break
            params["starting_after"] = data[-1]["id"]
        return refunds

    def card_details(self, *, payment_method_id: str) -> CardDetails:
        method = self._call(self.client.v1.payment_methods.retrieve, payment_method_id)
        card = _plain(method)["card"]
        return CardDetails(
            brand=card["brand"], last4=card["last4"], exp_month=card["exp_month"], exp_year=card["exp_year"]
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
        params: dict[str, Any] = {
            "mode": mode,
            "customer": customer_id,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": expires_at,
            "metadata": metadata,
            "payment_method_types": ["card"],
        }
        if mode == "payment":
            params["line_items"] = [
                {
                    "price_data": {"currency": currency, "unit_amount": amount, "product_data": {"name": description}},
                    "quantity": 1,
                }
            ]
            # The card that pays the deposit can pay a late-cancel or no-show fee later.
            params["payment_intent_data"] = {"setup_future_usage": "off_session", "metadata": intent_metadata}
        else:
            params["currency"] = currency
            params["setup_intent_data"] = {"metadata": intent_metadata}
        session = self._call(
            self.client.v1.checkout.sessions.create, params=params, options={"idempotency_key": idempotency_key}
        )
        return _session(session)

    def retrieve_checkout_session(self, *, session_id: str) -> CheckoutSession:
        return _session(self._call(self.client.v1.checkout.sessions.retrieve, session_id))

    def expire_checkout_session(self, *, session_id: str) -> CheckoutSession:
        return _session(self._call(self.client.v1.checkout.sessions.expire, session_id))

    def retrieve_setup_intent(self, *, setup_intent_id: str) -> Intent:
        return _intent(self._call(self.client.v1.setup_intents.retrieve, setup_intent_id))
