"""Public booking pages. Thin: parse the request, call a selector or a service, render."""

import logging
from datetime import UTC, date, timedelta
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from clinic import identity
from clinic.models import Location
from clinic.ratelimits import client_ip, limit
from privacy.cookies import visitor_id

from . import booking_steps, day_picker, selectors, services, slot_cache, visit_views
from .availability import find_free_slots, local_day_bounds, nearest_free_slots, practitioner_durations
from .emails import appointment_ics
from .feeds import FeedInvalid, google_calendar_url, practitioner_feed_ics, practitioner_from_feed_token
from .forms import BookingDetailsForm, RescheduleForm, SlotSearchForm, parse_slot_start
from .links import LinkExpired, LinkInvalid, appointment_from_token, manage_path, manage_token
from .models import Practitioner, Service

logger = logging.getLogger(__name__)

# How long a calendar app may reuse a feed before asking again (changes show within minutes).
FEED_MAX_AGE_SECONDS = 300


def _client_meta(request):
    return services.RequestMeta(
        ip_address=client_ip(request) or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        visitor_id=visitor_id(request),
    )


def home(request):
    locations = Location.objects.filter(is_active=True)
    return render(request, "appointments/home.html", {"locations": locations})


def choose_service(request, location_slug):
    location = get_object_or_404(Location, slug=location_slug, is_active=True)
    groups = selectors.services_by_category(location)
    service_count = sum(len(group.services) for group in groups)
    return render(
        request,
        "appointments/choose_service.html",
        {"location": location, "groups": groups, "service_count": service_count},
    )


def _location_and_service(location_slug, service_slug):
    """The active location and service of a booking page (404 otherwise), read once per process (process_copy)."""

    def read():
        location = get_object_or_404(Location, slug=location_slug, is_active=True)
        service = get_object_or_404(Service, slug=service_slug, is_active=True, locations=location)
        return location, service

    key = ("location and service", location_slug, service_slug)
    return slot_cache.process_copy(location_slug=location_slug, key=key, build=read)


def _practitioners(location, service):
    def read():
        return tuple(Practitioner.objects.filter(pk__in=practitioner_durations(location=location, service=service)))

    return slot_cache.process_copy(
        location_slug=location.slug, key=("practitioners", location.pk, service.pk), build=read
    )


def _week_of_slots(*, location, service, practitioner_id, first_day, exclude_appointment_id=None):
    """Slots for seven days from first_day, grouped per local day."""
    slots = find_free_slots(
        location=location,
        service=service,
        start_date=first_day,
        end_date=first_day + timedelta(days=6),
        practitioner_id=practitioner_id,
        exclude_appointment_id=exclude_appointment_id,
    )
    tz = location.tzinfo
    days = {first_day + timedelta(days=i): [] for i in range(7)}
    for slot in slots:
        days.setdefault(slot.start.astimezone(tz).date(), []).append(slot)
    return days


def _is_free(location, service, start, practitioner_id):
    day = start.astimezone(location.tzinfo).date()
    slots = find_free_slots(
        location=location, service=service, start_date=day, end_date=day, practitioner_id=practitioner_id
    )
    return any(slot.start == start for slot in slots)


def _slot_query(slot_start, practitioner_id):
    # A page lists a day of these: UTC with "Z" needs no escaping, and "any" practitioner is the default.
    query = f"start={slot_start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    return query if practitioner_id is None else f"{query}&practitioner={practitioner_id}"


def choose_time(request, location_slug, service_slug):
    """The week of free times. Its body is cached (slot_cache): a hit costs no query."""
    build = partial(_build_choose_time, request.GET, location_slug, service_slug)
    parts = _cacheable_search(request.GET)
    if parts is None:
        page = build()[0]
    else:
        page = slot_cache.cached_page(
            parts=(location_slug, service_slug, *parts),
            location_slug=location_slug,
            day=date.fromisoformat(parts[0]) if parts[0] else timezone.now().date(),
            build=build,
        )
    return render(request, "appointments/choose_time.html", page)


