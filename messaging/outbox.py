"""The outbox: a text is queued once (a dedupe key under a unique constraint), for the next allowed time,
and handed to a worker when due.

Exactly once: every program text has a dedupe key under a unique constraint, so two dispatchers, a retried
task or a re-run pass cannot make a second row; the send path (`messaging.sending`) marks a row "handed to
provider" (committed) before the provider is called, so a retry after a crash never sends it again.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from clinic.models import Client, Location
from clinic.queueing import enqueue

from . import quiet_hours
from .models import MessageStatus, SmsMessage

if TYPE_CHECKING:
    from phonenumber_field.phonenumber import PhoneNumber


ACTIVE = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
TOO_LATE = "No allowed texting time before the text's own deadline (send_before)."


def enqueue_sends(message_ids: Iterable[int]) -> None:
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
    transaction.on_commit(lambda: enqueue_sends(ids))
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
    elif extra.get("send_before") is not None and send_after >= extra["send_before"]:
        extra.update(status=MessageStatus.SKIPPED, status_reason=TOO_LATE)
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
        transaction.on_commit(lambda: enqueue_sends([message.pk]))
    # Held for quiet hours: the dispatch pass queues it once due.
    return message
