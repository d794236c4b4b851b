"""A text's delivery status after it left us: provider status reports, provider error codes, lost sends."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinic.models import Client
from privacy.models import ConsentActor

from . import opt_outs
from .backends.twilio import INVALID_NUMBER, NOT_MOBILE, UNSUBSCRIBED
from .models import STATUS_RANK, MessageStatus, OptOutSource, SmsMessage

logger = logging.getLogger(__name__)


def give_up_lost_sends(*, now: datetime) -> int:
    """A text left "handed to provider" by a dead worker may have gone out: fail it, never resend."""
    return SmsMessage.objects.filter(
        status=MessageStatus.SENDING,
        status_updated_at__lt=now - timedelta(minutes=settings.SMS_SENDING_TIMEOUT_MINUTES),
    ).update(
        status=MessageStatus.FAILED,
        status_reason="Worker lost while handing to the provider; not resent, to avoid a duplicate.",
        status_updated_at=now,
    )


def handle_provider_error_code(message: SmsMessage, code: object) -> None:
    """Act on what a provider error says about the recipient."""
    code = str(code or "")
    if code == UNSUBSCRIBED and not opt_outs.is_sms_opted_out(message.to_number):
        # (Already listed, e.g. a code the person asked for after their STOP: nothing new to record.)
        opt_outs.add_sms_opt_out(
            phone=message.to_number,
            reason=f"Carrier reports unsubscribed (Twilio {code})",
            source=OptOutSource.CARRIER,
            actor=ConsentActor.SYSTEM,
            evidence=message.twilio_sid or "",
        )
    elif code in (INVALID_NUMBER, NOT_MOBILE) and message.client_id:
        problem = "Not a valid phone number" if code == INVALID_NUMBER else "Not a mobile number"
        Client.objects.filter(pk=message.client_id).update(
            mobile_phone_problem=f"{problem} (Twilio {code}); please check with the client."
        )


TWILIO_STATUS = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}


def apply_delivery_status(
    *, sid: str, provider_status: str | None, error_code: object = "", message_id: int | None = None, to: str = ""
) -> bool:
    """Record a delivery report. Idempotent; never moves a status backwards. Returns True if known.

    message_id (from the callback URL) and to (the report's recipient) find a text whose SID we never saved.
    """
    new_status = TWILIO_STATUS.get((provider_status or "").lower())
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().filter(twilio_sid=sid).first()
        if message is None and message_id is not None:
            message = _confirm_lost_send(message_id=message_id, sid=sid, to=to)
            if message is None:  # the worker's own save (or another report) may have committed the SID meanwhile
                message = SmsMessage.objects.select_for_update().filter(twilio_sid=sid).first()
        if message is None:
            return False
        if new_status is None or STATUS_RANK[new_status] <= STATUS_RANK[MessageStatus(message.status)]:
            return True
        message.status = new_status
        message.status_updated_at = timezone.now()
        if error_code:
            message.error_code = str(error_code)[:20]
        message.save(update_fields=["status", "status_updated_at", "error_code"])
        if error_code:
            handle_provider_error_code(message, error_code)
    return True


def _confirm_lost_send(*, message_id: int, sid: str, to: str) -> SmsMessage | None:
    """Twilio reports on a text we never heard back about: it went out after all, so it is sent, with its SID."""
    message = (
        SmsMessage.objects.select_for_update()
        .filter(pk=message_id, twilio_sid__isnull=True, status__in=(MessageStatus.SENDING, MessageStatus.FAILED))
        .first()
    )
    # The recipient must match too: after a database restore, ids are handed out again.
    if message is None or not to or message.to_number != to:
        return None
    now = timezone.now()
    message.status, message.twilio_sid, message.error_code = MessageStatus.SENT, sid, ""
    message.sent_at, message.status_updated_at = message.sent_at or now, now
    message.status_reason = "Confirmed by Twilio's status report: the answer to the send was lost."
    message.save(update_fields=["status", "twilio_sid", "error_code", "sent_at", "status_updated_at", "status_reason"])
    logger.info("SMS %s confirmed sent by a status report", message.pk)
    return message
