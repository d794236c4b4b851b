from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class OutboundSms:
    to: str  # E.164
    body: str
    from_number: str = ""  # E.164, or empty for the default sender
    validity_seconds: int | None = None  # drop rather than deliver late
    status_callback: str = ""


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str  # the provider's word: queued, accepted, sent, ...


class Rejection(StrEnum):
    """What a provider's error code says about the recipient, in the app's own words.

    Each backend translates its provider's codes (as django-anymail's backends normalise
    rejections), so the rest of the app acts on these and never on a provider's numbers.
    """

    UNSUBSCRIBED = "unsubscribed"  # the person opted out at the carrier: the number goes on our opt-out list
    INVALID_NUMBER = "invalid_number"  # not a phone number: the front desk checks it with the client
    NOT_MOBILE = "not_mobile"  # a landline or another number that cannot take texts: likewise
    UNDELIVERABLE = "undeliverable"  # this text did not arrive (handset off, filtered, unknown): the number stays


class SendError(Exception):
    def __init__(self, message: str, *, code: object = "", rejection: Rejection | None = None) -> None:
        super().__init__(message)
        self.code = str(code or "")
        self.rejection = rejection


class TransientSendError(SendError):
    """Worth trying again later: network trouble, 429, 5xx. retry_after: the provider's asked wait, in seconds."""

    def __init__(self, message: str, *, code: object = "", retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Trying again cannot help: bad number, unsubscribed, bad credentials."""


class BaseSmsBackend:
    def send(self, message: OutboundSms) -> SendResult:
        raise NotImplementedError

    @classmethod
    def rejection_for(cls, code: object) -> Rejection | None:
        """The app's word for one of this provider's error codes; None when it says nothing about the recipient."""
        return None
