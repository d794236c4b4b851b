"""Sending texts: confirmations, reminders, delivery, opt-outs and status callbacks.

Exactly once: every program text has a dedupe key under a unique constraint,
so two dispatchers, a retried task or a re-run pass cannot make a second row;
and a row is marked "handed to provider" (committed) before the provider is
called, so a retry after a crash never sends it again.
"""

import logging
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from appointments.models import Appointment, AppointmentSource, AppointmentStatus
from clinic.models import Client, Location
from clinic.queueing import enqueue
from privacy.models import ConsentActor

from . import opt_outs, quiet_hours, texts
from .backends import get_backend
from .backends.base import OutboundSms, PermanentSendError, TransientSendError
from .backends.twilio import INVALID_NUMBER, NOT_MOBILE, UNSUBSCRIBED
from .models import STATUS_RANK, Direction, MessageKind, MessageStatus, OptOutSource, ReminderRule, SmsMessage
from .permissions import COUNTRY, PURPOSE_OF_KIND, Purpose, may_contact, may_contact_many, number_on_file
from .throttle import wait_for_send_slot

if TYPE_CHECKING:
    from phonenumber_field.phonenumber import PhoneNumber

logger = logging.getLogger(__name__)

ACTIVE = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
MAX_VALIDITY_SECONDS = 4 * 3600
USER_INITIATED = (MessageKind.VERIFICATION, MessageKind.KEYWORD_REPLY)


def status_callback_url(message_id: int | None = None) -> str:
    url = settings.SITE_URL + "/messaging/twilio/status/"
    # The text's id lets Twilio's report find a text whose SID never reached us (a worker lost
    # mid-send, an answer that came after our timeout). Twilio signs the whole URL.
    return url if message_id is None else f"{url}?text={message_id}"


def _enqueue(message_ids: Iterable[int]) -> None:
    from .tasks import send_sms_batch

    ids = list(message_ids)
    for i in range(0, len(ids), 50):
        enqueue(send_sms_batch, ids[i : i + 50])


def enqueue_due_messages(*, now: datetime | None = None, limit: int = 20000) -> int:
    """Queue send tasks for due messages that have none in flight. Returns how many."""
    now = now or timezone.now()
    retry_after = now - timedelta(minutes=settings.SMS_REQUEUE_AFTER_MINUTES)
    with transaction.atomic():
        due = (
            SmsMessage.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.QUEUED, send_after__lte=now)
            .filter(models.Q(enqueued_at__isnull=True) | models.Q(enqueued_at__lt=retry_after))
            .values_list("pk", flat=True)[:limit]
        )
        ids = list(due)
        SmsMessage.objects.filter(pk__in=ids).update(enqueued_at=now)
    transaction.on_commit(lambda: _enqueue(ids))
    return len(ids)


# --- Queuing program texts -------------------------------------------------


def queue_message(
    *,
    to_number: "PhoneNumber | str",
    body: str,
    location: Location | None,
    client: Client | None = None,
    appointment: Appointment | None = None,
    kind: str,
    dedupe_key: str | None = None,
    now: datetime | None = None,
    **extra: Any,
) -> SmsMessage:
    """Queue one text for the next allowed time and, if that is now, hand it to a worker.

    A text for an appointment that quiet hours would hold past its start is
    stored as skipped, with the reason.
    """
    now = now or timezone.now()
    tz = location.tzinfo if location else timezone.get_current_timezone()
    send_after = quiet_hours.next_allowed_at_or_after(now, tz)
    if appointment is not None and send_after >= appointment.start:
        extra.update(status=MessageStatus.SKIPPED, status_reason="No allowed texting time before the appointment.")
    queued = extra.get("status", MessageStatus.QUEUED) == MessageStatus.QUEUED
    message = SmsMessage.objects.create(
        to_number=str(to_number),
        from_number=str(location.sms_from_number or "") if location else "",
        body=body,
        location=location,
        client=client,
        appointment=appointment,
        kind=kind,
        dedupe_key=dedupe_key,
        send_after=send_after,
        enqueued_at=now if queued and send_after <= now else None,
        appointment_start=appointment.start if appointment else None,
        **extra,
    )
    if queued and send_after <= now:
        transaction.on_commit(lambda: _enqueue([message.pk]))
    # Held for quiet hours: the dispatch pass queues it once due.
    return message