def _cacheable_search(params):
    """The search as cache-key parts, or None when it is not a plain one worth caching.

    Only an empty or ISO date inside the booking horizon (for the week and for
    the day chosen in it) and "any" or a number for the practitioner: visitors
    cannot fill the cache with variants.
    """
    week_start, day, practitioner = params.get("date", ""), params.get("day", ""), params.get("practitioner", "")
    for value in (week_start, day):
        if value and _day_in_horizon(value) is None:
            return None
    if practitioner not in ("", "any") and not (
        practitioner.isascii() and practitioner.isdigit() and len(practitioner) <= 9
    ):
        return None
    if set(params) - {"date", "day", "practitioner"}:
        return None
    return week_start, practitioner, day, bool(params)


def _day_in_horizon(value):
    """An ISO date from yesterday to the booking horizon, else None."""
    try:
        parsed = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None
    today = timezone.now().date()
    if parsed is None or not today - timedelta(days=1) <= parsed <= today + timedelta(
        days=settings.BOOKING_HORIZON_DAYS
    ):
        return None
    return parsed


def _build_choose_time(params, location_slug, service_slug):
    """(context, valid_until): the rendered body and until when it holds; None (not kept) for a form with errors."""
    location, service = _location_and_service(location_slug, service_slug)
    form = SlotSearchForm(params or None, practitioners=_practitioners(location, service))
    today = timezone.now().astimezone(location.tzinfo).date()
    chosen_day, practitioner_id = today, None
    if form.is_bound and form.is_valid():
        # Past days show from today; days beyond the horizon show its last week.
        last = today + timedelta(days=settings.BOOKING_HORIZON_DAYS)
        chosen_day = min(max(form.cleaned_data.get("date") or today, today), last)
        practitioner_id = form.practitioner_id()
    week, first_start = _week(location=location, service=service, practitioner_id=practitioner_id, first_day=chosen_day)
    strip, shown = _day_strip(week, chosen_day, practitioner_id, asked=_day_in_horizon(params.get("day", "")))
    # Only the shown day's times are links on the page (the strip shows the other days' counts).
    shown["parts"] = day_picker.by_part_of_day(
        _time_links(location, service, practitioner_id, shown.pop("slots")), hour=lambda link: link[3]
    )
    body = render_to_string(
        "appointments/_choose_time_body.html",
        {
            "location": location,
            "service": service,
            "form": form,
            "strip": strip,
            "shown": shown,
            "next_week_query": _week_query(chosen_day + timedelta(days=7), practitioner_id),
            "previous_week_query": (
                _week_query(max(chosen_day - timedelta(days=7), today), practitioner_id) if chosen_day > today else None
            ),
            "has_any_slot": first_start is not None,
        },
    )
    context = {
        "title": gettext("Choose a time - %(service)s at %(location)s")
        % {"service": service.name, "location": location.name},
        "description": gettext("Free times for %(service)s at %(location)s: pick a day, then a time.")
        % {"service": service.name, "location": location.name},
        "body": mark_safe(body),
    }
    if form.errors:
        return context, None
    # Time alone changes the week when its first time falls inside the notice, or when the day (and horizon) moves on.
    valid_until = local_day_bounds(today, location.tzinfo)[1]
    if first_start is not None:
        valid_until = min(valid_until, first_start - timedelta(minutes=settings.BOOKING_MIN_NOTICE_MINUTES))
    return context, valid_until


def _week_query(first_day, practitioner_id, day=None):
    params = {"date": first_day.isoformat(), "practitioner": practitioner_id or "any"}
    if day is not None:
        params["day"] = day.isoformat()
    return urlencode(params)


