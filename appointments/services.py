"""Booking, rescheduling and cancelling: every write to an appointment goes through here.

No double booking, on any database: each write locks the practitioners it may
use and then the rooms and devices the service needs (row locks on PostgreSQL,
always in that order and by id, so two bookings never deadlock; SQLite runs
IMMEDIATE transactions, which serialise writers), re-checks the slot under
those locks, and on PostgreSQL exclusion constraints (per practitioner and per
room or device) reject any overlap that slips past both.
"""

import copy
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from clinic import identity
from clinic.errors import BusinessRuleError
from clinic.languages import supported as supported_language
from clinic.queueing import enqueue
from privacy.models import ConsentActor, ConsentPurpose, ConsentSource
from privacy.notices import booking_notices, phone_call_notices
from privacy.policy import current_policy
from privacy.services import record_consent, record_form_consents

from . import booking_steps, status_gates
from .availability import (
    Slot,
    find_free_slots,
    free_unit,
    nearest_free_slots,
    needed_units,
    practitioner_durations,
    unit_busy_times,
    wall_to_instant,
)
from .emails import booking_confirmation_message, change_message, visit_confirmation_message
from .models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    AssignedUnit,
    HeldUnit,
    LocationClosure,
    Practitioner,
    ResourceType,
    ResourceUnit,
    Service,
    ServiceRequirement,
    SlotHold,
    TimeOff,
    Visit,
    WorkingHours,
    new_feed_key,
    new_manage_key,
)
from .signals import appointment_booked, appointment_cancelled_by_clinic, appointment_rescheduled, time_freed
from .visit_availability import MAX_VISIT_SERVICES, VisitSlot, find_visit_slots, nearest_visit_slots

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from phonenumber_field.phonenumber import PhoneNumber

    from clinic.models import Client, Location

ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


class SlotUnavailable(BusinessRuleError):
    """The requested time cannot be booked; `alternatives` are the nearest free slots."""

    def __init__(self, message: str, alternatives: Iterable[Slot] = ()) -> None:
        super().__init__(message)
        self.alternatives = list(alternatives)


class ChangeNotAllowed(BusinessRuleError):
    """The appointment can no longer be changed online (cut-off, or not active)."""


class BookingRefused(BusinessRuleError):
    """The booking breaks a rule other than the time (the message says which)."""


@dataclass
class ClientDetails:
    first_name: str
    last_name: str
    email: str
    mobile_phone: "PhoneNumber | str | None"
    date_of_birth: date | None = None


@dataclass
class RequestMeta:
    ip_address: str | None = None
    user_agent: str = ""
    # The browser's cookie-consent visitor id: ties its cookie choices to this client, so erasure finds them.
    visitor_id: str = ""


