"""The send path: one queued text to the provider, re-checking at send time whether it may still go.

A row is marked "handed to provider" (committed) before the provider is called, so a retry after a crash
never sends it again; transient errors are retried with backoff, permanent ones fail the text.
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from appointments.models import Appointment
from clinic.models import Client, Location

from . import quiet_hours
from .backends import get_backend
from .backends.base import OutboundSms, PermanentSendError, TransientSendError
from .delivery import act_on_rejection, move, move_where
from .models import MessageKind, MessageStatus, SmsMessage
from .outbox import ACTIVE
from .permissions import PURPOSE_OF_KIND, Purpose, may_contact
from .throttle import wait_for_send_slot

logger = logging.getLogger(__name__)

MAX_VALIDITY_SECONDS = 4 * 3600
USER_INITIATED = (MessageKind.VERIFICATION, MessageKind.NEW_NUMBER_CODE, MessageKind.KEYWORD_REPLY)


def status_callback_url(message_id: int | None = None) -> str:
    url = settings.SITE_URL + "/messaging/twilio/status/"
    # The text's id lets Twilio's report find a text whose SID never reached us (a worker lost
    # mid-send, an answer that came after our timeout). Twilio signs the whole URL.
    return url if message_id is None else f"{url}?text={message_id}"


@dataclass
class Delivery:
    outcome: str  # sent, skipped, failed, retry, deferred, noop
    retry_in: float | None = None


def _stop_reason(message: SmsMessage, now: datetime) -> str:
    """Why a queued text must not go out now (re-checked at send time), or ''."""
    client, appointment = message.client, message.appointment
    purpose = PURPOSE_OF_KIND.get(message.kind, Purpose.REPLY)
    if purpose == Purpose.REPLY:
        client = None  # a reply goes to the number that texted us, whoever's record it is
    # The marketing cap was applied when the campaign chose its audience (this row is one of its sends).
    permission = may_contact(client=client, purpose=purpose, to=message.to_number, check_cap=False)
    if not permission:
        return f"Not sent at send time: {permission.reason}"
    if message.send_before is not None and now >= message.send_before:
        return "Too late: what this text offers has expired."
    if message.kind in (MessageKind.CONFIRMATION, MessageKind.REMINDER, MessageKind.FORMS):
        if appointment is None or appointment.status not in ACTIVE:
            return "The appointment is no longer active."
        if appointment.start != message.appointment_start:
            return "The appointment has moved; this text was for the old time."
        if appointment.start <= now:
            return "The appointment has already started."
    return ""


LONGEST_RETRY_COUNTDOWN_SECONDS = 600


def _backoff(attempts: int) -> float:
    # Exponential with jitter: 5 s, 10 s, 20 s ... (SMS_RETRY_BACKOFF_SECONDS) capped at 10 minutes.
    return random.uniform(0.5, 1.0) * min(
        LONGEST_RETRY_COUNTDOWN_SECONDS, settings.SMS_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)
    )


_UNREAD_RELATED_FIELDS = [
    f"{relation}__{field.name}"
    for relation, model, read in (
        ("client", Client, {"id", "mobile_phone", "mobile_phone_problem", "processing_restricted", "erased_at"}),
        ("appointment", Appointment, {"id", "status", "start"}),
        ("location", Location, {"id", "timezone"}),
    )
    for field in model._meta.concrete_fields
    if field.name not in read
]


def deliver_sms(*, message_id: int, now: datetime | None = None) -> Delivery:
    """Send one queued text if it still may go; safe to call any number of times."""
    now = now or timezone.now()
    with transaction.atomic():
        message = (
            SmsMessage.objects.select_for_update(of=("self",))
            .select_related("client", "appointment", "location")
            # Of the related rows, only what the send-time checks read: this runs for every text.
            .defer(*_UNREAD_RELATED_FIELDS)
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.status != MessageStatus.QUEUED:
            return Delivery("noop")
        if message.send_after and message.send_after > now:
            _defer(message, message.send_after)
            return Delivery("deferred")
        tz = message.location.tzinfo if message.location else timezone.get_current_timezone()
        reason = _stop_reason(message, now)
        # A code the person just asked for is not a solicitation: it goes at once.
        if not reason and message.kind not in USER_INITIATED and not quiet_hours.is_allowed(now, tz):
            later = quiet_hours.next_allowed_at_or_after(now, tz)
            if message.send_before is not None and later >= message.send_before:
                reason = "Quiet hours until after what this text offers has expired."
            elif message.appointment_start is None or later < message.appointment_start:
                _defer(message, later)
                return Delivery("deferred")
            else:
                reason = "Quiet hours until after the appointment."
        if reason:
            move(message, MessageStatus.SKIPPED, reason=reason, code="", now=now)
            return Delivery("skipped")
        # Committed before the provider is called: a retry after a crash never sends it again.
        move(message, MessageStatus.SENDING, now=now, attempts=message.attempts + 1)

    validity = MAX_VALIDITY_SECONDS
    if message.kind not in USER_INITIATED:
        validity = min(validity, quiet_hours.seconds_until_window_closes(now, tz))
    if message.appointment_start:
        validity = min(validity, int((message.appointment_start - now).total_seconds()))
    if message.send_before:
        validity = min(validity, int((message.send_before - now).total_seconds()))
    outbound = OutboundSms(
        to=message.to_number,
        body=message.body,
        from_number=message.from_number,
        validity_seconds=max(60, validity),
        status_callback=status_callback_url(message.pk),
    )
    try:
        wait_for_send_slot(message.from_number or "default")
        result = get_backend().send(outbound)
    except TransientSendError as exc:
        return _after_transient_error(message.pk, exc)
    except PermanentSendError as exc:
        return _after_permanent_error(message.pk, exc)
    # Unless a status report got there first (it confirmed the text and saved its SID).
    move_where(
        SmsMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING),
        MessageStatus.SENT,
        twilio_sid=result.sid,
        sent_at=timezone.now(),
    )
    return Delivery("sent")


def _defer(message: SmsMessage, until: datetime) -> None:
    # Leave it to the dispatch pass, which queues it once due (no long Celery ETAs).
    message.send_after = until
    message.enqueued_at = None
    message.save(update_fields=["send_after", "enqueued_at"])


def _confirmed_meanwhile(message: SmsMessage) -> Delivery | None:
    """Twilio's status report confirmed the text while we waited for its answer: it went out (no retry, no failure)."""
    return None if message.status == MessageStatus.SENDING else Delivery("sent" if message.twilio_sid else "noop")


