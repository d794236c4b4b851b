import sys
import uuid
from typing import TextIO

from .base import BaseSmsBackend, OutboundSms, SendResult


class SmsBackend(BaseSmsBackend):
    """Prints each text to stdout, for local runs."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, message: OutboundSms) -> SendResult:
        self.stream.write(
            f"--- SMS to {message.to} from {message.from_number or '(default sender)'}\n{message.body}\n---\n"
        )
        self.stream.flush()
        return SendResult(sid=f"CONSOLE{uuid.uuid4().hex}", status="sent")
