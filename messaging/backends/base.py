from dataclasses import dataclass


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


class SendError(Exception):
    def __init__(self, message: str, *, code: object = "") -> None:
        super().__init__(message)
        self.code = str(code or "")


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