def _after_transient_error(message_id: int, exc: TransientSendError) -> Delivery:
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().get(pk=message_id)
        if confirmed := _confirmed_meanwhile(message):
            return confirmed
        if message.attempts >= settings.SMS_MAX_ATTEMPTS:
            move(
                message, MessageStatus.FAILED, reason=f"Gave up after {message.attempts} attempts: {exc}", code=exc.code
            )
            logger.warning("SMS %s failed after %s attempts: %s", message_id, message.attempts, exc)
            return Delivery("failed")
        wait = _backoff(message.attempts)
        if exc.retry_after:
            # Never sooner than the provider asked; a little later at random, so a throttled batch
            # does not return at once.
            wait = max(wait, exc.retry_after * random.uniform(1.0, 1.1))
        if wait > LONGEST_RETRY_COUNTDOWN_SECONDS and message.kind in USER_INITIATED:
            # Someone is waiting for this code or reply now; by then it would be no use, and they can ask again.
            reason = f"Twilio asked to wait {round(wait / 60)} minutes; too late for a text the person is waiting for."
            move(message, MessageStatus.FAILED, reason=reason, code=exc.code)
            return Delivery("failed")
        move(message, MessageStatus.QUEUED, reason=f"Retrying: {exc}", code=exc.code)
        if exc.retry_after:
            # The provider asked for this wait (Retry-After): no pass or redelivered task may send sooner.
            message.send_after = timezone.now() + timedelta(seconds=wait)
            if wait > LONGEST_RETRY_COUNTDOWN_SECONDS:
                _defer(message, message.send_after)  # the dispatch pass queues it then: no long Celery ETA
                return Delivery("deferred")
            message.save(update_fields=["send_after"])
        return Delivery("retry", retry_in=wait)


def _after_permanent_error(message_id: int, exc: PermanentSendError) -> Delivery:
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update(of=("self",)).select_related("client").get(pk=message_id)
        if confirmed := _confirmed_meanwhile(message):
            return confirmed
        move(message, MessageStatus.FAILED, reason=str(exc), code=exc.code)
        act_on_rejection(message, exc.rejection, exc.code)
    return Delivery("failed")
