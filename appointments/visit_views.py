"""Public pages for a visit of several services: choose them, a time, your details; manage the whole visit.

Thin, as views.py: parse the request, call visit_availability or a service, render.
"""

from datetime import UTC, date, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods

from clinic import identity
from clinic.errors import BusinessRuleError
from clinic.models import Location
from clinic.ratelimits import limit

from . import booking_steps, day_picker, services
from .emails import visit_ics
from .feeds import visit_google_calendar_url
from .forms import BookingDetailsForm, RescheduleForm, SlotSearchForm, VisitSearchForm, parse_slot_start
from .links import manage_path
from .models import Practitioner, Service
from .visit_availability import MAX_VISIT_SERVICES, find_visit_slots


def _location(location_slug):
    return get_object_or_404(Location, slug=location_slug, is_active=True)


def _week(*, location, service_list, first_day, exclude_appointment_ids=(), practitioner_ids=None):
    slots = find_visit_slots(
        location=location,
        services=service_list,
        practitioner_ids=practitioner_ids,
        start_date=first_day,
        end_date=first_day + timedelta(days=6),
        exclude_appointment_ids=exclude_appointment_ids,
    )
    tz = location.tzinfo
    days = {first_day + timedelta(days=i): [] for i in range(7)}
    for slot in slots:
        days.setdefault(slot.start.astimezone(tz).date(), []).append(slot)
    return [{"date": day, "slots": day_slots} for day, day_slots in sorted(days.items())]


def _details_query(service_ids, start, practitioner_ids=None):
    query = {"services": ",".join(map(str, service_ids)), "start": f"{start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"}
    if practitioner_ids and any(practitioner_ids):
        query["practitioners"] = ",".join(str(pid or "any") for pid in practitioner_ids)
    return urlencode(query)


def _first_day(location, chosen):
    today = timezone.now().astimezone(location.tzinfo).date()
    return min(max(chosen or today, today), today + timedelta(days=settings.BOOKING_HORIZON_DAYS))


@limit("booking", method="GET")
def choose_visit(request, location_slug):
    """Step 1: the services in order (and a day); then the week of times the whole visit fits.

    Not cached (the combinations are many), so limited like booking posts: a search costs real work.
    """
    location = _location(location_slug)
    # Services that take a deposit or a card on file are offered too: the visit's own payment step takes
    # what its parts need (booking_steps.visit_step_for) before it is booked.
    offered = list(location.services.filter(is_active=True))
    people = Practitioner.objects.filter(is_active=True, locations=location, service_skills__isnull=False).distinct()
    form = VisitSearchForm(request.GET or None, services=offered, practitioners=people)
    context = {"location": location, "form": form, "max_services": MAX_VISIT_SERVICES}
    if form.is_bound and form.is_valid():
        parts = form.parts()
        service_ids = [sid for sid, _ in parts]
        practitioner_ids = [pid for _, pid in parts]
        by_id = {s.pk: s for s in offered}
        service_list = [by_id[pk] for pk in service_ids]
        first_day = _first_day(location, form.cleaned_data.get("date"))
        details_url = reverse("appointments:visit_details", args=[location.slug])
        week = _week(
            location=location, service_list=service_list, first_day=first_day, practitioner_ids=practitioner_ids
        )
        # As on a single service's page: a strip of the week's days, then one day's times by part of the day.
        asked = _iso_day(request.GET.get("day", ""))
        shown = day_picker.shown_day([(day["date"], len(day["slots"])) for day in week], asked)
        shown_slots = next(day["slots"] for day in week if day["date"] == shown)
        links = [(f"{details_url}?{_details_query(service_ids, s.start, practitioner_ids)}", s) for s in shown_slots]
        next_week = request.GET.copy()
        next_week.pop("day", None)
        next_week["date"] = (first_day + timedelta(days=7)).isoformat()
        context.update(
            {
                "services": service_list,
                "strip": [
                    {
                        "date": day["date"],
                        "count": len(day["slots"]),
                        "query": _with_day(request.GET, first_day, day["date"]),
                        "current": day["date"] == shown,
                    }
                    for day in week
                ],
                "shown": {
                    "date": shown,
                    "parts": day_picker.by_part_of_day(
                        links, hour=lambda link: link[1].start.astimezone(location.tzinfo).hour
                    ),
                },
                "has_any_slot": any(day["slots"] for day in week),
                "next_week_query": next_week.urlencode(),
            }
        )
    return render(request, "appointments/visit_choose.html", context)