def _day_strip(week, first_day, practitioner_id, asked=None):
    """The week as a strip of days (each a link when it has free times), and the day shown below it."""
    shown_date = day_picker.shown_day([(day["date"], len(day["slots"])) for day in week], asked)
    strip = [
        {
            "date": day["date"],
            "count": len(day["slots"]),
            "query": _week_query(first_day, practitioner_id, day["date"]),
            "current": day["date"] == shown_date,
        }
        for day in week
    ]
    slots = next(day["slots"] for day in week if day["date"] == shown_date)
    return strip, {"date": shown_date, "slots": slots}


def _week(*, location, service, practitioner_id, first_day):
    """The week of free times as [{date, slots}] in day order, and its first start (None if none)."""
    days = _week_of_slots(location=location, service=service, practitioner_id=practitioner_id, first_day=first_day)
    week = [{"date": day, "slots": day_slots} for day, day_slots in sorted(days.items())]
    return week, min((s.start for day_slots in days.values() for s in day_slots), default=None)


def _time_links(location, service, practitioner_id, slots):
    """A day's free times as [(link to the details step, ISO time, label, local hour)]."""
    details_url = reverse("appointments:details", args=[location.slug, service.slug])
    tz = location.tzinfo
    return [
        (f"{details_url}?{_slot_query(s.start, practitioner_id)}", local.isoformat(), _clock(local), local.hour)
        for s, local in ((s, s.start.astimezone(tz)) for s in slots)
    ]


def _clock(moment):
    """9:15 AM, as the |date:"g:i A" filter wrote it."""
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _alternative_links(location, service, alternatives, practitioner_id):
    details_url = reverse("appointments:details", args=[location.slug, service.slug])
    return [{"slot": s, "url": f"{details_url}?{_slot_query(s.start, practitioner_id)}"} for s in alternatives]


@require_http_methods(["GET", "POST"])
@limit("booking")
def booking_details(request, location_slug, service_slug):
    location, service = _location_and_service(location_slug, service_slug)
    params = request.POST if request.method == "POST" else request.GET
    start = parse_slot_start(params.get("start"))
    practitioner_param = params.get("practitioner", "any")
    practitioner_id = None
    if practitioner_param != "any":
        try:
            practitioner_id = int(practitioner_param)
        except ValueError:
            start = None
    if start is None:
        return redirect("appointments:choose_time", location.slug, service.slug)

    practitioner = Practitioner.objects.filter(pk=practitioner_id).first() if practitioner_id else None
    # Signed in to their account: the booking goes on their record, no further check (their details prefilled).
    account = identity.signed_in_client(request)
    form = BookingDetailsForm(request.POST or None, initial=_account_details(account))
    context = {
        "location": location,
        "service": service,
        "start": start,
        "practitioner": practitioner,
        "practitioner_param": practitioner_param,
        "form": form,
        # The steps before this one, to change the service or the time (the week from the chosen day).
        "service_url": reverse("appointments:choose_service", args=[location.slug]),
        "time_url": _time_url(location, service, start, practitioner_id),
        # A callable, so the template reads the terms only when it shows the form (not for a booking made).
        "booking_terms": partial(booking_steps.booking_terms, location=location, service=service),
    }
    if request.method == "GET" and not _is_free(location, service, start, practitioner_id):
        alternatives = nearest_free_slots(
            location=location, service=service, around=start, practitioner_id=practitioner_id
        )
        context["alternatives"] = _alternative_links(location, service, alternatives, practitioner_id)
        return render(request, "appointments/slot_taken.html", context, status=409)
    if request.method == "POST" and form.is_valid():
        details, consents = form.client_details(), form.booking_consents()
        # A deposit or a card on file first (payments registers the step): the time is held meanwhile.
        step = booking_steps.step_for(location=location, service=service)
        try:
            if step is not None:
                booking = booking_steps.BookingRequest(
                    location, service, start, practitioner_id, details, consents, _client_meta(request), account
                )
                return redirect(step(request=request, booking=booking))
            appointment = services.book_appointment(
                location=location,
                service=service,
                start=start,
                practitioner_id=practitioner_id,
                details=details,
                consents=consents,
                meta=_client_meta(request),
                signed_in=account,
            )
        except services.SlotUnavailable as exc:
            context["alternatives"] = _alternative_links(location, service, exc.alternatives, practitioner_id)
            return render(request, "appointments/slot_taken.html", context, status=409)
        return redirect(reverse("appointments:manage", args=[manage_token(appointment)]) + "?booked=1")
    response = render(request, "appointments/details.html", context)
    if account is not None:  # their details are on the page: never kept by any cache
        patch_cache_control(response, private=True, no_store=True)
    return response


