"""The front desk moves an appointment to one of the next free times shown on its page.

The times come from the online engine (the appointment's own time excluded from what is busy); the
move goes through services.save_appointment_from_front_desk, so it takes the same locks, refuses a
change saved since the page was opened, and tells the client as a client's own reschedule does.
"""

from datetime import datetime, timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from clinic.admin_scoping import scoped
from clinic.timefmt import admin_datetime

from . import services
from .availability import find_free_slots
from .forms import parse_slot_start
from .models import Appointment, Practitioner

DAYS_SHOWN = 3
TIMES_SHOWN = 12


def free_times_to_move_to(appointment: Appointment) -> list[dict] | None:
    """The next free times for this appointment's service at its location, its practitioner first.

    None for an appointment that is no longer active or is one part of a visit (a visit moves as a
    whole, from the client's manage link or by booking it again).
    """
    if services.move_refusal(appointment) is not None:
        return None
    tz = appointment.location.tzinfo
    today = timezone.now().astimezone(tz).date()
    first_day = max(today, appointment.start.astimezone(tz).date())
    slots = find_free_slots(
        location=appointment.location,
        service=appointment.service,
        start_date=first_day,
        end_date=first_day + timedelta(days=DAYS_SHOWN - 1),
        exclude_appointment_id=appointment.pk,
    )
    names = dict(
        Practitioner.objects.filter(pk__in={p for s in slots for p in s.practitioner_ids}).values_list("pk", "name")
    )
    times = []
    for slot in slots:
        person = (
            appointment.practitioner_id
            if appointment.practitioner_id in slot.practitioner_ids
            else slot.practitioner_ids[0]
        )
        if slot.start == appointment.start and person == appointment.practitioner_id:
            continue
        times.append(
            {
                "start": slot.start.isoformat(),
                "practitioner": person,
                "label": f"{admin_datetime(slot.start, tz)} with {names[person]}",
            }
        )
        if len(times) == TIMES_SHOWN:
            break
    return times


def move_view(model_admin: admin.ModelAdmin, request):
    """POST: move the appointment to the chosen free time (a form per time on the appointment's page)."""
    raw = request.POST.get("appointment", "")
    appointment = model_admin.get_queryset(request).filter(pk=raw).first() if raw.isdigit() else None
    if appointment is None:
        raise Http404
    if not model_admin.has_change_permission(request, appointment):
        raise PermissionDenied
    page = reverse(f"admin:{Appointment._meta.app_label}_{Appointment._meta.model_name}_change", args=[appointment.pk])
    start = parse_slot_start(request.POST.get("start", ""))
    raw_person = request.POST.get("practitioner", "")
    person = (
        scoped(request.user, Practitioner.objects.filter(is_active=True)).filter(pk=raw_person).first()
        if raw_person.isdigit()
        else None
    )
    try:
        loaded = datetime.fromisoformat(request.POST.get("loaded_version", ""))
    except ValueError:
        loaded = None
    if start is None or person is None or loaded is None:
        model_admin.message_user(request, "Choose one of the free times shown.", messages.ERROR)
        return HttpResponseRedirect(page)
    try:
        # Refused (under the lock) for a cancelled appointment or one part of a visit, even by a hand-made POST.
        moved = services.move_appointment_from_front_desk(
            appointment_id=appointment.pk, practitioner=person, start=start, expected_updated_at=loaded
        )
    except (services.FrontDeskBookingRefused, services.AppointmentStatusError) as exc:
        model_admin.message_user(request, f"Not moved: {exc}", messages.ERROR)
    else:
        model_admin.message_user(
            request,
            f"Moved to {admin_datetime(moved.start, moved.location.tzinfo)} with {moved.practitioner}; "
            "the client is told as for an online change.",
            messages.SUCCESS,
        )
    return HttpResponseRedirect(page)
