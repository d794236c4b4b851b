import threading
import uuid

from .base import BaseSmsBackend, OutboundSms, SendResult

# Like django.core.mail.outbox: every text "sent" in this process, for tests.
outbox: list[OutboundSms] = []
_lock = threading.Lock()


class SmsBackend(BaseSmsBackend):
    def send(self, message: OutboundSms) -> SendResult:
        with _lock:
            outbox.append(message)
        return SendResult(sid=f"SM{uuid.uuid4().hex}", status="queued")