def _time_url(location, service, start, practitioner_id):
    day = start.astimezone(location.tzinfo).date()
    url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    return f"{url}?{_week_query(day, practitioner_id, day)}"


def _account_details(client):
    if client is None:
        return None
    return {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "email": client.email,
        "mobile_phone": client.mobile_phone,
    }


def _appointment_or_error(request, token):
    try:
        return appointment_from_token(token), None
    except LinkInvalid:
        raise Http404("This link is not valid.") from None
    except LinkExpired:
        return None, render(request, "appointments/link_expired.html", status=410)


@never_cache  # the manage link shows the client's name, treatment and payments: never cached
def manage(request, token):
    appointment, error = _appointment_or_error(request, token)
    if error:
        return error
    if appointment.visit_id is not None:
        return visit_views.manage_visit(request, appointment, token)
    return render(
        request,
        "appointments/manage.html",
        {
            "appointment": appointment,
            "token": token,
            "just_booked": request.GET.get("booked") == "1",
            "can_change": services.can_change_online(appointment),
            "google_calendar_url": google_calendar_url(appointment),
            # Not the signed preference link: whoever holds a manage link proved nothing about the
            # record (and a merge may move the appointment onto an older one). The link is emailed.
            "preferences_request_url": reverse("messaging:preferences_request"),
            "extra_sections": booking_steps.manage_sections(appointment=appointment),  # e.g. payments
        },
    )


@require_http_methods(["GET", "POST"])
@limit("verification")
def claim(request, token):
    """ "This was me: keep my visits together", from the confirmation email.

    The page shows nothing of either record; only the POST merges (mail
    scanners follow GET links), so a scanner or a forwarded GET changes nothing.
    """
    try:
        if request.method == "POST":
            identity.claim_visits(token=token)
            return render(request, "appointments/claim_done.html")
        identity.check_claim(token)
    except identity.ClaimInvalid as exc:
        return render(request, "appointments/claim_invalid.html", {"reason": str(exc)}, status=404)
    except identity.MergeRefused:
        return render(
            request,
            "appointments/claim_invalid.html",
            {"reason": gettext("We could not join these visits online. Please call the clinic.")},
            status=409,
        )
    return render(request, "appointments/claim.html", {"token": token})


@never_cache
@require_POST
@limit("appointment_change")
def cancel(request, token):
    appointment, error = _appointment_or_error(request, token)
    if error:
        return error
    if appointment.visit_id is not None:
        return visit_views.cancel_visit(request, appointment, token)
    # A late-cancel fee (payments) is shown, and confirmed, before anything is cancelled.
    terms = (
        booking_steps.cancellation_terms(appointment=appointment) if services.can_change_online(appointment) else None
    )
    if terms is not None and request.POST.get("accept_fee") != "yes":
        return render(
            request, "appointments/cancel_confirm.html", {"appointment": appointment, "token": token, "terms": terms}
        )
    try:
        services.cancel_appointment_by_client(appointment_id=appointment.pk)
    except services.ChangeNotAllowed:
        return render(request, "appointments/too_late.html", {"appointment": appointment}, status=409)
    if terms is not None:
        terms.confirmed(appointment.pk)
    return redirect(manage_path(appointment) + "?cancelled=1")


