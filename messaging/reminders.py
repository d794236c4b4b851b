"""Appointment reminders: one dispatch pass queues every reminder due, exactly once."""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from appointments.models import Appointment
from appointments.selectors import visits_service_names
from clinic.models import Location

from . import quiet_hours, texts
from .confirmations import DAILY_CAP_REASON
from .delivery import give_up_lost_sends
from .models import MessageKind, MessageStatus, ReminderRule, SmsMessage
from .outbox import ACTIVE, enqueue_due_messages
from .permissions import Purpose, may_contact_many, number_on_file

logger = logging.getLogger(__name__)


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
        # A visit of several services is reminded once: by its earliest appointment still on.
        .exclude(
            models.Exists(
                Appointment.objects.filter(visit_id=models.OuterRef("visit_id"), status__in=ACTIVE).filter(
                    models.Q(start__lt=models.OuterRef("start"))
                    | models.Q(start=models.OuterRef("start"), pk__lt=models.OuterRef("pk"))
                )
            )
        )
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
        .select_related("client", "service")
    )
    # Two or three locations serve thousands of reminders: each is built once, not once per row
    # (a location row carries two phone numbers, each parsed and validated when loaded).
    locations = Location.objects.in_bulk({a.location_id for a in appointments})
    senders = {pk: str(location.sms_from_number or "") for pk, location in locations.items()}
    for appointment in appointments:
        appointment.location = locations[appointment.location_id]
    permitted = may_contact_many(
        clients={a.client_id: a.client for a in appointments}.values(), purpose=Purpose.TRANSACTIONAL
    )
    names = visits_service_names({a.visit_id for a in appointments if a.visit_id is not None})
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
                    from_number=senders[appointment.location_id],
                    body=texts.reminder(appointment, names.get(appointment.visit_id or 0)),
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
    report.given_up = give_up_lost_sends(now=now)
    return report
