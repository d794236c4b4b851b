"""The front desk moves an appointment, or a whole visit of several services, to one of the next free times
shown on its page.

The times come from the online engine (the appointment's own time, or the visit's, excluded from what is
busy); a single move goes through services.save_appointment_from_front_desk, a visit's through
services.move_visit_from_front_desk, so they take the same locks, refuse a change saved since the page
was opened, and tell the client as a client's own reschedule does.
"""

from datetime import datetime, timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from clinic.admin_scoping import is_id, scoped
from clinic.timefmt import admin_datetime

from . import services
from .availability import find_free_slots
from .forms import parse_slot_start
from .models import Appointment, Practitioner, Service
from .visit_availability import MAX_VISIT_SERVICES, find_visit_slots

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
    appointment = model_admin.get_queryset(request).filter(pk=raw).first() if is_id(raw) else None
    if appointment is None:
        raise Http404
    if not model_admin.has_change_permission(request, appointment):
        raise PermissionDenied
    page = reverse(f"admin:{Appointment._meta.app_label}_{Appointment._meta.model_name}_change", args=[appointment.pk])
    start = parse_slot_start(request.POST.get("start", ""))
    raw_person = request.POST.get("practitioner", "")
    person = (
        scoped(request.user, Practitioner.objects.filter(is_active=True)).filter(pk=raw_person).first()
        if is_id(raw_person)
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


def free_visit_times_to_move_to(appointment: Appointment) -> tuple[list[dict] | None, str]:
    """(The next free times for the whole visit this appointment belongs to, version): a visit's move list.

    The same visit search as online (the visit's own parts excluded from what is busy), its practitioners
    kept where the whole visit fits with them, else any qualified ones. Each time carries its plan: a
    practitioner per part, in order. None for an appointment outside a visit, or a visit that cannot move
    (services.move_visit_refusal); version: when the visit last changed (the move refuses an older page).
    """
    if appointment.visit_id is None:
        return None, ""
    every = list(
        Appointment.objects.filter(visit_id=appointment.visit_id).select_related("service").order_by("start", "pk")
    )
    if services.move_visit_refusal(every) is not None:
        return None, ""
    parts = [p for p in every if p.status in services.ACTIVE_STATUSES]
    location = appointment.location
    tz = location.tzinfo
    today = timezone.now().astimezone(tz).date()
    first_day = max(today, parts[0].start.astimezone(tz).date())
    search = {
        "location": location,
        "services": [p.service for p in parts],
        "start_date": first_day,
        "end_date": first_day + timedelta(days=DAYS_SHOWN - 1),
        "exclude_appointment_ids": tuple(p.pk for p in parts),
    }
    kept = find_visit_slots(**search, practitioner_ids=[p.practitioner_id for p in parts])
    plans = {slot.start: slot for slot in find_visit_slots(**search)}
    plans.update({slot.start: slot for slot in kept})  # its own practitioners where they fit
    names = dict(
        Practitioner.objects.filter(pk__in={q.practitioner_id for s in plans.values() for q in s.parts}).values_list(
            "pk", "name"
        )
    )
    service_names = dict(Service.objects.filter(pk__in={p.service_id for p in parts}).values_list("pk", "name"))
    current = (parts[0].start, [p.practitioner_id for p in parts])
    times = []
    for start in sorted(plans):
        slot = plans[start]
        people = [q.practitioner_id for q in slot.parts]
        if (start, people) == current:
            continue
        who = ", then ".join(f"{service_names[q.service_id]} with {names[q.practitioner_id]}" for q in slot.parts)
        times.append(
            {
                "start": start.isoformat(),
                "practitioners": ",".join(str(pid) for pid in people),
                "label": f"{admin_datetime(start, tz)}: {who}",
            }
        )
        if len(times) == TIMES_SHOWN:
            break
    return times, services.visit_version(every).isoformat()


def move_visit_view(model_admin: admin.ModelAdmin, request):
    """POST: move the whole visit to the chosen free time (a form per time on its appointments' pages)."""
    raw = request.POST.get("appointment", "")
    appointment = model_admin.get_queryset(request).filter(pk=raw).first() if is_id(raw) else None
    if appointment is None:
        raise Http404
    if not model_admin.has_change_permission(request, appointment):
        raise PermissionDenied
    page = reverse(f"admin:{Appointment._meta.app_label}_{Appointment._meta.model_name}_change", args=[appointment.pk])
    start = parse_slot_start(request.POST.get("start", ""))
    raw_people = request.POST.get("practitioners", "").split(",")
    people = (
        dict(
            scoped(request.user, Practitioner.objects.filter(is_active=True))
            .filter(pk__in=[int(p) for p in raw_people])
            .values_list("pk", "name")
        )
        if all(is_id(p) for p in raw_people) and len(raw_people) <= MAX_VISIT_SERVICES
        else {}
    )
    try:
        loaded = datetime.fromisoformat(request.POST.get("loaded_version", ""))
    except ValueError:
        loaded = None
    # Every practitioner must be one this user may book (their locations); the services check the rest.
    if start is None or loaded is None or not people or any(int(p) not in people for p in raw_people):
        model_admin.message_user(request, "Choose one of the free times shown.", messages.ERROR)
        return HttpResponseRedirect(page)
    try:
        moved = services.move_visit_from_front_desk(
            appointment_id=appointment.pk,
            start=start,
            practitioner_ids=[int(p) for p in raw_people],
            expected_version=loaded,
        )
    except services.FrontDeskBookingRefused as exc:
        model_admin.message_user(request, f"Not moved: {exc}", messages.ERROR)
    else:
        model_admin.message_user(
            request,
            f"Moved the whole visit ({len(moved)} services) to "
            f"{admin_datetime(moved[0].start, moved[0].location.tzinfo)}; "
            "the client is told once, as for an online change.",
            messages.SUCCESS,
        )
    return HttpResponseRedirect(page)
