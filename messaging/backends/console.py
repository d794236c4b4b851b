import sys
import uuid

from .base import BaseSmsBackend, SendResult


class SmsBackend(BaseSmsBackend):
    """Prints each text to stdout, for local runs."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, message):
        self.stream.write(f"--- SMS to {message.to} from {message.from_number or '(default sender)'}\n{message.body}\n---\n")
        self.stream.flush()
        return SendResult(sid=f"CONSOLE{uuid.uuid4().hex}", status="sent")