def queue_booking_confirmation(*, appointment_id: int, now: datetime | None = None) -> SmsMessage | None:
    """Queue the confirmation text for a (re)booked appointment, if the client opted in.

    Double opt-in: an SMS marketing box ticked for a number not yet proven asks
    the number's owner once to reply JOIN, inside the confirmation text, or as
    its own text when no reminders were asked for. Either way one text, under
    the same quiet hours, daily cap and country rules.
    """
    now = now or timezone.now()
    appointment = Appointment.objects.select_related("client", "location", "service").filter(pk=appointment_id).first()
    if appointment is None or appointment.status not in ACTIVE:
        return None
    client = appointment.client
    permission = may_contact(client=client, purpose=Purpose.TRANSACTIONAL)
    invite = join_invitation_due(client)
    extra: dict[str, Any] = {}
    if permission.reason == COUNTRY:
        # Recorded, so the front desk sees why this booking got no text.
        extra = {"status": MessageStatus.SKIPPED, "status_reason": COUNTRY}
    elif not permission and not invite:
        return None
    if permission or extra:
        kind = MessageKind.CONFIRMATION
        body = texts.booking_confirmation(appointment) + (f" {texts.join_invitation()}" if invite else "")
        dedupe_key = f"confirmation:{appointment.pk}:{int(appointment.start.timestamp())}"
    else:
        kind, body, dedupe_key = MessageKind.MARKETING_CONFIRMATION, texts.join_invitation(), f"join:{client.pk}"
    with transaction.atomic():
        if not extra and appointment.source == AppointmentSource.ONLINE:
            # Bookings with one number at the same moment take turns here, so each sees the other's text.
            list(
                Client.objects.select_for_update()
                .filter(mobile_phone=client.mobile_phone)
                .order_by("pk")
                .values_list("pk")
            )
            if capped := _unsolicited_today(client.mobile_phone, appointment, now):
                extra = {"status": MessageStatus.SKIPPED, "status_reason": capped}
        try:
            with transaction.atomic():
                return queue_message(
                    to_number=client.mobile_phone,
                    body=body,
                    location=appointment.location,
                    client=client,
                    appointment=appointment,
                    kind=kind,
                    dedupe_key=dedupe_key,
                    now=now,
                    **extra,
                )
        except IntegrityError:
            return None  # already queued for this booking


def join_invitation_due(client: Client) -> bool:
    """Should this record's number be asked to confirm its SMS marketing opt-in (reply JOIN)? Once per record.

    Only while the record's latest SMS marketing choice is an opt-in and its number
    is unproven (a proven number needs no confirming), and only if a text may go.
    """
    if client.phone_verified_at is not None or not may_contact(client=client, purpose=Purpose.MARKETING_CONFIRMATION):
        return False
    asked_before = (
        SmsMessage.objects.filter(client=client, direction=Direction.OUTBOUND, body__contains=texts.JOIN_PROMPT)
        .exclude(status=MessageStatus.SKIPPED)
        .exists()
    )
    return not asked_before