def _iso_day(value):
    """The day asked for in the strip, or None (an odd value shows the first day with times)."""
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def _with_day(params, first_day, day):
    query = params.copy()
    query["date"], query["day"] = first_day.isoformat(), day.isoformat()
    return query.urlencode()


def _parse_practitioners(value, count):
    """Per service, the practitioner asked for (None: any) from "any,3"; None when malformed."""
    if not value:
        return [None] * count
    parts = value.split(",")
    if len(parts) != count or not all(p == "any" or (p.isascii() and p.isdigit() and len(p) <= 9) for p in parts):
        return None
    return [None if p == "any" else int(p) for p in parts]


def _parse_services(value, location):
    """The services of a visit from "3,1,2", in that order, or None when malformed or not all offered here."""
    try:
        ids = [int(part) for part in (value or "").split(",")]
    except ValueError:
        return None
    if not 2 <= len(ids) <= MAX_VISIT_SERVICES:
        return None
    found = Service.objects.filter(pk__in=ids, is_active=True, locations=location).in_bulk()
    if len(found) != len(set(ids)):
        return None
    return [found[pk] for pk in ids]


def _alternative_links(location, service_list, alternatives, practitioner_ids=None):
    details_url = reverse("appointments:visit_details", args=[location.slug])
    ids = [s.pk for s in service_list]
    return [{"slot": s, "url": f"{details_url}?{_details_query(ids, s.start, practitioner_ids)}"} for s in alternatives]


def _plan_rows(slot, service_list):
    people = Practitioner.objects.in_bulk({part.practitioner_id for part in slot.parts})
    return [
        {"service": service, "start": part.start, "end": part.end, "practitioner": people[part.practitioner_id]}
        for service, part in zip(service_list, slot.parts, strict=True)
    ]


@require_http_methods(["GET", "POST"])
@limit("booking")
def visit_details(request, location_slug):
    """Step 2: the client's details for the visit starting at `start`; books every service or none."""
    location = _location(location_slug)
    params = request.POST if request.method == "POST" else request.GET
    service_list = _parse_services(params.get("services"), location)
    start = parse_slot_start(params.get("start"))
    practitioner_ids = _parse_practitioners(params.get("practitioners"), len(service_list or ()))
    if service_list is None or start is None or practitioner_ids is None:
        return redirect("appointments:visit", location.slug)
    # Signed in to their account: the visit goes on their record, no further check (their details prefilled).
    account = identity.signed_in_client(request)
    form = BookingDetailsForm(request.POST or None, initial=_account_details(account))
    context = {
        "location": location,
        "services": service_list,
        "services_param": ",".join(str(s.pk) for s in service_list),
        "practitioners_param": ",".join(str(pid or "any") for pid in practitioner_ids),
        "start": start,
        "form": form,
        # The deposit (the parts' summed) or card the payment step will ask, and the policy, before "Book".
        "booking_terms": booking_steps.visit_terms(location=location, services=service_list),
    }
    day = start.astimezone(location.tzinfo).date()
    fits = find_visit_slots(
        location=location,
        services=service_list,
        start_date=day,
        end_date=day,
        only_start=start,
        practitioner_ids=practitioner_ids,
    )
    if request.method == "GET" and not fits:
        return _taken(request, context, location, service_list, start, practitioner_ids=practitioner_ids)
    if request.method == "POST" and form.is_valid():
        # A deposit or a card on file first (payments registers the step): the whole visit is held meanwhile.
        step = booking_steps.visit_step_for(location=location, services=service_list)
        try:
            if step is not None:
                booking = booking_steps.VisitBookingRequest(
                    location=location,
                    services=service_list,
                    start=start,
                    practitioner_ids=practitioner_ids,
                    details=form.client_details(),
                    consents=form.booking_consents(),
                    meta=_client_meta(request),
                    signed_in=account,
                )
                return redirect(step(request=request, booking=booking))
            appointments = services.book_visit(
                location=location,
                service_ids=[s.pk for s in service_list],
                start=start,
                practitioner_ids=practitioner_ids,
                details=form.client_details(),
                consents=form.booking_consents(),
                meta=_client_meta(request),
                signed_in=account,
            )
        except services.SlotUnavailable as exc:
            return _taken(request, context, location, service_list, start, practitioner_ids, exc.alternatives)
        except BusinessRuleError as refusal:  # the payment step's refusal (e.g. parts in different currencies)
            form.add_error(None, str(refusal))
        else:
            return redirect(manage_path(appointments[0]) + "?booked=1")
    if fits:
        context["plan"] = _plan_rows(fits[0], service_list)
    response = render(request, "appointments/visit_details.html", context)
    if account is not None:  # their details are on the page: never kept by any cache
        patch_cache_control(response, private=True, no_store=True)
    return response