@never_cache
@require_http_methods(["GET", "POST"])
@limit("appointment_change")
def reschedule(request, token):
    appointment, error = _appointment_or_error(request, token)
    if error:
        return error
    if appointment.visit_id is not None:
        return visit_views.reschedule_visit(request, appointment, token)
    if not services.can_change_online(appointment):
        return render(request, "appointments/too_late.html", {"appointment": appointment}, status=409)
    location, service = appointment.location, appointment.service
    if request.method == "POST":
        form = RescheduleForm(request.POST)
        if form.is_valid():
            try:
                services.reschedule_appointment_by_client(
                    appointment_id=appointment.pk, new_start=form.cleaned_data["start"]
                )
            except services.ChangeNotAllowed:
                return render(request, "appointments/too_late.html", {"appointment": appointment}, status=409)
            except services.SlotUnavailable as exc:
                return render(
                    request,
                    "appointments/reschedule.html",
                    {
                        "appointment": appointment,
                        "token": token,
                        "taken": True,
                        "week": [{"date": None, "slots": [{"slot": s} for s in exc.alternatives]}],
                    },
                    status=409,
                )
            return redirect(manage_path(appointment) + "?rescheduled=1")
    today = timezone.now().astimezone(location.tzinfo).date()
    search = SlotSearchForm(request.GET or None, practitioners=[])
    first_day = today
    if search.is_bound and search.is_valid() and search.cleaned_data.get("date"):
        # As on the booking page: past days show from today, days beyond the horizon its last week.
        first_day = min(max(search.cleaned_data["date"], today), today + timedelta(days=settings.BOOKING_HORIZON_DAYS))
    days = _week_of_slots(
        location=location,
        service=service,
        practitioner_id=None,
        first_day=first_day,
        exclude_appointment_id=appointment.pk,
    )
    week = [{"date": day, "slots": [{"slot": s} for s in day_slots]} for day, day_slots in sorted(days.items())]
    # As on the booking page: a strip of the week's days, then the shown day's times by part of the day.
    shown = day_picker.shown_day(
        [(day["date"], len(day["slots"])) for day in week], _day_in_horizon(request.GET.get("day", ""))
    )
    strip = [
        {
            "date": day["date"],
            "count": len(day["slots"]),
            "query": urlencode({"date": first_day.isoformat(), "day": day["date"].isoformat()}),
            "current": day["date"] == shown,
        }
        for day in week
    ]
    shown_slots = next(day["slots"] for day in week if day["date"] == shown)
    tz = location.tzinfo
    return render(
        request,
        "appointments/reschedule.html",
        {
            "appointment": appointment,
            "token": token,
            "strip": strip,
            "shown": {
                "date": shown,
                "parts": day_picker.by_part_of_day(
                    shown_slots, hour=lambda item: item["slot"].start.astimezone(tz).hour
                ),
            },
            "next_week": (first_day + timedelta(days=7)).isoformat(),
        },
    )


@require_http_methods(["GET", "HEAD"])
def appointment_calendar_file(request, token):
    """The visit as an .ics file, from the manage page (the confirmation email attaches the same)."""
    appointment, error = _appointment_or_error(request, token)
    if error:
        return error
    ics = visit_views.visit_calendar_file(appointment) if appointment.visit_id else appointment_ics(appointment)
    response = HttpResponse(ics, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


def _feed_key(group, request):
    # Per feed, not per address: calendar services fetch many people's feeds from a few addresses.
    return request.path


@require_http_methods(["GET", "HEAD"])
@limit("calendar_feed", key=_feed_key, method="GET")
def practitioner_feed(request, token):
    """A practitioner's private iCalendar subscription (first names and services only)."""
    try:
        practitioner = practitioner_from_feed_token(token)
    except FeedInvalid:
        logger.info("Calendar feed refused: link invalid or revoked")
        raise Http404("This calendar link is not valid.") from None
    logger.info("Calendar feed fetched for practitioner %s", practitioner.pk)
    response = HttpResponse(practitioner_feed_ics(practitioner), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="appointments.ics"'
    # Calendar apps may keep it a few minutes; no shared cache may keep it at all.
    response["Cache-Control"] = f"private, max-age={FEED_MAX_AGE_SECONDS}"
    return response