def queue_join_invitation(*, client_id: int, now: datetime | None = None) -> SmsMessage | None:
    """Ask the number to confirm an SMS marketing opt-in made outside a booking (the preference center).

    At most one unsolicited text a day to a number that never texted us, as for bookings.
    """
    now = now or timezone.now()
    client = Client.objects.select_related("preferred_location").filter(pk=client_id).first()
    if client is None or not join_invitation_due(client):
        return None
    extra: dict[str, Any] = {}
    phone = str(client.mobile_phone)
    texted_us = SmsMessage.objects.filter(direction=Direction.INBOUND, from_number=phone).exists()
    if not texted_us and (
        SmsMessage.objects.filter(kind__in=UNSOLICITED_KINDS, to_number=phone, created_at__gte=now - timedelta(days=1))
        .exclude(status=MessageStatus.SKIPPED)
        .exists()
    ):
        extra = {"status": MessageStatus.SKIPPED, "status_reason": DAILY_CAP_REASON}
    try:
        with transaction.atomic():
            return queue_message(
                to_number=phone,
                body=texts.join_invitation(),
                location=client.preferred_location,
                client=client,
                kind=MessageKind.MARKETING_CONFIRMATION,
                dedupe_key=f"join:{client.pk}",
                now=now,
                **extra,
            )
    except IntegrityError:
        return None  # asked already


# SMS pumping: a bot booking many times with one number must not make us text it many times a day.
DAILY_CAP_REASON = "A number that has never texted us gets one booking text a day; this booking gets no texts."
# The texts a booking form makes us send to a number that may not be the booker's.
UNSOLICITED_KINDS = (MessageKind.CONFIRMATION, MessageKind.MARKETING_CONFIRMATION)
MOVES_CAP_REASON = "A number that has never texted us gets one text a day for moving a booking; reminders still follow."


def _unsolicited_today(phone: "PhoneNumber | str", appointment: Appointment, now: datetime) -> str:
    """Why a number that never texted us gets no booking text now ('' if it may): the daily cap's reason.

    One booking text a day, and one more for moving that same booking (the
    person moving their own visit); further moves get none, so a bot cannot
    move one booking from slot to slot for a text each time. Only the first
    reason also holds back the booking's reminders.
    """
    phone = str(phone)
    if SmsMessage.objects.filter(direction=Direction.INBOUND, from_number=phone).exists():
        return ""  # they have texted us: a real, reachable person
    sent_today = SmsMessage.objects.filter(
        kind__in=UNSOLICITED_KINDS,
        to_number=phone,
        created_at__gte=now - timedelta(days=1),
        appointment__source=AppointmentSource.ONLINE,
    ).exclude(status=MessageStatus.SKIPPED)
    if sent_today.exclude(appointment=appointment).exists():
        return DAILY_CAP_REASON
    if sent_today.filter(appointment=appointment).count() >= 2:
        return MOVES_CAP_REASON
    return ""


def reminder_offsets() -> tuple[dict[int, list[int]], list[int]]:
    """{location_id: [minutes, ...]} from the rules, and the default for the rest."""
    offsets: dict[int, list[int]] = {}
    for location_id, minutes in ReminderRule.objects.values_list("location_id", "minutes_before"):
        offsets.setdefault(location_id, []).append(minutes)
    return offsets, list(settings.SMS_REMINDER_OFFSETS_MINUTES)


@dataclass
class DispatchReport:
    queued: int = 0
    skipped: int = 0
    requeued: int = 0
    given_up: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)


