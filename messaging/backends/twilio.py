"""Sends through Twilio's Messages API with the official `twilio` library."""

import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ..models import MessageStatus
from .base import BaseSmsBackend, OutboundSms, PermanentSendError, Rejection, SendResult, TransientSendError

# Twilio's error codes, in the app's words (https://www.twilio.com/docs/api/errors).
REJECTIONS = {
    "21610": Rejection.UNSUBSCRIBED,  # the recipient replied STOP to this sender at the carrier
    "21211": Rejection.INVALID_NUMBER,  # invalid 'To' phone number
    "21614": Rejection.NOT_MOBILE,  # 'To' is not a valid mobile number
    "30003": Rejection.UNDELIVERABLE,  # unreachable destination handset
    "30004": Rejection.UNDELIVERABLE,  # message blocked
    "30005": Rejection.UNDELIVERABLE,  # unknown destination handset
    "30006": Rejection.UNDELIVERABLE,  # landline or unreachable carrier
    "30007": Rejection.UNDELIVERABLE,  # filtered by the carrier
    "30008": Rejection.UNDELIVERABLE,  # unknown error
}
# Twilio's MessageStatus words in a status report, as our statuses (queued, accepted, sending: nothing new).
REPORTED_STATUS = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}
LONGEST_RETRY_AFTER_SECONDS = 3600  # a reminder a day ahead still goes out in time


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """An HTTP Retry-After (seconds, or a date) as seconds from now; None if absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
            if when.tzinfo is None:  # HTTP dates are GMT
                when = when.replace(tzinfo=UTC)
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
        except (TypeError, ValueError, OverflowError):
            return None
    return min(max(seconds, 0.0), LONGEST_RETRY_AFTER_SECONDS)


class _HttpClient(TwilioHttpClient):
    """Twilio's HTTP client, keeping the Retry-After of a 429 or 503 answer: TwilioRestException drops headers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answer = threading.local()  # a worker may run sends in threads

    @property
    def retry_after(self) -> float | None:
        return getattr(self._answer, "retry_after", None)

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._answer.retry_after = None
        response = super().request(*args, **kwargs)
        if response.status_code in (429, 503):
            self._answer.retry_after = retry_after_seconds((response.headers or {}).get("Retry-After"))
        return response


class SmsBackend(BaseSmsBackend):
    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        base_url: str | None = None,
        messaging_service_sid: str | None = None,
    ) -> None:
        self.messaging_service_sid = (
            settings.TWILIO_MESSAGING_SERVICE_SID if messaging_service_sid is None else messaging_service_sid
        )
        self.client = Client(
            account_sid or settings.TWILIO_ACCOUNT_SID,
            auth_token or settings.TWILIO_AUTH_TOKEN,
            http_client=_HttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS),
        )
        # TWILIO_API_BASE_URL points the real library at a Twilio-compatible server (tests).
        self.client.api.base_url = (base_url or settings.TWILIO_API_BASE_URL).rstrip("/")

    def send(self, message: OutboundSms) -> SendResult:
        params: dict[str, Any] = {"to": message.to, "body": message.body}
        if message.from_number:
            params["from_"] = message.from_number
        elif self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        elif settings.TWILIO_FROM_NUMBER:
            params["from_"] = settings.TWILIO_FROM_NUMBER
        else:
            raise PermanentSendError("No sender: set TWILIO_MESSAGING_SERVICE_SID or a location's SMS sender number.")
        if message.status_callback:
            params["status_callback"] = message.status_callback
        if message.validity_seconds:
            params["validity_period"] = message.validity_seconds
        try:
            created = self.client.messages.create(**params)
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise TransientSendError(
                    f"Twilio answered {exc.status}: {exc.msg}",
                    code=exc.code or exc.status,
                    retry_after=self.client.http_client.retry_after,
                ) from exc
            raise PermanentSendError(
                f"Twilio refused the message: {exc.msg}",
                code=exc.code or exc.status,
                rejection=self.rejection_for(exc.code),
            ) from exc
        except requests.exceptions.ReadTimeout as exc:
            # The request reached Twilio, which may have accepted it: a retry could text the person twice.
            raise PermanentSendError(
                "Twilio did not answer in time; the text may have gone out, so it is not resent (no duplicates)."
            ) from exc
        except (requests.exceptions.RequestException, OSError) as exc:
            raise TransientSendError(f"Could not reach Twilio: {exc.__class__.__name__}") from exc
        except TwilioException as exc:
            raise TransientSendError(f"Twilio client error: {exc}") from exc
        return SendResult(sid=created.sid, status=created.status or "queued")

    @classmethod
    def rejection_for(cls, code: object) -> Rejection | None:
        return REJECTIONS.get(str(code or ""))

    @staticmethod
    def reported_status(word: str | None) -> MessageStatus | None:
        """Our status for the MessageStatus of a Twilio status report; None for a word that changes nothing."""
        return REPORTED_STATUS.get((word or "").lower())
