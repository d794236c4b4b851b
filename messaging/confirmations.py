"""Booking confirmation texts and the JOIN invitation (double opt-in), under the daily cap for unproven numbers."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from appointments.models import Appointment, AppointmentSource, AppointmentStatus
from appointments.selectors import visit_service_names
from clinic.languages import client_language
from clinic.models import Client

from . import texts
from .models import Direction, MessageKind, MessageStatus, SmsMessage
from .outbox import ACTIVE, queue_message
from .permissions import COUNTRY, Purpose, has_texted_us, may_contact

if TYPE_CHECKING:
    from phonenumber_field.phonenumber import PhoneNumber


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
        body = texts.booking_confirmation(appointment, visit_service_names(appointment))
        body += f" {_join_invitation(client)}" if invite else ""
        dedupe_key = f"confirmation:{appointment.pk}:{int(appointment.start.timestamp())}"
    else:
        kind, body, dedupe_key = MessageKind.MARKETING_CONFIRMATION, _join_invitation(client), f"join:{client.pk}"
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


def _visit_service_names(appointment: Appointment) -> str | None:
    """A cancelled visit's services in order ("Consultation then HydraFacial"), None for a single appointment."""
    if appointment.visit_id is None:
        return None
    names = Appointment.objects.filter(visit_id=appointment.visit_id, status=AppointmentStatus.CANCELLED).order_by(
        "start", "pk"
    )
    return " then ".join(names.values_list("service__name", flat=True))


def queue_cancellation_notice(*, appointment_id: int, now: datetime | None = None) -> SmsMessage | None:
    """Text the client that the clinic cancelled their appointment, if they agreed to appointment texts."""
    now = now or timezone.now()
    appointment = Appointment.objects.select_related("client", "location", "service").filter(pk=appointment_id).first()
    if appointment is None or appointment.status != AppointmentStatus.CANCELLED or appointment.start <= now:
        return None
    if not may_contact(client=appointment.client, purpose=Purpose.TRANSACTIONAL):
        return None
    try:
        with transaction.atomic():
            # Tied to the appointment: one that quiet hours would hold past its start is skipped, with the reason.
            return queue_message(
                to_number=appointment.client.mobile_phone,
                body=texts.cancelled_by_clinic(appointment, service_names=_visit_service_names(appointment)),
                location=appointment.location,
                client=appointment.client,
                appointment=appointment,
                kind=MessageKind.OTHER,
                dedupe_key=f"cancelled:{appointment.pk}:{int(appointment.start.timestamp())}",
                now=now,
            )
    except IntegrityError:
        return None  # already queued


def _join_invitation(client: Client) -> str:
    with client_language(client):
        return texts.join_invitation()


def _any_of(prompts: list[str]) -> Q:
    found = Q(pk__in=[])
    for prompt in prompts:
        found |= Q(body__contains=prompt)
    return found


def join_invitation_due(client: Client) -> bool:
    """Should this record's number be asked to confirm its SMS marketing opt-in (reply JOIN)? Once per record.

    Only while the record's latest SMS marketing choice is an opt-in and its number
    is unproven (a proven number needs no confirming), and only if a text may go.
    """
    if client.phone_verified_at is not None or not may_contact(client=client, purpose=Purpose.MARKETING_CONFIRMATION):
        return False
    asked_before = (
        SmsMessage.objects.filter(client=client, direction=Direction.OUTBOUND)
        .filter(_any_of(texts.join_prompts()))
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
    if not has_texted_us(phone) and (
        SmsMessage.objects.filter(kind__in=UNSOLICITED_KINDS, to_number=phone, created_at__gte=now - timedelta(days=1))
        .exclude(status=MessageStatus.SKIPPED)
        .exists()
    ):
        extra = {"status": MessageStatus.SKIPPED, "status_reason": DAILY_CAP_REASON}
    try:
        with transaction.atomic():
            return queue_message(
                to_number=phone,
                body=_join_invitation(client),
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
    if has_texted_us(phone):
        return ""  # they have texted us: a real, reachable person
    sent_today = SmsMessage.objects.filter(
        kind__in=UNSOLICITED_KINDS,
        to_number=phone,
        created_at__gte=now - timedelta(days=1),
        appointment__source=AppointmentSource.ONLINE,
    ).exclude(status=MessageStatus.SKIPPED)
    # Both counts in one statement: this runs inside every booking request that texts.
    counts = sent_today.aggregate(
        for_others=Count("pk", filter=~Q(appointment=appointment)),
        for_this=Count("pk", filter=Q(appointment=appointment)),
    )
    if counts["for_others"]:
        return DAILY_CAP_REASON
    if counts["for_this"] >= 2:
        return MOVES_CAP_REASON
    return ""