def dispatch_due_reminders(*, now: datetime | None = None) -> DispatchReport:
    """One pass: queue every reminder that is due now, exactly once. Safe to run concurrently.

    Reads a fixed number of queries whatever the number of appointments.
    """
    now = now or timezone.now()
    report = DispatchReport()
    offsets, default_offsets = reminder_offsets()
    longest = max([m for ms in offsets.values() for m in ms] + default_offsets + [0])
    # Quiet hours can move a reminder up to a night earlier; look a day further.
    horizon = now + timedelta(minutes=longest) + timedelta(days=1)
    appointments = list(
        Appointment.objects.filter(
            status__in=ACTIVE,
            start__gt=now,
            start__lte=horizon,
            location__is_active=True,
            client__processing_restricted=False,
            client__mobile_phone_problem="",
        )
        .exclude(client__mobile_phone="")
        .annotate(
            confirmation_capped=models.Exists(
                SmsMessage.objects.filter(
                    appointment=models.OuterRef("pk"),
                    appointment_start=models.OuterRef("start"),
                    kind=MessageKind.CONFIRMATION,
                    status_reason=DAILY_CAP_REASON,
                )
            )
        )
        .select_related("client", "location", "service")
    )
    permitted = may_contact_many(
        clients={a.client_id: a.client for a in appointments}.values(), purpose=Purpose.TRANSACTIONAL
    )
    grace = timedelta(minutes=settings.SMS_REMINDER_GRACE_MINUTES)
    batch = uuid.uuid4()
    rows = []
    for appointment in appointments:
        # A booking whose confirmation the daily cap held back gets no reminders either (SMS pumping).
        if not permitted[appointment.client_id] or appointment.confirmation_capped:
            continue
        tz = appointment.location.tzinfo
        for minutes in offsets.get(appointment.location_id, default_offsets):
            send_at = quiet_hours.latest_allowed_at_or_before(appointment.start - timedelta(minutes=minutes), tz)
            if send_at > now:
                continue  # not due yet
            reason = ""
            if send_at < appointment.created_at:
                reason = "Booked after this reminder was due."
            elif now - send_at > grace:
                reason = "Missed its time by more than the grace period; not sent late."
            elif not quiet_hours.is_allowed(now, tz):
                reason = "Due during quiet hours with no allowed time before the appointment."
            rows.append(
                SmsMessage(
                    to_number=number_on_file(appointment.client),
                    from_number=str(appointment.location.sms_from_number or ""),
                    body=texts.reminder(appointment),
                    location=appointment.location,
                    client=appointment.client,
                    appointment=appointment,
                    kind=MessageKind.REMINDER,
                    status=MessageStatus.SKIPPED if reason else MessageStatus.QUEUED,
                    status_reason=reason,
                    dedupe_key=f"reminder:{appointment.pk}:{minutes}:{int(appointment.start.timestamp())}",
                    batch=batch,
                    send_after=send_at,
                    appointment_start=appointment.start,
                )
            )
    with transaction.atomic():
        SmsMessage.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        created = list(SmsMessage.objects.filter(batch=batch).values_list("status", "status_reason"))
    for status, reason in created:
        if status == MessageStatus.SKIPPED:
            report.skipped += 1
            report.skipped_reasons[reason] = report.skipped_reasons.get(reason, 0) + 1
            logger.info("Reminder skipped: %s", reason)
    report.queued = len(created) - report.skipped
    # New rows, held confirmations now due, and any whose task was lost.
    report.requeued = enqueue_due_messages(now=now) - report.queued
    report.given_up = _give_up_lost_sends(now=now)
    return report


def _give_up_lost_sends(*, now: datetime) -> int:
    """A text left "handed to provider" by a dead worker may have gone out: fail it, never resend."""
    return SmsMessage.objects.filter(
        status=MessageStatus.SENDING,
        status_updated_at__lt=now - timedelta(minutes=settings.SMS_SENDING_TIMEOUT_MINUTES),
    ).update(
        status=MessageStatus.FAILED,
        status_reason="Worker lost while handing to the provider; not resent, to avoid a duplicate.",
        status_updated_at=now,
    )


# --- Delivering ------------------------------------------------------------


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
    if message.kind in (MessageKind.CONFIRMATION, MessageKind.REMINDER):
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
            if message.appointment_start is None or later < message.appointment_start:
                _defer(message, later)
                return Delivery("deferred")
            reason = "Quiet hours until after the appointment."
        if reason:
            _finish(message, MessageStatus.SKIPPED, reason=reason, now=now)
            return Delivery("skipped")
        message.status = MessageStatus.SENDING
        message.attempts += 1
        message.status_updated_at = now
        message.save(update_fields=["status", "attempts", "status_updated_at"])

    validity = MAX_VALIDITY_SECONDS
    if message.kind not in USER_INITIATED:
        validity = min(validity, quiet_hours.seconds_until_window_closes(now, tz))
    if message.appointment_start:
        validity = min(validity, int((message.appointment_start - now).total_seconds()))
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
    SmsMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.SENT, twilio_sid=result.sid, sent_at=timezone.now(), status_updated_at=timezone.now()
    )
    return Delivery("sent")