def _client_meta(request):
    from .views import _client_meta as meta

    return meta(request)


def _account_details(client):
    from .views import _account_details as details

    return details(client)


def _taken(request, context, location, service_list, start, practitioner_ids=None, alternatives=None):
    if alternatives is None:
        from .visit_availability import nearest_visit_slots

        alternatives = nearest_visit_slots(
            location=location, services=service_list, around=start, practitioner_ids=practitioner_ids
        )
    context["alternatives"] = _alternative_links(location, service_list, alternatives, practitioner_ids)
    return render(request, "appointments/visit_slot_taken.html", context, status=409)


# The manage link of a visit: views.py hands an appointment that belongs to a visit to these.


def manage_visit(request, appointment, token):
    parts = services.visit_appointments(appointment)
    active = [p for p in parts if not p.is_cancelled]
    lead = active[0] if active else parts[0]
    return render(
        request,
        "appointments/visit_manage.html",
        {
            "parts": parts,
            "lead": lead,
            "all_cancelled": not active,
            "token": token,
            "just_booked": request.GET.get("booked") == "1",
            "can_change": bool(active) and services.can_change_online(lead),
            "google_calendar_url": visit_google_calendar_url(active) if active else "",
            "preferences_request_url": reverse("messaging:preferences_request"),
        },
    )


def cancel_visit(request, appointment, token):
    """Cancel the whole visit; a late-cancel fee (payments, once per visit) is shown and confirmed first."""
    parts = [p for p in services.visit_appointments(appointment) if not p.is_cancelled]
    lead = parts[0] if parts else appointment
    terms = booking_steps.cancellation_terms(appointment=lead) if parts and services.can_change_online(lead) else None
    if terms is not None and request.POST.get("accept_fee") != "yes":
        context = {"appointment": lead, "parts": parts, "token": token, "terms": terms}
        return render(request, "appointments/cancel_confirm.html", context)
    try:
        services.cancel_visit_by_client(appointment_id=appointment.pk)
    except services.ChangeNotAllowed:
        return render(request, "appointments/too_late.html", {"appointment": appointment}, status=409)
    if terms is not None:
        terms.confirmed(lead.pk)
    return redirect(manage_path(appointment) + "?cancelled=1")


def reschedule_visit(request, appointment, token):
    parts = [p for p in services.visit_appointments(appointment) if not p.is_cancelled]
    if not parts or not services.can_change_online(parts[0]):
        return render(request, "appointments/too_late.html", {"appointment": appointment}, status=409)
    location = parts[0].location
    service_list = [p.service for p in parts]
    context = {"parts": parts, "lead": parts[0], "token": token}
    if request.method == "POST":
        form = RescheduleForm(request.POST)
        if form.is_valid():
            try:
                services.reschedule_visit_by_client(appointment_id=parts[0].pk, new_start=form.cleaned_data["start"])
            except services.ChangeNotAllowed:
                return render(request, "appointments/too_late.html", {"appointment": appointment}, status=409)
            except services.SlotUnavailable as exc:
                context.update({"taken": True, "week": [{"date": None, "slots": exc.alternatives}]})
                return render(request, "appointments/visit_reschedule.html", context, status=409)
            return redirect(manage_path(appointment) + "?rescheduled=1")
    search = SlotSearchForm(request.GET or None, practitioners=[])
    chosen = search.cleaned_data.get("date") if search.is_bound and search.is_valid() else None
    first_day = _first_day(location, chosen)
    context["week"] = _week(
        location=location,
        service_list=service_list,
        first_day=first_day,
        exclude_appointment_ids=tuple(p.pk for p in parts),
    )
    context["next_week"] = (first_day + timedelta(days=7)).isoformat()
    return render(request, "appointments/visit_reschedule.html", context)


def visit_calendar_file(appointment):
    parts = [p for p in services.visit_appointments(appointment) if not p.is_cancelled] or [appointment]
    return visit_ics(parts)
