"""A text's delivery status: the one transition table, and what happens after a text left us.

Every change of an outbound text's status goes through `move` (one row, under its lock) or
`move_where` (a bulk update); both apply TRANSITIONS, so the send path, the sweeps and
Twilio's status reports follow the same rules. A change the table does not allow is
ignored: a late or repeated report never moves a status backwards ("sent" after
"delivered"), and nothing moves a text that has finished. Provider error codes reach this
module already translated by the backend into a `Rejection`.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from clinic.models import Client
from privacy.models import ConsentActor

from . import opt_outs
from .backends.base import Rejection
from .backends.twilio import SmsBackend as Twilio
from .models import MessageStatus, OptOutSource, SmsMessage

logger = logging.getLogger(__name__)

Status = MessageStatus

# From each status, the statuses a text may move to. Created as queued or skipped (or received, inbound).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.QUEUED: frozenset({Status.SENDING, Status.SKIPPED}),
    # SENDING is committed before the provider is called; QUEUED again after a transient error.
    Status.SENDING: frozenset({Status.SENT, Status.FAILED, Status.QUEUED}),
    Status.SENT: frozenset({Status.DELIVERED, Status.UNDELIVERED, Status.FAILED}),
    # Only a text without a SID (its answer was lost, so we marked it failed) that Twilio reports as sent;
    # a failure Twilio itself reported stands (see allowed()).
    Status.FAILED: frozenset({Status.SENT}),
    Status.DELIVERED: frozenset(),
    Status.UNDELIVERED: frozenset(),
    Status.SKIPPED: frozenset(),
    Status.RECEIVED: frozenset(),
}

# The reason shown on a text the carrier did not deliver, per rejection (the code itself is kept too).
REJECTION_REASONS = {
    Rejection.UNSUBSCRIBED: "The person unsubscribed at their carrier; the number is now on the opt-out list.",
    Rejection.INVALID_NUMBER: "Not a valid phone number; the client's record is flagged for the front desk.",
    Rejection.NOT_MOBILE: "Not a mobile number; the client's record is flagged for the front desk.",
    Rejection.UNDELIVERABLE: "The carrier could not deliver this text (phone off or unreachable, or filtered); "
    "the number stays in use.",
}


def allowed(message: SmsMessage, new: str) -> bool:
    """May this text move to `new` from where it is now?"""
    if new not in TRANSITIONS.get(message.status, frozenset()):
        return False
    return not (message.status == Status.FAILED and message.twilio_sid)


def move(
    message: SmsMessage,
    new: str,
    *,
    reason: str | None = None,
    code: object = None,
    now: datetime | None = None,
    **fields: Any,
) -> bool:
    """Move a text (locked by the caller) to `new` if the table allows it, saving the changed fields.

    Returns False, changing nothing, when it does not (a late, repeated or out-of-order change).
    """
    if not allowed(message, new):
        return False
    message.status = new
    message.status_updated_at = now or timezone.now()
    changed = ["status", "status_updated_at"]
    if reason is not None:
        message.status_reason = reason[:300]
        changed.append("status_reason")
    if code is not None:
        message.error_code = str(code)[:20]
        changed.append("error_code")
    for name, value in fields.items():
        setattr(message, name, value)
        changed.append(name)
    message.save(update_fields=changed)
    return True


def move_where(queryset: "models.QuerySet[SmsMessage]", new: str, *, now: datetime | None = None, **fields: Any) -> int:
    """Move every text of the queryset that the table allows to `new`, in one UPDATE. Returns how many."""
    sources = [status for status, targets in TRANSITIONS.items() if new in targets]
    rows = queryset.filter(status__in=sources)
    if Status.FAILED in sources:
        rows = rows.exclude(status=Status.FAILED, twilio_sid__isnull=False)
    return rows.update(status=new, status_updated_at=now or timezone.now(), **fields)


def give_up_lost_sends(*, now: datetime) -> int:
    """A text left "handed to provider" by a dead worker may have gone out: fail it, never resend."""
    return move_where(
        SmsMessage.objects.filter(
            status=Status.SENDING,
            status_updated_at__lt=now - timedelta(minutes=settings.SMS_SENDING_TIMEOUT_MINUTES),
        ),
        Status.FAILED,
        now=now,
        status_reason="Worker lost while handing to the provider; not resent, to avoid a duplicate.",
    )


def act_on_rejection(message: SmsMessage, rejection: Rejection | None, code: object) -> None:
    """Act on what the provider said about the recipient (already in the app's words)."""
    if rejection == Rejection.UNSUBSCRIBED and not opt_outs.is_sms_opted_out(message.to_number):
        # (Already listed, e.g. a code the person asked for after their STOP: nothing new to record.)
        opt_outs.add_sms_opt_out(
            phone=message.to_number,
            reason=f"Carrier reports unsubscribed (Twilio {code})",
            source=OptOutSource.CARRIER,
            actor=ConsentActor.SYSTEM,
            evidence=message.twilio_sid or "",
        )
    elif rejection in (Rejection.INVALID_NUMBER, Rejection.NOT_MOBILE) and message.client_id:
        problem = "Not a valid phone number" if rejection == Rejection.INVALID_NUMBER else "Not a mobile number"
        # Only while the record still holds the number texted: a late report about an old number must not
        # flag the new one the client gave since.
        Client.objects.filter(pk=message.client_id, mobile_phone=message.to_number).update(
            mobile_phone_problem=f"{problem} (Twilio {code}); please check with the client."
        )
    # UNDELIVERABLE: this text only; the reason is on the text and the number stays in use.


def apply_delivery_status(
    *, sid: str, provider_status: str | None, error_code: object = "", message_id: int | None = None, to: str = ""
) -> bool:
    """Record a Twilio status report. Idempotent; never moves a status backwards. Returns True if the text is known.

    message_id (from the callback URL) and to (the report's recipient) find a text whose SID we never saved.
    """
    new_status = Twilio.reported_status(provider_status)
    rejection = Twilio.rejection_for(error_code)
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().filter(twilio_sid=sid).first()
        if message is None and message_id is not None:
            message = _confirm_lost_send(message_id=message_id, sid=sid, to=to)
            if message is None:  # the worker's own save (or another report) may have committed the SID meanwhile
                message = SmsMessage.objects.select_for_update().filter(twilio_sid=sid).first()
        if message is None:
            return False
        if new_status is None:
            return True
        details: dict[str, Any] = {}
        if error_code:
            details["code"] = error_code
            if rejection is not None:
                details["reason"] = REJECTION_REASONS[rejection]
        if move(message, new_status, **details) and error_code:
            act_on_rejection(message, rejection, error_code)
    return True


def _confirm_lost_send(*, message_id: int, sid: str, to: str) -> SmsMessage | None:
    """Twilio reports on a text we never heard back about: it went out after all, so it is sent, with its SID."""
    message = (
        SmsMessage.objects.select_for_update()
        .filter(pk=message_id, twilio_sid__isnull=True, status__in=(Status.SENDING, Status.FAILED))
        .first()
    )
    # The recipient must match too: after a database restore, ids are handed out again.
    if message is None or not to or message.to_number != to:
        return None
    now = timezone.now()
    move(
        message,
        Status.SENT,
        reason="Confirmed by Twilio's status report: the answer to the send was lost.",
        code="",
        now=now,
        twilio_sid=sid,
        sent_at=message.sent_at or now,
    )
    logger.info("SMS %s confirmed sent by a status report", message.pk)
    return message