@dataclass
class BookingConsents:
    privacy_policy: bool
    sms_reminders: bool = False
    sms_marketing: bool = False
    email_marketing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _lock_practitioners(ids: Iterable[int]) -> list[int]:
    # A fixed lock order (by id) means two "any practitioner" bookings never deadlock; the rows' ids are
    # all the lock needs (nobody reads the rest).
    return list(Practitioner.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def _candidate_practitioner_ids(*, location: "Location", service: Service, practitioner_id: int | None) -> list[int]:
    if practitioner_id is not None:
        return [practitioner_id]
    return list(practitioner_durations(location=location, service=service))


def lock_resource_units(*, location: "Location", service: Service) -> None:
    """Lock every unit at `location` of the kinds of room or device `service` needs (after the practitioners)."""
    if not needed_units(location=location, service=service):
        # Needs no room or device (the setup's copy, as the booking's unit holds read it): nothing to lock.
        return
    list(
        ResourceUnit.objects.select_for_update(of=("self",))
        .filter(location=location, resource_type__requirements__service=service)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _choose_free_practitioner(
    *,
    location: "Location",
    service: Service,
    start: datetime,
    practitioner_id: int | None,
    exclude_appointment_id: int | None = None,
    prefer: int | None = None,
    using_hold_id: int | None = None,
) -> tuple[int, datetime]:
    """Lock the candidates and the rooms and devices, then return (practitioner id, end) free at `start`.

    using_hold_id: a held time (a waitlist offer) this booking takes: busy for everyone else, free for it.
    Raises SlotUnavailable when no qualified practitioner with every needed room or device is free then.
    """
    candidates = _candidate_practitioner_ids(location=location, service=service, practitioner_id=practitioner_id)
    _lock_practitioners(candidates)
    lock_resource_units(location=location, service=service)
    day = start.astimezone(location.tzinfo).date()
    slots = find_free_slots(
        location=location,
        service=service,
        start_date=day,
        end_date=day,
        practitioner_id=practitioner_id,
        exclude_appointment_id=exclude_appointment_id,
        using_hold_id=using_hold_id,
    )
    for slot in slots:
        if slot.start == start:
            chosen = prefer if prefer is not None and prefer in slot.practitioner_ids else slot.practitioner_ids[0]
            return chosen, slot.end_for(chosen)
    raise SlotUnavailable(gettext("Sorry, that time is no longer available."))


def assign_resource_units(*, appointment: Appointment, just_created: bool = False) -> list[AssignedUnit]:
    """Hold one free unit of each kind of room or device the appointment's service needs, for its time.

    Replaces the appointment's earlier holds (a new time); just_created: it was
    inserted in this transaction, so it has none to replace. The caller holds the
    unit locks (lock_resource_units). Raises SlotUnavailable when a kind has no
    unit free from the start until the end plus its clean-up time; on
    PostgreSQL the exclusion constraint refuses an overlapping hold regardless.
    """
    if not just_created:
        AssignedUnit.objects.filter(appointment=appointment).delete()
    kinds = needed_units(location=appointment.location, service=appointment.service)
    if not kinds:
        return []
    longest_cleanup = max(cleanup for _, cleanup, _ in kinds)
    busy = unit_busy_times(
        unit_ids=[uid for _, _, units in kinds for uid in units],
        range_start=appointment.start,
        range_end=appointment.end + longest_cleanup,
        exclude_appointment_id=appointment.pk,
    )
    holds = []
    for _, cleanup, units in kinds:
        unit_id = free_unit(units, busy, appointment.start, appointment.end + cleanup)
        if unit_id is None:
            raise SlotUnavailable(gettext("Sorry, that time is no longer available."))
        holds.append(
            AssignedUnit(
                appointment=appointment,
                unit_id=unit_id,
                start=appointment.start,
                occupied_until=appointment.end + cleanup,
            )
        )
    try:
        with transaction.atomic():
            return AssignedUnit.objects.bulk_create(holds)
    except IntegrityError as exc:
        # The PostgreSQL exclusion constraint: someone else holds this room or device.
        raise SlotUnavailable(gettext("Sorry, that time is no longer available.")) from exc


def _units_to_hold(
    *, location: "Location", service: Service, start: datetime, end: datetime
) -> list[tuple[int, datetime]]:
    """[(unit id, busy until)]: for a held time, one free unit of each kind of room or device `service`
    needs, from `start` until `end` plus the kind's clean-up time (as assign_resource_units picks them).

    The caller holds the unit locks. Raises SlotUnavailable when a kind has none free.
    """
    kinds = needed_units(location=location, service=service)
    if not kinds:
        return []
    busy = unit_busy_times(
        unit_ids=[uid for _, _, units in kinds for uid in units],
        range_start=start,
        range_end=end + max(cleanup for _, cleanup, _ in kinds),
    )
    picked = []
    for _, cleanup, units in kinds:
        unit_id = free_unit(units, busy, start, end + cleanup)
        if unit_id is None:
            raise SlotUnavailable(gettext("Sorry, that time is no longer available."))
        picked.append((unit_id, end + cleanup))
    return picked


def _alternatives(
    *, location: "Location", service: Service, start: datetime, practitioner_id: int | None
) -> list[Slot]:
    return nearest_free_slots(location=location, service=service, around=start, practitioner_id=practitioner_id)


def client_for_booking(
    *, details: ClientDetails, location: "Location", signed_in: "Client | None" = None
) -> tuple["Client", bool]:
    """The record this booking goes on, and whether it is the booking's own new one (clinic.identity decides).

    Signed in to their account: their own record. Otherwise a new record holding
    exactly what was typed: an online form proves nothing about who is typing, so
    it is never matched to an older record (that would show, change or fill in a
    stranger's record); the person can join them later by the link emailed to the
    address on file, or the front desk merges them.
    """
    client, created = identity.client_for_booking(
        signed_in=signed_in,
        first_name=details.first_name,
        last_name=details.last_name,
        email=details.email,
        mobile_phone=details.mobile_phone,
        date_of_birth=details.date_of_birth,
        location=location,
        adult_attested_at=timezone.now(),
    )
    return client, created


def _record_booking_consents(*, client: "Client", consents: BookingConsents, meta: RequestMeta) -> None:
    # Only ever on the booking's own new record: the person typing speaks for that record alone. A signed-in
    # client's consents are changed on their account's consents page, not by a booking form's boxes.
    notices = booking_notices()
    choices = {
        ConsentPurpose.PRIVACY_POLICY: consents.privacy_policy,
        ConsentPurpose.SMS_REMINDERS: consents.sms_reminders,
        ConsentPurpose.SMS_MARKETING: consents.sms_marketing,
        ConsentPurpose.EMAIL_MARKETING: consents.email_marketing,
    }
    policy = current_policy()
    record_form_consents(
        client=client,
        choices=[
            (purpose, granted, notices[purpose], policy if purpose == ConsentPurpose.PRIVACY_POLICY else None)
            for purpose, granted in choices.items()
        ],
        source=ConsentSource.BOOKING_FORM,
        ip_address=meta.ip_address,
        user_agent=meta.user_agent,
        visitor_id=meta.visitor_id,
    )


def _create_appointment(**fields: Any) -> Appointment:
    """Insert the appointment; SlotUnavailable if the PostgreSQL exclusion constraint refuses it.

    No savepoint of its own (two statements fewer while the practitioners are locked): every caller
    runs inside its own transaction.atomic(), which the SlotUnavailable leaves at once and rolls back.
    """
    try:
        return Appointment.objects.create(**fields)
    except IntegrityError as exc:
        # The PostgreSQL exclusion constraint: someone else holds this time.
        raise SlotUnavailable(gettext("Sorry, that time is no longer available.")) from exc


def book_appointment(
    *,
    location: "Location",
    service: Service,
    start: datetime,
    practitioner_id: int | None = None,
    details: ClientDetails,
    consents: BookingConsents,
    meta: RequestMeta | None = None,
    hold_id: int | None = None,
    client: "Client | None" = None,
    signed_in: "Client | None" = None,
) -> Appointment:
    """Book an online appointment, or raise SlotUnavailable with the nearest free times.

    hold_id: the time is held for this booking (SlotHold); the hold is used up.
    client: a record this person's own unauthenticated request already created for
    this purpose (a waitlist entry), whose consents were recorded then: booked on it,
    nothing looked up and no consent recorded again. Otherwise the record client_for_booking
    picks: `signed_in` (identity.signed_in_client of the request) or a new record.
    """
    if not consents.privacy_policy:
        raise BookingRefused(gettext("An online booking needs the privacy policy accepted."))
    meta = meta or RequestMeta()
    try:
        with transaction.atomic():
            if client is None and signed_in is None:
                # A signed-out booking's own new record and its consents, written before the locks: no other
                # transaction can touch those rows, and the practitioners (and rooms) stay locked only for the
                # check and the appointment's rows. One transaction: a refused booking leaves none of them.
                client, _ = client_for_booking(details=details, location=location)
                _record_booking_consents(client=client, consents=consents, meta=meta)
            chosen, end = _choose_free_practitioner(
                location=location,
                service=service,
                start=start,
                practitioner_id=practitioner_id,
                using_hold_id=hold_id,
            )
            if hold_id is not None:
                # Used up before the rooms and devices are chosen: its own units are free for this booking.
                SlotHold.objects.filter(pk=hold_id).delete()
            if client is None:
                # Signed in: their record, written to (its language) only under the locks, as every booking does.
                client, created = client_for_booking(details=details, location=location, signed_in=signed_in)
                if created:  # an erased account's session: a new record after all
                    _record_booking_consents(client=client, consents=consents, meta=meta)
            appointment = _create_appointment(
                client=client,
                location=location,
                service=service,
                practitioner_id=chosen,
                start=start,
                end=end,
                source=AppointmentSource.ONLINE,
            )
            assign_resource_units(appointment=appointment, just_created=True)
            transaction.on_commit(lambda: _send_confirmation(appointment.pk))
            return appointment
    except SlotUnavailable as exc:
        exc.alternatives = _alternatives(
            location=location, service=service, start=start, practitioner_id=practitioner_id
        )
        raise


def hold_booking(
    *,
    location: "Location",
    service: Service,
    start: datetime,
    practitioner_id: int | None = None,
    details: ClientDetails,
    consents: BookingConsents,
    meta: RequestMeta | None = None,
    expires_at: datetime,
    reason: str = "",
    signed_in: "Client | None" = None,
) -> tuple[SlotHold, "Client", bool]:
    """Hold `start` until `expires_at` for a booking that completes after another step (a payment), and
    pick the client's record (client_for_booking: the signed-in client's, else a new one with the consents
    given on the form), all or nothing. Returns (hold, client, whether the record is this booking's new one).

    The step then books it with book_appointment(client=..., hold_id=..., practitioner_id=hold's). Raises
    SlotUnavailable (with the nearest free times) or BookingRefused, as book_appointment does.
    """
    if not consents.privacy_policy:
        raise BookingRefused(gettext("An online booking needs the privacy policy accepted."))
    try:
        with transaction.atomic():
            hold = _hold(
                location=location,
                service=service,
                start=start,
                practitioner_id=practitioner_id,
                expires_at=expires_at,
                reason=reason,
            )
            client, created = client_for_booking(details=details, location=location, signed_in=signed_in)
            if created:
                _record_booking_consents(client=client, consents=consents, meta=meta or RequestMeta())
            return hold, client, created
    except SlotUnavailable as exc:
        exc.alternatives = _alternatives(
            location=location, service=service, start=start, practitioner_id=practitioner_id
        )
        raise


def _send_confirmation(appointment_id: int) -> None:
    from .tasks import send_booking_confirmation_email

    enqueue(send_booking_confirmation_email, appointment_id)
    appointment_booked.send(sender=Appointment, appointment_id=appointment_id)


def _send_confirmation_email_only(appointment_id: int) -> None:
    """The confirmation (with the new manage link) to a client the front desk put on an existing booking;
    not the "booked" signal: nothing about the booking itself is new."""
    from .tasks import send_booking_confirmation_email

    enqueue(send_booking_confirmation_email, appointment_id)


def send_confirmation_email(*, appointment_id: int) -> bool:
    """Email the confirmation once; a retried or repeated task sends nothing more."""
    with transaction.atomic():
        appointment = (
            # Only the appointment's row: locking its location or practitioner too would stall (or
            # deadlock with) bookings there while the email goes out.
            Appointment.objects.select_for_update(of=("self",))
            .select_related("client", "location", "service", "practitioner")
            .filter(pk=appointment_id)
            .first()
        )
        if appointment is None or appointment.confirmation_emailed_at or not appointment.client.email:
            return False
        if appointment.visit_id is not None:
            return _send_visit_confirmation_email(appointment)
        booking_confirmation_message(appointment).send()
        appointment.confirmation_emailed_at = timezone.now()
        appointment.save(update_fields=["confirmation_emailed_at"])
        return True


def _send_visit_confirmation_email(appointment: Appointment) -> bool:
    """One email for the whole visit, whichever of its appointments asked; all of them count as emailed."""
    visit_id = appointment.visit_id
    assert visit_id is not None
    parts = list(
        Appointment.objects.select_for_update(of=("self",))
        .filter(visit_id=visit_id)
        .select_related("client", "location", "service", "practitioner")
        .order_by("start", "pk")
    )
    if any(part.confirmation_emailed_at for part in parts):
        Appointment.objects.filter(visit_id=visit_id, confirmation_emailed_at__isnull=True).update(
            confirmation_emailed_at=timezone.now()
        )
        return False
    visit_confirmation_message(parts).send()
    Appointment.objects.filter(visit_id=visit_id).update(confirmation_emailed_at=timezone.now())
    return True


def send_pending_confirmation_emails(*, now: datetime | None = None) -> int:
    """Sweeper: confirmations whose task never ran (broker down) are sent now. Returns how many."""
    now = now or timezone.now()
    pending = Appointment.objects.filter(
        confirmation_emailed_at__isnull=True,
        created_at__lt=now - timedelta(minutes=5),
        created_at__gt=now - timedelta(days=2),
        start__gt=now,
    ).exclude(client__email="")
    return sum(send_confirmation_email(appointment_id=pk) for pk in pending.values_list("pk", flat=True))


def change_deadline(appointment: Appointment) -> datetime:
    return appointment.start - timedelta(hours=settings.BOOKING_CHANGE_CUTOFF_HOURS)


def can_change_online(appointment: Appointment, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return appointment.status in ACTIVE_STATUSES and now < change_deadline(appointment)


def _locked_for_client_change(appointment_id: int) -> Appointment:
    # Only the appointment's row: locking its location and service too would block every booking there (its
    # insert takes a key-share lock on them) while this change waits for the practitioner: a deadlock.
    appointment = (
        Appointment.objects.select_for_update(of=("self",)).select_related("location", "service").get(pk=appointment_id)
    )
    if not can_change_online(appointment):
        raise ChangeNotAllowed(gettext("This appointment can no longer be changed online. Please call the clinic."))
    return appointment


def cancel_appointment_by_client(*, appointment_id: int) -> Appointment:
    with transaction.atomic():
        appointment = _locked_for_client_change(appointment_id)
        check_status_change(current=appointment.status, new=AppointmentStatus.CANCELLED, appointment=appointment)
        appointment.status = AppointmentStatus.CANCELLED
        appointment.save(update_fields=["status", "updated_at"])
        _announce_freed(appointment)
        return appointment


def _announce_freed(appointment: Appointment) -> None:
    """After commit, tell other apps (the waitlist) that this appointment's current time is free."""
    if appointment.start <= timezone.now():
        return  # a past time frees nothing anyone could book
    freed = {
        "location_id": appointment.location_id,
        "practitioner_id": appointment.practitioner_id,
        "service_id": appointment.service_id,
        "start": appointment.start,
        "end": appointment.end,
    }
    transaction.on_commit(lambda: time_freed.send(sender=Appointment, **freed))


def hold_time(
    *,
    location: "Location",
    service: Service,
    practitioner_id: int,
    start: datetime,
    expires_at: datetime,
    reason: str = "",
) -> SlotHold:
    """Keep `start` with this practitioner, and a unit of each room or device the service needs, off the
    booking pages and the front desk's form until `expires_at`, or raise SlotUnavailable.

    Under the practitioner and unit locks bookings take, so a hold and a booking never both get one time
    or one laser.
    """
    return _hold(
        location=location,
        service=service,
        start=start,
        practitioner_id=practitioner_id,
        expires_at=expires_at,
        reason=reason,
    )


def _hold(
    *,
    location: "Location",
    service: Service,
    start: datetime,
    practitioner_id: int | None,
    expires_at: datetime,
    reason: str,
) -> SlotHold:
    """The one way a time is held (a waitlist offer, a payment step): the practitioner (this one, or any
    free qualified one) and a unit of each room or device the service needs, under the booking locks."""
    with transaction.atomic():
        chosen, end = _choose_free_practitioner(
            location=location, service=service, start=start, practitioner_id=practitioner_id
        )
        return _write_hold(
            location=location,
            service=service,
            practitioner_id=chosen,
            start=start,
            end=end,
            occupied_until=end + service.buffer_after,  # the practitioner's own duration of the service
            expires_at=expires_at,
            reason=reason,
        )


def _write_hold(
    *,
    location: "Location",
    service: Service,
    practitioner_id: int,
    start: datetime,
    end: datetime,
    occupied_until: datetime,
    expires_at: datetime,
    reason: str,
) -> SlotHold:
    """The hold row and a unit of each room or device the service needs (callers hold the booking locks)."""
    hold = SlotHold.objects.create(
        location=location,
        service=service,
        practitioner_id=practitioner_id,
        start=start,
        occupied_until=occupied_until,
        expires_at=expires_at,
        reason=reason[:100],
    )
    units = _units_to_hold(location=location, service=service, start=start, end=end)
    HeldUnit.objects.bulk_create(
        HeldUnit(hold=hold, unit_id=unit_id, start=start, occupied_until=until) for unit_id, until in units
    )
    return hold


def release_hold(*, hold_id: int | None) -> None:
    """Give a held time back to the booking pages (an offer expired or was declined)."""
    if hold_id is not None:
        SlotHold.objects.filter(pk=hold_id).delete()


def _unconfirm_moved(appointment: Appointment) -> None:
    # A "C" confirmed the old time, not the new one: the moved visit is booked again, and its reminders ask anew.
    # (Not a status change of STATUS_TRANSITIONS: the time changed, so the confirmation no longer applies.)
    if appointment.status == AppointmentStatus.CONFIRMED:
        appointment.status = AppointmentStatus.BOOKED


def reschedule_appointment_by_client(*, appointment_id: int, new_start: datetime) -> Appointment:
    """Move an appointment to `new_start`, keeping its practitioner when they are free."""
    try:
        with transaction.atomic():
            appointment = _locked_for_client_change(appointment_id)
            old_time = Appointment(
                location_id=appointment.location_id,
                practitioner_id=appointment.practitioner_id,
                service_id=appointment.service_id,
                start=appointment.start,
                end=appointment.end,
            )
            chosen, end = _choose_free_practitioner(
                location=appointment.location,
                service=appointment.service,
                start=new_start,
                practitioner_id=None,
                exclude_appointment_id=appointment.pk,
                prefer=appointment.practitioner_id,
            )
            appointment.practitioner_id = chosen
            appointment.start = new_start
            appointment.end = end
            _unconfirm_moved(appointment)
            try:
                with transaction.atomic():
                    appointment.save()
            except IntegrityError as exc:
                raise SlotUnavailable(gettext("Sorry, that time is no longer available.")) from exc
            assign_resource_units(appointment=appointment)
            transaction.on_commit(
                lambda: appointment_rescheduled.send(sender=Appointment, appointment_id=appointment.pk)
            )
            _announce_freed(old_time)
            return appointment
    except SlotUnavailable as exc:
        exc.alternatives = _alternatives(
            location=appointment.location, service=appointment.service, start=new_start, practitioner_id=None
        )
        raise


class AppointmentStatusError(BusinessRuleError):
    """A status change the transition table does not allow (e.g. reinstating a cancelled appointment)."""


class FrontDeskBookingRefused(BusinessRuleError):
    """A front-desk booking or edit breaks a booking rule.

    `problems` maps a form field (None: the booking as a whole) to what is wrong, in the clinic's words.
    """

    def __init__(self, problems: dict[str | None, list[str]]) -> None:
        super().__init__(" ".join(message for messages in problems.values() for message in messages))
        self.problems = problems


_S = AppointmentStatus

# Every status change an appointment may make, whoever asks (front desk, client, a "C" text): the
# statuses each one may become next. Nothing leaves cancelled, completed or no-show: reinstating a
# cancelled time could overlap a booking made since (book anew instead), and a visit's outcome is history.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    _S.BOOKED: frozenset({_S.CONFIRMED, _S.CHECKED_IN, _S.COMPLETED, _S.NO_SHOW, _S.CANCELLED}),
    _S.CONFIRMED: frozenset({_S.CHECKED_IN, _S.COMPLETED, _S.NO_SHOW, _S.CANCELLED}),
    _S.CHECKED_IN: frozenset({_S.COMPLETED, _S.CANCELLED}),
    _S.COMPLETED: frozenset(),
    _S.NO_SHOW: frozenset(),
    _S.CANCELLED: frozenset(),
}

# The statuses the front desk can mark appointments as (one admin action each), in the table's order.
STATUS_CHANGE_TARGETS: tuple[str, ...] = tuple(
    status for status in AppointmentStatus if any(status in targets for targets in STATUS_TRANSITIONS.values())
)


def check_status_change(*, current: str, new: str, appointment: Appointment | None = None) -> None:
    """Raise AppointmentStatusError unless `current` may become `new` (staying the same is no change).

    Every status change passes here with its appointment, so what other apps require of it (status_gates:
    a treatment's signed forms and good-faith exam before check-in) holds for the admin, the calendar and
    every service alike.
    """
    if new == current:
        return
    if new not in STATUS_TRANSITIONS[current]:
        raise AppointmentStatusError(
            f"A {AppointmentStatus(current).label.lower()} appointment cannot become "
            f"{AppointmentStatus(new).label.lower()}."
            + (" Book a new appointment instead." if current == AppointmentStatus.CANCELLED else "")
        )
    if appointment is not None:
        problems = status_gates.status_problems(appointment=appointment, status=new)
        if problems:
            raise AppointmentStatusError(" ".join(problems))


def change_status(*, appointment_ids: Collection[int], status: str) -> tuple[int, int]:
    """Front-desk status change of many appointments (the list's bulk actions); returns (changed, skipped).

    changed counts every appointment changed, skipped the selected ones left as they were. A visit-wide
    status (VISIT_WIDE_STATUSES) given to one part of a visit moves the whole visit, as the calendar
    does (change_visit_status: all of it or none, a cancellation told to the client once). Appointments
    whose status may not become `status` (the table, or what another app requires, e.g. a treatment's
    forms before check-in) are skipped, not refused, so one stray selection does not block the rest.
    """
    may_become = [current for current, targets in STATUS_TRANSITIONS.items() if status in targets]
    selected = set(appointment_ids)
    changed: set[int] = set()
    with transaction.atomic():
        rows = (
            Appointment.objects.filter(pk__in=selected, status__in=may_become)
            .order_by("pk")
            .values_list("pk", "visit_id")
        )
        for appointment_id, visit_id in list(rows):
            if appointment_id in changed:
                continue  # moved already with its visit
            try:
                with transaction.atomic():
                    if visit_id is not None and status in VISIT_WIDE_STATUSES:
                        done = change_visit_status(appointment_id=appointment_id, status=status)
                    else:
                        done = [change_appointment_status(appointment_id=appointment_id, status=status)]
            except AppointmentStatusError:
                continue
            changed.update(appointment.pk for appointment in done)
    return len(changed), len(selected - changed)


def change_appointment_status(*, appointment_id: int, status: str, tell_client: bool = True) -> Appointment:
    """Move one appointment to `status`, or raise AppointmentStatusError; the same status is no change.

    tell_client=False: a cancelled visit's caller tells the client once for the whole visit.
    """
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update(of=("self",)).select_related("service").get(pk=appointment_id)
        )
        check_status_change(current=appointment.status, new=status, appointment=appointment)
        if appointment.status != status:
            appointment.status = status
            appointment.save(update_fields=["status", "updated_at"])
            if status == AppointmentStatus.CANCELLED:
                _announce_freed(appointment)
                if tell_client:
                    _tell_client_of_cancellation(appointment)
        return appointment


# The status changes that concern the client's whole visit of several services: they arrive (or do not
# come) once, confirm once and cancel the visit as its manage link does. Completing is per service: the
# consultation is done while the neurotoxin is still to come.
VISIT_WIDE_STATUSES: frozenset[str] = frozenset({_S.CONFIRMED, _S.CHECKED_IN, _S.NO_SHOW, _S.CANCELLED})


def change_visit_status(*, appointment_id: int, status: str) -> list[Appointment]:
    """A front-desk status change of an appointment that may be part of a visit; returns the changed ones.

    A visit-wide status (VISIT_WIDE_STATUSES) moves every appointment of the visit that may make the
    move (a part already completed stays so); the one asked about must be able to, or AppointmentStatusError
    and nothing changes. Each goes through change_appointment_status, so its rules and gates apply to every
    part, all or nothing.
    """
    with transaction.atomic():
        visit_id = Appointment.objects.values_list("visit_id", flat=True).get(pk=appointment_id)
        if visit_id is None or status not in VISIT_WIDE_STATUSES:
            return [change_appointment_status(appointment_id=appointment_id, status=status)]
        # A cancelled visit is told to the client once (its first part's notice names every service).
        quiet = status == AppointmentStatus.CANCELLED
        changed = [change_appointment_status(appointment_id=appointment_id, status=status, tell_client=not quiet)]
        changed += _rest_of_visit_follows(changed[0], status)
        changed.sort(key=lambda a: (a.start, a.pk))
        if quiet:
            _tell_client_of_cancellation(changed[0])
        return changed


def _rest_of_visit_follows(appointment: Appointment, status: str) -> list[Appointment]:
    """The visit's other parts that may take `status` take it (a part completed already stays so), quietly:
    the caller tells the client once. Each through change_appointment_status, its rules and gates."""
    if appointment.visit_id is None:
        return []
    may_become = [current for current, targets in STATUS_TRANSITIONS.items() if status in targets]
    others = (
        Appointment.objects.filter(visit_id=appointment.visit_id, status__in=may_become)
        .exclude(pk=appointment.pk)
        .order_by("start", "pk")
        .values_list("pk", flat=True)
    )
    return [change_appointment_status(appointment_id=pk, status=status, tell_client=False) for pk in list(others)]


def _tell_client_of_cancellation(appointment: Appointment) -> None:
    """After commit: the clinic cancelled an upcoming visit, so the client hears of it (email, and a text
    with consent), as they do of a move. Their own cancellation online needs no notice: they did it."""
    if appointment.start <= timezone.now():
        return
    appointment_id = appointment.pk
    transaction.on_commit(lambda: _announce_cancelled(appointment_id))


def _announce_cancelled(appointment_id: int) -> None:
    from .tasks import send_change_email

    enqueue(send_change_email, appointment_id, CANCELLED_CHANGE)
    appointment_cancelled_by_clinic.send(sender=Appointment, appointment_id=appointment_id)


MOVED_CHANGE, CANCELLED_CHANGE = "moved", "cancelled"


def email_the_move(sender: Any, appointment_id: int, **kwargs: Any) -> None:
    """appointment_rescheduled (online or by the front desk, after commit): the client gets an email too."""
    from .tasks import send_change_email

    enqueue(send_change_email, appointment_id, MOVED_CHANGE)


def send_change_email(*, appointment_id: int, change: str) -> bool:
    """Email the client that their appointment moved or was cancelled; once per change (a retried task
    sends nothing more): the cache remembers each (appointment, change, time) sent for a week."""
    from django.core.cache import cache

    appointment = (
        Appointment.objects.select_related("client", "location", "service", "practitioner")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None or not appointment.client.email or appointment.client.erased_at:
        return False
    if change == CANCELLED_CHANGE and appointment.status != AppointmentStatus.CANCELLED:
        return False  # booked again since: nothing to announce
    key = f"change-email:{change}:{appointment.pk}:{int(appointment.start.timestamp())}"
    if not cache.add(key, 1, timeout=7 * 24 * 3600):
        return False
    # A visit of several services: the message names each (the clinic cancels or the client moves it whole).
    parts = [part for part in visit_appointments(appointment) if part.status == appointment.status]
    try:
        change_message(appointment, change=change, parts=parts).send()
    except Exception:
        cache.delete(key)  # not sent: a retry may send it
        raise
    return True


def confirm_appointment(*, appointment_id: int) -> Appointment:
    """The client says they are coming (a "C" text): booked becomes confirmed, confirmed stays so.

    For a visit of several services (reminded once, by its first appointment), the whole visit.
    """
    with transaction.atomic():
        appointment = change_appointment_status(appointment_id=appointment_id, status=AppointmentStatus.CONFIRMED)
        if appointment.visit_id is not None:
            rest = Appointment.objects.filter(visit_id=appointment.visit_id, status=AppointmentStatus.BOOKED)
            for pk in rest.exclude(pk=appointment.pk).order_by("pk").values_list("pk", flat=True):
                change_appointment_status(appointment_id=pk, status=AppointmentStatus.CONFIRMED)
        return appointment


def check_front_desk_appointment(
    *,
    appointment_id: int | None,
    location: "Location",
    service: Service,
    practitioner: Practitioner,
    start: datetime,
    status: str,
    override_working_hours: bool = False,
    expected_updated_at: datetime | None = None,
    client: "Client | None" = None,
) -> Appointment | None:
    """Lock what a front-desk booking or edit needs and check the online booking rules under that lock.

    expected_updated_at: when the editor loaded the appointment; a change saved since (by another
    desk, a client's reschedule, a "C" text) is refused rather than silently overwritten.

    Raises FrontDeskBookingRefused (or AppointmentStatusError); returns the locked appointment being
    edited (None for a new one). An overlap can never be overridden; working hours, closures and time
    off can, with `override_working_hours`. The locks last until the caller's transaction ends.
    """
    current = None
    if appointment_id is not None:
        current = Appointment.objects.select_for_update().get(pk=appointment_id)
        if expected_updated_at is not None and current.updated_at != expected_updated_at:
            raise FrontDeskBookingRefused(
                {None: ["Someone changed this appointment after you opened it. Reload the page to see the change."]}
            )
        refusal = visit_part_edit_refusal(
            current, location=location, service=service, practitioner=practitioner, start=start, client=client
        )
        if refusal:
            raise FrontDeskBookingRefused({None: [refusal]})
        # Gated as it will be saved: the service chosen on the form, for the client chosen on it.
        edited = _as_edited(current, service=service, client=client)
        check_status_change(current=current.status, new=status, appointment=edited)
        if status == current.status and (
            edited.service_id != current.service_id or edited.client_id != current.client_id
        ):
            # Kept checked in (or completed) while the treatment or the client changes: what the gate
            # asks of that status is asked again, or an edit would check in a treatment nobody cleared.
            refusals = status_gates.status_problems(appointment=edited, status=status)
            if refusals:
                raise AppointmentStatusError(" ".join(refusals))
    elif status not in ACTIVE_STATUSES:
        # Booked straight as checked in or completed: the same gate, on the booking as it will be.
        booking = Appointment(location=location, service=service, start=start)
        if client is not None:
            booking.client = client
        check_status_change(current=AppointmentStatus.BOOKED, new=status, appointment=booking)
    if status == AppointmentStatus.CANCELLED:
        # A cancelled appointment holds no time and needs no one: it can be cancelled even after its
        # practitioner left the location or the service stopped being offered there.
        return current
    problems: dict[str | None, list[str]] = {}
    if not service.locations.filter(pk=location.pk).exists():
        problems["service"] = [f"{service} is not offered at {location}."]
    if not practitioner.locations.filter(pk=location.pk).exists():
        problems["practitioner"] = [f"{practitioner} does not work at {location}."]
    elif not practitioner_durations(location=location, service=service, practitioner_id=practitioner.pk):
        problems["practitioner"] = [f"{practitioner} does not provide {service} at {location}."]
    if problems:
        raise FrontDeskBookingRefused(problems)
    # The same lock online booking takes, so the two never book one practitioner twice.
    _lock_practitioners([practitioner.pk])
    lock_resource_units(location=location, service=service)
    overlaps, outside_hours = staff_slot_problems(
        location=location,
        service=service,
        practitioner=practitioner,
        start=start,
        exclude_appointment_id=appointment_id,
    )
    if overlaps:
        raise FrontDeskBookingRefused({None: overlaps})
    if outside_hours and not override_working_hours:
        raise FrontDeskBookingRefused({None: [*outside_hours, "Tick “Book outside working hours” to book it anyway."]})
    return current


def visit_part_edit_refusal(
    current: Appointment,
    *,
    location: "Location",
    service: Service,
    practitioner: Practitioner,
    start: datetime,
    client: "Client | None",
) -> str | None:
    """Why the appointment form may not save this change to one part of a visit, or None when it may.

    A visit's services follow one another back to back for one client: one part's time, service, location or
    client changed alone would leave a gap or an overlap in the visit. The whole visit moves with "Move the
    whole visit" (move_visit_from_front_desk). Another practitioner is fine when they take as long, so the
    next part still follows on time.
    """
    if current.visit_id is None:
        return None
    changed = [
        label
        for label, differs in (
            ("time", start != current.start),
            ("service", service.pk != current.service_id),
            ("location", location.pk != current.location_id),
            ("client", client is not None and client.pk != current.client_id),
        )
        if differs
    ]
    if changed:
        return (
            f"This appointment is one part of a visit of several services, back to back: its {' and '.join(changed)} "
            "cannot change on its own. To move the visit, use “Move the whole visit” on this page; to change "
            "its services, cancel the visit and book it again."
        )
    if practitioner.pk != current.practitioner_id and (
        staff_booking_end(location=location, service=service, practitioner=practitioner, start=start) != current.end
    ):
        return (
            f"{practitioner} takes a different time for {service}, which would break the visit's back-to-back "
            "times. Choose a practitioner who takes as long, or use “Move the whole visit” on this page."
        )
    return None


def _as_edited(current: Appointment, *, service: Service, client: "Client | None") -> Appointment:
    """The appointment as the front desk's form will save it (another service or client), for the status gate."""
    edited = copy.copy(current)
    edited.service = service
    if client is not None:
        edited.client = client
    return edited


def save_appointment_from_front_desk(
    *,
    appointment_id: int | None,
    client: "Client",
    location: "Location",
    service: Service,
    practitioner: Practitioner,
    start: datetime,
    status: str,
    source: str,
    notes: str = "",
    override_working_hours: bool = False,
    expected_updated_at: datetime | None = None,
) -> Appointment:
    """Book (appointment_id None) or edit an appointment for the front desk, under online booking's rules.

    Raises FrontDeskBookingRefused or AppointmentStatusError, and then writes nothing. A new
    active booking gets the same confirmations as an online one; a moved one, the same
    notice as a client's own reschedule.
    """
    with transaction.atomic():
        current = check_front_desk_appointment(
            appointment_id=appointment_id,
            location=location,
            service=service,
            practitioner=practitioner,
            start=start,
            status=status,
            override_working_hours=override_working_hours,
            expected_updated_at=expected_updated_at,
            client=client,
        )
        appointment = current or Appointment()
        moved = current is not None and (current.start != start or current.practitioner_id != practitioner.pk)
        was_active = current is not None and current.status in ACTIVE_STATUSES
        # One part of a visit checked in, confirmed, marked no-show or cancelled on its form: the whole visit is.
        whole_visit = (
            current is not None
            and current.visit_id is not None
            and status != current.status
            and status in VISIT_WIDE_STATUSES
        )
        if current is not None and current.status in ACTIVE_STATUSES and (moved or status not in ACTIVE_STATUSES):
            # Moved, or cancelled / marked: the old time is free for others (past times are ignored).
            if moved or status == AppointmentStatus.CANCELLED:
                _announce_freed(
                    Appointment(
                        location_id=current.location_id,
                        practitioner_id=current.practitioner_id,
                        service_id=current.service_id,
                        start=current.start,
                        end=current.end,
                    )
                )
        client_changed = current is not None and current.client_id != client.pk
        if client_changed:
            # Corrected to another client: the links sent to the first one (manage, forms) must not open the
            # new client's appointment, their forms or payments. New links go to the new client below.
            appointment.manage_key = new_manage_key()
            appointment.confirmation_emailed_at = None
        appointment.client = client
        appointment.location = location
        appointment.service = service
        appointment.practitioner = practitioner
        appointment.start = start
        appointment.end = staff_booking_end(location=location, service=service, practitioner=practitioner, start=start)
        appointment.status = status
        appointment.source = source
        appointment.notes = notes
        try:
            with transaction.atomic():
                appointment.save()
                if status != AppointmentStatus.CANCELLED:
                    # Under the unit locks check_front_desk_appointment took.
                    assign_resource_units(appointment=appointment)
        except SlotUnavailable as exc:
            raise FrontDeskBookingRefused({None: ["A room or device it needs is already booked then."]}) from exc
        except IntegrityError as exc:
            # A PostgreSQL exclusion constraint (practitioner or room/device): the time was taken after all.
            problem = f"{practitioner} or a room or device it needs is already booked then."
            raise FrontDeskBookingRefused({None: [problem]}) from exc
        parts = [appointment]
        if whole_visit:
            parts += _rest_of_visit_follows(appointment, status)
        if status == AppointmentStatus.CANCELLED and (was_active or len(parts) > 1):
            # Once, by the visit's first part cancelled now (its notice names every service).
            _tell_client_of_cancellation(min(parts, key=lambda a: (a.start, a.pk)))
        if status in ACTIVE_STATUSES:
            appointment_pk = appointment.pk
            if current is None:
                transaction.on_commit(lambda: _send_confirmation(appointment_pk))
            elif client_changed and appointment.visit_id is None:  # a visit's parts: its lead's link
                transaction.on_commit(lambda: _send_confirmation_email_only(appointment_pk))
            elif moved:
                transaction.on_commit(
                    lambda: appointment_rescheduled.send(sender=Appointment, appointment_id=appointment_pk)
                )
        return appointment


def move_refusal(appointment: Appointment) -> str | None:
    """Why the front desk's move page may not move this appointment on its own, or None when it may.

    Only a booked or confirmed appointment holds a time to move (a cancelled one is booked anew), and one
    part of a visit moves with its visit, never alone (the services follow one another).
    """
    if appointment.status not in ACTIVE_STATUSES:
        return (
            f"A {appointment.get_status_display().lower()} appointment holds no time to move. "
            "Book a new appointment instead."
        )
    if appointment.visit_id is not None:
        return (
            "This appointment is one part of a visit of several services, which moves as a whole: "
            "use “Move the whole visit” on this page (or the client's manage link)."
        )
    return None


def move_appointment_from_front_desk(
    *, appointment_id: int, practitioner: Practitioner, start: datetime, expected_updated_at: datetime
) -> Appointment:
    """The move page: the appointment, as it is, to another time or practitioner (save_appointment_from_front_desk).

    Raises FrontDeskBookingRefused, before anything is written, for an appointment that is not
    active or is one part of a visit (move_refusal), as read under its lock.
    """
    with transaction.atomic():
        current = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("client", "location", "service")
            .get(pk=appointment_id)
        )
        refusal = move_refusal(current)
        if refusal:
            raise FrontDeskBookingRefused({None: [refusal]})
        return save_appointment_from_front_desk(
            appointment_id=current.pk,
            client=current.client,
            location=current.location,
            service=current.service,
            practitioner=practitioner,
            start=start,
            status=current.status,
            source=current.source,
            notes=current.notes,
            expected_updated_at=expected_updated_at,
        )


def book_phone_call(
    *,
    staff_user: "User",
    location: "Location",
    service: Service,
    practitioner: Practitioner,
    start: datetime,
    client: "Client | None" = None,
    new_client: ClientDetails | None = None,
    texts_agreed: bool = False,
    identity_check: str = "",
    notes: str = "",
    language: str | None = None,
) -> Appointment:
    """A booking the front desk takes on the phone, for a client on file or a new record, all or nothing.

    What the caller agreed to is recorded in the ledger in the exact words read to them, as said on a
    call through `staff_user` (who the caller is to an existing record: `identity_check`, how staff knew).
    The confirmation goes out after commit like any booking's, and re-checks consent and the STOP list then.
    Raises FrontDeskBookingRefused (nothing written) when the time is taken or breaks a booking rule.
    language: the caller's, which staff chose: the words were read in it, and the client is written to in it.
    """
    if (client is None) == (new_client is None):
        raise ValueError("Book a phone call for a client on file or a new client, not both or neither.")
    language = supported_language(language or settings.LANGUAGE_CODE)
    with translation.override(language):
        words = phone_call_notices()
    evidence = f"Read aloud on a phone call by {staff_user.get_username()}"
    with transaction.atomic():
        if new_client is not None:
            client = identity.new_client_from_booking(
                first_name=new_client.first_name,
                last_name=new_client.last_name,
                email=new_client.email,
                mobile_phone=new_client.mobile_phone,
                location=location,
                language=language,
            )
        else:
            assert client is not None
            identity.remember_language(client, language)  # the confirmation and later texts go in it
        assert client is not None

        def said_yes(purpose: str, **extra: Any) -> None:
            # In the words read to the caller, through the staff member who read them.
            record_consent(
                client=client,
                purpose=purpose,
                granted=True,
                notice_text=words[purpose],
                source=ConsentSource.PHONE_CALL,
                actor=ConsentActor.STAFF,
                staff_user=staff_user,
                language=language,
                **extra,
            )

        if new_client is not None:
            said_yes(ConsentPurpose.PRIVACY_POLICY, evidence=evidence, policy_version=current_policy())
        appointment = save_appointment_from_front_desk(
            appointment_id=None,
            client=client,
            location=location,
            service=service,
            practitioner=practitioner,
            start=start,
            status=AppointmentStatus.BOOKED,
            source=AppointmentSource.FRONT_DESK,
            notes=notes,
        )
        if texts_agreed:
            who = f"; the caller is the client on file: {identity_check}" if identity_check else ""
            said_yes(ConsentPurpose.SMS_REMINDERS, evidence=evidence + who)
    return appointment


def delete_appointments(*, appointment_ids: Collection[int]) -> int:
    """Delete appointments (superusers only, in the admin); returns how many."""
    with transaction.atomic():
        _, per_model = Appointment.objects.filter(pk__in=appointment_ids).delete()
    return per_model.get(Appointment._meta.label, 0)


def erase_appointment_notes(*, client_ids: Collection[int]) -> int:
    """Erasure: keep dates, services and prices for the accounts; drop the free text."""
    return Appointment.objects.filter(client_id__in=client_ids).exclude(notes="").update(notes="")


def staff_slot_problems(
    *,
    location: "Location",
    service: Service,
    practitioner: Practitioner,
    start: datetime,
    exclude_appointment_id: int | None = None,
) -> tuple[list[str], list[str]]:
    """Why a front-desk booking at `start` is a problem: (overlaps, outside-hours reasons).

    Overlaps can never be overridden; the outside-hours reasons (not working,
    location closed, time off) can, with an explicit override. The caller holds
    the practitioner lock and the unit locks (check_front_desk_appointment takes them).
    A room or device the service needs that is taken then counts as an overlap.
    """
    end = staff_booking_end(location=location, service=service, practitioner=practitioner, start=start)
    occupied_until = end + service.buffer_after
    overlaps = Appointment.objects.filter(
        practitioner=practitioner, start__lt=occupied_until, occupied_until__gt=start
    ).exclude(status=AppointmentStatus.CANCELLED)
    if exclude_appointment_id:
        overlaps = overlaps.exclude(pk=exclude_appointment_id)
    overlap_messages = [
        f"{practitioner} already has {a.service} from {a.local_start:%H:%M} to {a.local_end:%H:%M}."
        for a in overlaps.select_related("service", "location")
    ]
    tz = location.tzinfo
    overlap_messages += [
        f"{practitioner}'s time from {h.start.astimezone(tz):%H:%M} is held for a waitlist offer until "
        f"{h.expires_at.astimezone(tz):%a %H:%M}; if nobody takes it, it can be booked then."
        for h in SlotHold.objects.filter(
            practitioner=practitioner, start__lt=occupied_until, occupied_until__gt=start, expires_at__gt=timezone.now()
        )
    ]
    overlap_messages += _unit_problems(
        location=location, service=service, start=start, end=end, exclude_appointment_id=exclude_appointment_id
    )

    day = start.astimezone(tz).date()
    reasons = []
    if LocationClosure.objects.filter(location=location, date=day).exists():
        reasons.append(f"{location} is closed on {day:%A %-d %B}.")
    spans = WorkingHours.objects.filter(practitioner=practitioner, location=location, weekday=day.weekday())
    if not any(
        wall_to_instant(day, span.start_time, tz) <= start and end <= wall_to_instant(day, span.end_time, tz)
        for span in spans
    ):
        reasons.append(f"{practitioner} is not scheduled to work at {location} at that time.")
    if TimeOff.objects.filter(practitioner=practitioner, start__lt=end, end__gt=start).exists():
        reasons.append(f"{practitioner} has time off then.")
    return overlap_messages, reasons


def staff_booking_end(
    *, location: "Location", service: Service, practitioner: Practitioner, start: datetime
) -> datetime:
    """When a front-desk booking ends: the practitioner's own duration of the service there, else the service's."""
    duration = practitioner_durations(location=location, service=service, practitioner_id=practitioner.pk).get(
        practitioner.pk, service.duration
    )
    return start + duration


def _unit_problems(
    *, location: "Location", service: Service, start: datetime, end: datetime, exclude_appointment_id: int | None
) -> list[str]:
    kinds = needed_units(location=location, service=service)
    if not kinds:
        return []
    names = dict(ResourceType.objects.filter(pk__in=[k for k, _, _ in kinds]).values_list("pk", "name"))
    busy = unit_busy_times(
        unit_ids=[uid for _, _, units in kinds for uid in units],
        range_start=start,
        range_end=end + max(cleanup for _, cleanup, _ in kinds),
        exclude_appointment_id=exclude_appointment_id,
    )
    tz = location.tzinfo
    problems = []
    for kind_id, cleanup, units in kinds:
        if not units:
            problems.append(f"{location} has no {names[kind_id]} in service, which {service} needs.")
        elif free_unit(units, busy, start, end + cleanup) is None:
            until = (end + cleanup).astimezone(tz)
            problems.append(
                f"No {names[kind_id]} is free from {start.astimezone(tz):%H:%M} to {until:%H:%M} "
                f"(clean-up included), which {service} needs."
            )
    return problems


def rotate_practitioner_feed_key(*, practitioner_id: int) -> str:
    """A new calendar-feed key for the practitioner: the old feed link stops working at once (404)."""
    key = new_feed_key()
    # update(), not save(): the key changes nobody's availability, so the booking pages' caches stay.
    Practitioner.objects.filter(pk=practitioner_id).update(feed_key=key)
    return key


# Visits of several services ---------------------------------------------------------------------


def lock_visit(*, location: "Location", services: list[Service], practitioner_ids: list[int | None]) -> None:
    """Lock every practitioner a visit may use, then every unit of every kind of room or device it needs.

    Each set in one query ordered by id, practitioners before units, as single bookings lock: two
    visits (or a visit and a single booking) wanting the same people in another order never deadlock.
    """
    candidates: set[int] = set()
    for service, chosen in zip(services, practitioner_ids, strict=True):
        candidates.update(_candidate_practitioner_ids(location=location, service=service, practitioner_id=chosen))
    _lock_practitioners(candidates)
    kinds = ServiceRequirement.objects.filter(service__in=services).values("resource_type")
    list(
        ResourceUnit.objects.select_for_update(of=("self",))
        .filter(location=location, resource_type__in=kinds)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _visit_services(service_ids: list[int], location: "Location") -> list[Service]:
    if not 2 <= len(service_ids) <= MAX_VISIT_SERVICES:
        raise BookingRefused(f"A visit has from 2 to {MAX_VISIT_SERVICES} services.")
    found = Service.objects.filter(pk__in=service_ids, locations=location).in_bulk()
    if len(found) != len(set(service_ids)):
        raise BookingRefused(f"A service chosen is not offered at {location}.")
    return [found[pk] for pk in service_ids]


def _plan_visit(
    *,
    location: "Location",
    services: list[Service],
    start: datetime,
    practitioner_ids: list[int | None],
    exclude_appointment_ids: tuple[int, ...] = (),
) -> VisitSlot:
    """Under the visit's locks: the plan for a visit starting at `start`, or SlotUnavailable."""
    day = start.astimezone(location.tzinfo).date()
    slots = find_visit_slots(
        location=location,
        services=services,
        start_date=day,
        end_date=day,
        practitioner_ids=practitioner_ids,
        exclude_appointment_ids=exclude_appointment_ids,
        only_start=start,
    )
    if not slots:
        raise SlotUnavailable(gettext("Sorry, that time is no longer available for the whole visit."))
    return slots[0]


def _write_visit_parts(
    *, visit: Visit, plan: VisitSlot, services: list[Service], client: "Client", source: str, notes: str = ""
) -> list[Appointment]:
    appointments = []
    for part, service in zip(plan.parts, services, strict=True):
        appointment = _create_appointment(
            client=client,
            location=visit.location,
            service=service,
            practitioner_id=part.practitioner_id,
            start=part.start,
            end=part.end,
            source=source,
            notes=notes,
            visit=visit,
        )
        # Under the unit locks; sees this visit's earlier holds.
        assign_resource_units(appointment=appointment, just_created=True)
        appointments.append(appointment)
    return appointments


def book_visit(
    *,
    location: "Location",
    service_ids: list[int],
    start: datetime,
    practitioner_ids: list[int | None] | None = None,
    details: ClientDetails,
    consents: BookingConsents,
    meta: RequestMeta | None = None,
    signed_in: "Client | None" = None,
    hold_ids: Collection[int] = (),
) -> list[Appointment]:
    """Book several services back to back online, all or nothing; returns the visit's appointments in order.

    On the record client_for_booking picks (`signed_in`'s own, else a new one with the form's consents).
    hold_ids: the visit's held times (hold_visit: a waitlist offer) this booking takes; they are given up
    under the visit's locks, in its transaction, so nobody else can take them in between.

    Raises BookingRefused, or SlotUnavailable with the nearest free starts of the whole visit;
    then nothing is written (no visit, appointment, client or consent).
    """
    if not consents.privacy_policy:
        raise BookingRefused(gettext("An online booking needs the privacy policy accepted."))
    services = _visit_services(service_ids, location)
    if booking_steps.visit_step_for(location=location, services=services) is not None:
        # A deposit or a card on file is taken in the visit's payment step first (hold_visit_booking, then
        # book_held_visit): never booked unpaid.
        raise BookingRefused("This visit needs a deposit or a card on file first. Please book it from its page.")
    practitioner_ids = practitioner_ids or [None] * len(services)
    meta = meta or RequestMeta()
    try:
        with transaction.atomic():
            lock_visit(location=location, services=services, practitioner_ids=practitioner_ids)
            if hold_ids:
                SlotHold.objects.filter(pk__in=hold_ids).delete()
            plan = _plan_visit(location=location, services=services, start=start, practitioner_ids=practitioner_ids)
            client, created = client_for_booking(details=details, location=location, signed_in=signed_in)
            visit = Visit.objects.create(location=location)
            appointments = _write_visit_parts(
                visit=visit, plan=plan, services=services, client=client, source=AppointmentSource.ONLINE
            )
            if created:
                _record_booking_consents(client=client, consents=consents, meta=meta)
            lead = appointments[0].pk
            transaction.on_commit(lambda: _send_confirmation(lead))
            return appointments
    except SlotUnavailable as exc:
        exc.alternatives = nearest_visit_slots(
            location=location, services=services, around=start, practitioner_ids=practitioner_ids
        )
        raise


def hold_visit(
    *, location: "Location", services: list[Service], plan: VisitSlot, expires_at: datetime, reason: str = ""
) -> list[SlotHold]:
    """Hold a whole visit found free (find_visit_slots' `plan`): each service's practitioner and rooms or
    devices, as hold_time holds one service, all or none; raises SlotUnavailable when a part is taken.

    Under the visit's locks, so a hold and a booking never both get one time; book_visit(hold_ids=...)
    takes them.
    """
    chosen: list[int | None] = [p.practitioner_id for p in plan.parts]
    with transaction.atomic():
        lock_visit(location=location, services=services, practitioner_ids=chosen)
        # Checked again as a whole under the locks, then written as the visit's payment step writes its holds: a
        # later part starts when the one before ends plus its clean-up, often between the single-service grid's
        # starts, so it is not re-checked as a single booking would be.
        found = _plan_visit(location=location, services=services, start=plan.start, practitioner_ids=chosen)
        return _write_visit_holds(
            location=location, services=services, plan=found, expires_at=expires_at, reason=reason
        )


def _write_visit_holds(
    *, location: "Location", services: list[Service], plan: VisitSlot, expires_at: datetime, reason: str
) -> list[SlotHold]:
    """One hold per part of a visit planned under its locks (its practitioner, rooms and devices), in order;
    each part's units are picked seeing this visit's earlier parts' held units."""
    return [
        _write_hold(
            location=location,
            service=service,
            practitioner_id=part.practitioner_id,
            start=part.start,
            end=part.end,
            occupied_until=part.occupied_until,
            expires_at=expires_at,
            reason=reason,
        )
        for part, service in zip(plan.parts, services, strict=True)
    ]


def hold_visit_booking(
    *,
    location: "Location",
    service_ids: list[int],
    start: datetime,
    practitioner_ids: list[int | None] | None = None,
    details: ClientDetails,
    consents: BookingConsents,
    meta: RequestMeta | None = None,
    expires_at: datetime,
    reason: str = "",
    signed_in: "Client | None" = None,
) -> tuple[list[SlotHold], "Client", bool]:
    """hold_booking for a visit of several services: one hold per part (its practitioner, rooms and devices,
    as planned for the whole visit) until `expires_at`, and the client's record, all or nothing. Returns
    (the holds in the visit's order, the client, whether the record is this booking's new one). The step
    then books it with book_held_visit. Raises BookingRefused, or SlotUnavailable with the visit's nearest
    free starts."""
    if not consents.privacy_policy:
        raise BookingRefused("An online booking needs the privacy policy accepted.")
    services = _visit_services(service_ids, location)
    practitioner_ids = practitioner_ids or [None] * len(services)
    try:
        with transaction.atomic():
            lock_visit(location=location, services=services, practitioner_ids=practitioner_ids)
            plan = _plan_visit(location=location, services=services, start=start, practitioner_ids=practitioner_ids)
            # Under the unit locks; each part sees this visit's earlier parts' held units.
            holds = _write_visit_holds(
                location=location, services=services, plan=plan, expires_at=expires_at, reason=reason
            )
            client, created = client_for_booking(details=details, location=location, signed_in=signed_in)
            if created:
                _record_booking_consents(client=client, consents=consents, meta=meta or RequestMeta())
            return holds, client, created
    except SlotUnavailable as exc:
        exc.alternatives = nearest_visit_slots(
            location=location, services=services, around=start, practitioner_ids=practitioner_ids
        )
        raise


def book_held_visit(
    *,
    location: "Location",
    service_ids: list[int],
    start: datetime,
    practitioner_ids: list[int | None],
    client: "Client",
    hold_ids: list[int],
) -> list[Appointment]:
    """Book the visit hold_visit_booking held (after its payment step), on that record, all or nothing.

    Under the visit's locks the holds are used up first, so their own times and units are free for it; when
    they lapsed and someone took a part meanwhile, SlotUnavailable and nothing changes (the caller releases
    the holds). The consents were recorded when the form was sent."""
    services = _visit_services(service_ids, location)
    with transaction.atomic():
        lock_visit(location=location, services=services, practitioner_ids=practitioner_ids)
        SlotHold.objects.filter(pk__in=hold_ids).delete()
        plan = _plan_visit(location=location, services=services, start=start, practitioner_ids=practitioner_ids)
        visit = Visit.objects.create(location=location)
        appointments = _write_visit_parts(
            visit=visit, plan=plan, services=services, client=client, source=AppointmentSource.ONLINE
        )
        lead = appointments[0].pk
        transaction.on_commit(lambda: _send_confirmation(lead))
        return appointments


def visit_appointments(appointment: Appointment) -> list[Appointment]:
    """The appointment's visit, in order (just itself when it has none)."""
    if appointment.visit_id is None:
        return [appointment]
    return list(
        Appointment.objects.filter(visit_id=appointment.visit_id)
        .select_related("location", "service", "practitioner", "client")
        .order_by("start", "pk")
    )


def _locked_visit_for_client_change(appointment_id: int) -> list[Appointment]:
    """The visit's active appointments, locked, in order; ChangeNotAllowed past the cut-off of its first one."""
    visit_id = Appointment.objects.values_list("visit_id", flat=True).get(pk=appointment_id)
    if visit_id is None:
        raise ChangeNotAllowed("This appointment is not part of a visit of several services.")
    parts = list(
        Appointment.objects.select_for_update(of=("self",))
        .filter(visit_id=visit_id, status__in=ACTIVE_STATUSES)
        .select_related("location", "service")
        .order_by("start", "pk")
    )
    if not parts or not can_change_online(parts[0]):
        raise ChangeNotAllowed(gettext("This visit can no longer be changed online. Please call the clinic."))
    return parts


def cancel_visit_by_client(*, appointment_id: int) -> list[Appointment]:
    """Cancel every appointment of the visit `appointment_id` belongs to, together."""
    with transaction.atomic():
        parts = _locked_visit_for_client_change(appointment_id)
        for appointment in parts:
            appointment.status = AppointmentStatus.CANCELLED
            appointment.save(update_fields=["status", "updated_at"])
            _announce_freed(appointment)
        return parts


def reschedule_visit_by_client(*, appointment_id: int, new_start: datetime) -> list[Appointment]:
    """Move the whole visit to start at `new_start`, keeping its order of services, all or nothing.

    Keeps each service's practitioner when the whole visit fits with them, else any qualified one.
    """
    parts: list[Appointment] = []
    try:
        with transaction.atomic():
            parts = _locked_visit_for_client_change(appointment_id)
            location = parts[0].location
            services = [p.service for p in parts]
            anyone: list[int | None] = [None] * len(parts)
            lock_visit(location=location, services=services, practitioner_ids=anyone)
            own = tuple(p.pk for p in parts)
            try:
                plan = _plan_visit(
                    location=location,
                    services=services,
                    start=new_start,
                    practitioner_ids=[p.practitioner_id for p in parts],
                    exclude_appointment_ids=own,
                )
            except SlotUnavailable:
                plan = _plan_visit(
                    location=location,
                    services=services,
                    start=new_start,
                    practitioner_ids=anyone,
                    exclude_appointment_ids=own,
                )
            _move_visit_parts(parts, plan)
            return parts
    except SlotUnavailable as exc:
        if parts:
            exc.alternatives = nearest_visit_slots(
                location=parts[0].location, services=[p.service for p in parts], around=new_start
            )
        raise


def _move_visit_parts(parts: list[Appointment], plan: VisitSlot) -> None:
    """Move the visit's locked active parts to `plan` (found under the visit's locks, its own parts left out),
    all or nothing: new times and rooms or devices, the client told once (after commit, by the first part, as
    for a client's own reschedule), and the old times offered to the waitlist. Raises SlotUnavailable."""
    old_times = [
        Appointment(
            location_id=p.location_id,
            practitioner_id=p.practitioner_id,
            service_id=p.service_id,
            start=p.start,
            end=p.end,
        )
        for p in parts
    ]
    own = [p.pk for p in parts]
    AssignedUnit.objects.filter(appointment_id__in=own).delete()
    pairs = list(zip(parts, plan.parts, strict=True))
    # Moving later, the last part moves first (and earlier, the first), so no part of the visit
    # ever overlaps another of its own old times on the way.
    if plan.start > parts[0].start:
        pairs.reverse()
    try:
        with transaction.atomic():
            for appointment, part in pairs:
                appointment.practitioner_id = part.practitioner_id
                appointment.start = part.start
                appointment.end = part.end
                _unconfirm_moved(appointment)
                appointment.save()
    except IntegrityError as exc:
        raise SlotUnavailable(gettext("Sorry, that time is no longer available for the whole visit.")) from exc
    for appointment in parts:
        assign_resource_units(appointment=appointment)
    lead = parts[0].pk
    transaction.on_commit(lambda: appointment_rescheduled.send(sender=Appointment, appointment_id=lead))
    for old in old_times:
        _announce_freed(old)


def visit_version(parts: Iterable[Appointment]) -> datetime:
    """When any part of a visit was last changed: a move page opened before that is out of date."""
    return max(p.updated_at for p in parts)


def move_visit_refusal(parts: list[Appointment]) -> str | None:
    """Why the front desk may not move this visit (its parts, in order), or None when it may.

    Its booked or confirmed parts move together; once a part is checked in, completed or marked no-show the
    visit has begun (or is over), and a cancelled visit holds no time.
    """
    begun = [p for p in parts if p.status not in ACTIVE_STATUSES and p.status != AppointmentStatus.CANCELLED]
    if begun:
        return (
            f"{begun[0].service} in this visit is {begun[0].get_status_display().lower()}: the visit can no longer "
            "be moved. Book a new appointment for what is left."
        )
    if not any(p.status in ACTIVE_STATUSES for p in parts):
        return "This visit is cancelled and holds no time to move. Book it again instead."
    return None


def move_visit_from_front_desk(
    *, appointment_id: int, start: datetime, practitioner_ids: list[int], expected_version: datetime
) -> list[Appointment]:
    """The front desk moves the whole visit `appointment_id` belongs to: its booked parts, back to back from
    `start`, each with the practitioner given (in the visit's order), all or nothing, under the visit's locks
    and the same no-double-booking guards as a booking. The client is told once, as for an online reschedule.

    Raises FrontDeskBookingRefused, and then nothing changes: not a visit, begun or cancelled (move_visit_refusal),
    changed since the page was opened (expected_version, visit_version), or no longer free then.
    """
    with transaction.atomic():
        visit_id = Appointment.objects.filter(pk=appointment_id).values_list("visit_id", flat=True).first()
        if visit_id is None:
            raise FrontDeskBookingRefused({None: ["This appointment is not part of a visit of several services."]})
        every = list(
            Appointment.objects.select_for_update(of=("self",))
            .filter(visit_id=visit_id)
            .select_related("location", "service")
            .order_by("start", "pk")
        )
        refusal = move_visit_refusal(every)
        if refusal:
            raise FrontDeskBookingRefused({None: [refusal]})
        if visit_version(every) != expected_version:
            raise FrontDeskBookingRefused(
                {None: ["Someone changed this visit after you opened it. Reload the page to see the change."]}
            )
        parts = [p for p in every if p.status in ACTIVE_STATUSES]
        if len(practitioner_ids) != len(parts):
            raise FrontDeskBookingRefused({None: ["Choose one of the free times shown."]})
        location = parts[0].location
        services = [p.service for p in parts]
        lock_visit(location=location, services=services, practitioner_ids=[None] * len(parts))
        try:
            plan = _plan_visit(
                location=location,
                services=services,
                start=start,
                practitioner_ids=list(practitioner_ids),
                exclude_appointment_ids=tuple(p.pk for p in parts),
            )
            _move_visit_parts(parts, plan)
        except SlotUnavailable as exc:
            raise FrontDeskBookingRefused(
                {
                    None: [
                        "The whole visit no longer fits then: a practitioner, room or device was booked or held "
                        "meanwhile. Choose another of the free times shown."
                    ]
                }
            ) from exc
        return parts


def book_visit_from_front_desk(
    *,
    client: "Client",
    location: "Location",
    service_ids: list[int],
    practitioner_ids: list[int | None],
    start: datetime,
    notes: str = "",
) -> list[Appointment]:
    """The front desk books several services back to back for a client, under online booking's rules.

    All or nothing: raises FrontDeskBookingRefused (and writes nothing) when any part does not fit.
    The client gets the same one confirmation as an online visit.
    """
    try:
        services = _visit_services(service_ids, location)
    except BookingRefused as exc:
        raise FrontDeskBookingRefused({"services": [str(exc)]}) from exc
    with transaction.atomic():
        lock_visit(location=location, services=services, practitioner_ids=practitioner_ids)
        try:
            plan = _plan_visit(location=location, services=services, start=start, practitioner_ids=practitioner_ids)
        except SlotUnavailable as exc:
            raise FrontDeskBookingRefused(
                {
                    None: [
                        "The whole visit does not fit then: a practitioner, room or device is busy, off or "
                        "not qualified for one of its services. Try another time or practitioner."
                    ]
                }
            ) from exc
        visit = Visit.objects.create(location=location)
        try:
            appointments = _write_visit_parts(
                visit=visit,
                plan=plan,
                services=services,
                client=client,
                source=AppointmentSource.FRONT_DESK,
                notes=notes,
            )
        except SlotUnavailable as exc:
            raise FrontDeskBookingRefused({None: ["A practitioner, room or device is already booked then."]}) from exc
        lead = appointments[0].pk
        transaction.on_commit(lambda: _send_confirmation(lead))
        return appointments


def announce_new_working_hours(
    *, hours: WorkingHours, before: tuple[int, int, int, time, time] | None = None, now: datetime | None = None
) -> int:
    """After commit, tell other apps (the waitlist) of the time a new or longer working span opens.

    before: the span's (practitioner id, location id, weekday, start, end) before an edit; only the
    part it did not cover is new. Announced on each of the span's dates within the booking horizon,
    not on closed days nor once over (today's started span: its rest). Returns how many times were announced.
    """
    now = now or timezone.now()
    parts = [(hours.start_time, hours.end_time)]
    if before is not None and before[:3] == (hours.practitioner_id, hours.location_id, hours.weekday):
        old_start, old_end = before[3], before[4]
        parts = [(hours.start_time, min(hours.end_time, old_start)), (max(hours.start_time, old_end), hours.end_time)]
    parts = [(start, end) for start, end in parts if start < end]
    tz = hours.location.tzinfo
    today = now.astimezone(tz).date()
    last = today + timedelta(days=settings.BOOKING_HORIZON_DAYS)
    closed = set(
        LocationClosure.objects.filter(location_id=hours.location_id, date__range=(today, last)).values_list(
            "date", flat=True
        )
    )
    announced = 0
    day = today + timedelta(days=(hours.weekday - today.weekday()) % 7)
    while day <= last and parts:
        if day not in closed:
            for start, end in parts:
                announced += _announce_span(
                    location_id=hours.location_id,
                    practitioner_id=hours.practitioner_id,
                    start=wall_to_instant(day, start, tz),
                    end=wall_to_instant(day, end, tz),
                    now=now,
                )
        day += timedelta(days=7)
    return announced


def announce_reopened_day(*, location: "Location", day: date, now: datetime | None = None) -> int:
    """After commit, tell other apps that a lifted closure frees each practitioner's working spans that day."""
    now = now or timezone.now()
    tz = location.tzinfo
    if LocationClosure.objects.filter(location=location, date=day).exists():
        return 0
    spans = WorkingHours.objects.filter(location=location, weekday=day.weekday(), practitioner__is_active=True)
    return sum(
        _announce_span(
            location_id=location.pk,
            practitioner_id=span.practitioner_id,
            start=wall_to_instant(day, span.start_time, tz),
            end=wall_to_instant(day, span.end_time, tz),
            now=now,
        )
        for span in spans
    )


def _announce_span(*, location_id: int, practitioner_id: int, start: datetime, end: datetime, now: datetime) -> int:
    if end <= now:
        return 0  # over already: nothing anyone could be offered
    start = max(start, now)  # started already: its rest is still new time (the waitlist offers its free times)
    freed = {
        "location_id": location_id,
        "practitioner_id": practitioner_id,
        "service_id": None,  # new hours: any service the practitioner performs
        "start": start,
        "end": end,
    }
    transaction.on_commit(lambda: time_freed.send(sender=WorkingHours, **freed))
    return 1