def _defer(message: SmsMessage, until: datetime) -> None:
    # Leave it to the dispatch pass, which queues it once due (no long Celery ETAs).
    message.send_after = until
    message.enqueued_at = None
    message.save(update_fields=["send_after", "enqueued_at"])


def _finish(
    message: SmsMessage, status: str, *, reason: str = "", code: object = "", now: datetime | None = None
) -> None:
    message.status = status
    message.status_reason = reason[:300]
    message.error_code = str(code)[:20]
    message.status_updated_at = now or timezone.now()
    message.save(update_fields=["status", "status_reason", "error_code", "status_updated_at"])


def _confirmed_meanwhile(message: SmsMessage) -> Delivery | None:
    """Twilio's status report confirmed the text while we waited for its answer: it went out (no retry, no failure)."""
    return None if message.status == MessageStatus.SENDING else Delivery("sent" if message.twilio_sid else "noop")


def _after_transient_error(message_id: int, exc: TransientSendError) -> Delivery:
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().get(pk=message_id)
        if confirmed := _confirmed_meanwhile(message):
            return confirmed
        if message.attempts >= settings.SMS_MAX_ATTEMPTS:
            _finish(
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
            _finish(message, MessageStatus.FAILED, reason=reason, code=exc.code)
            return Delivery("failed")
        _finish(message, MessageStatus.QUEUED, reason=f"Retrying: {exc}", code=exc.code)
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
        _finish(message, MessageStatus.FAILED, reason=str(exc), code=exc.code)
        handle_provider_error_code(message, exc.code)
    return Delivery("failed")


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


# --- Status callbacks ------------------------------------------------------

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


# A code is asked for through the privacy-request pages (rate limited per IP); this caps it per number too.
VERIFICATION_CODES_PER_HOUR = 5
# A number on the STOP list: a code is an exception for the person's own request, not a channel to it.
VERIFICATION_CODES_PER_DAY_AFTER_STOP = 3


def send_verification_code(*, phone: "PhoneNumber | str", body: str, client: Client | None = None) -> SmsMessage | None:
    """A one-time code the person asked for (privacy requests): sent now, to the phone on file only.

    A reply the person asked for, not marketing: it goes even to a number that
    texted STOP, so they can still verify a privacy request. At most
    VERIFICATION_CODES_PER_HOUR per number, and VERIFICATION_CODES_PER_DAY_AFTER_STOP
    a day to a number on the STOP list.
    """
    now = timezone.now()
    if not may_contact(client=client, purpose=Purpose.VERIFICATION_CODE, to=str(phone)):
        return None
    codes = SmsMessage.objects.filter(kind=MessageKind.VERIFICATION, to_number=str(phone))
    recent = codes.filter(created_at__gte=now - timedelta(hours=1)).count()
    if recent >= VERIFICATION_CODES_PER_HOUR:
        logger.info("Verification code refused: %s sent to this number in the last hour", recent)
        return None
    # Whoever proved the email on a record asks for the code, not necessarily the phone's owner:
    # after STOP the exception stays rare (past it, staff check identity another way).
    if (
        opt_outs.is_sms_opted_out(phone)
        and codes.filter(created_at__gte=now - timedelta(days=1)).count() >= VERIFICATION_CODES_PER_DAY_AFTER_STOP
    ):
        logger.info("Verification code refused: the number is on the STOP list and had its codes for today")
        return None
    message = SmsMessage.objects.create(
        to_number=str(phone),
        body=body,
        client=client,
        location=client.preferred_location if client else None,
        kind=MessageKind.VERIFICATION,
        send_after=now,
        enqueued_at=now,
    )
    transaction.on_commit(lambda: _enqueue([message.pk]))
    return message
