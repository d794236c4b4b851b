"""Practitioners' private calendar feeds, and the client's "Add to Google Calendar" link.

A feed link is signed and carries the practitioner's random feed key: a guessed id is useless
without the signature, and rotating the key (admin action) kills every earlier link. The feed
names a client by first name only, with the service: no surname, phone, email or notes, since
the link ends up in calendar apps and their sync servers.
"""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from .models import Appointment, AppointmentStatus, Practitioner
from .selectors import practitioner_feed_appointments, practitioner_feed_location_ids

SALT = "appointments.practitioner-feed"
FEED_DAYS_BACK = 30
FEED_DAYS_AHEAD = 365


class FeedInvalid(Exception):
    """Tampered, unknown or revoked: answer 404."""


def feed_token(practitioner: Practitioner) -> str:
    return signing.dumps([practitioner.pk, practitioner.feed_key], salt=SALT, compress=False)


def feed_url(practitioner: Practitioner) -> str:
    return settings.SITE_URL + reverse("appointments:practitioner_feed", args=[feed_token(practitioner)])


def practitioner_from_feed_token(token: str) -> Practitioner:
    try:
        pk, key = signing.loads(token, salt=SALT)
        return Practitioner.objects.get(pk=int(pk), feed_key=str(key), is_active=True)
    except (signing.BadSignature, ValueError, TypeError, Practitioner.DoesNotExist) as exc:
        raise FeedInvalid from exc


def may_hand_out_feed(practitioner: Practitioner, location_ids: set[int] | None) -> bool:
    """May staff limited to `location_ids` (None: every location) see, copy or renew this practitioner's feed link?

    Only when their locations cover every location the feed shows: the feed is the practitioner's whole
    calendar (their own calendar app wants it whole), so a Milpitas manager must not hand out a link that
    also shows the practitioner's Glendale clients.
    """
    if location_ids is None:
        return True
    shown = practitioner_feed_location_ids(
        practitioner=practitioner, now=timezone.now(), days_back=FEED_DAYS_BACK, days_ahead=FEED_DAYS_AHEAD
    )
    return shown <= set(location_ids)


def _uid_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "clinic"


def feed_event_uid(appointment: Appointment) -> str:
    # Stable across edits and reschedules (a calendar app updates the event in place); no manage key in it.
    return f"practitioner-feed-{appointment.pk}@{_uid_domain()}"


def practitioner_feed_ics(practitioner: Practitioner, *, now: datetime | None = None) -> bytes:
    """The practitioner's appointments as an RFC 5545 calendar, times in UTC."""
    now = now or timezone.now()
    cal = Calendar()
    cal.add("prodid", f"-//{settings.CLINIC_NAME}//Practitioner feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{settings.CLINIC_NAME}: {practitioner.name}")
    # A hint to calendar apps to poll often (the feed changes with every booking).
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    appointments = practitioner_feed_appointments(
        practitioner=practitioner, now=now, days_back=FEED_DAYS_BACK, days_ahead=FEED_DAYS_AHEAD
    )
    for appointment in appointments:
        event = Event()
        event.add("uid", feed_event_uid(appointment))
        event.add("dtstamp", now.astimezone(UTC))
        event.add("last-modified", appointment.updated_at.astimezone(UTC))
        event.add("dtstart", appointment.start.astimezone(UTC))
        event.add("dtend", appointment.end.astimezone(UTC))
        # First name and service only: the one place this module reads the client.
        event.add("summary", f"{appointment.client.first_name}: {appointment.service.name}")
        event.add("location", appointment.location.name)
        cancelled = appointment.status == AppointmentStatus.CANCELLED
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()


def google_calendar_url(appointment: Appointment) -> str:
    """An "Add to Google Calendar" link: the service and the clinic, nothing of the client."""
    return _google_link(
        title=appointment.service.name, start=appointment.start, end=appointment.end, location=appointment.location
    )


def visit_google_calendar_url(parts: list[Appointment]) -> str:
    """The same link for a visit of several services: one event from its first start to its last end,
    as its .ics file has (emails.visit_ics)."""
    return _google_link(
        title=" + ".join(part.service.name for part in parts),
        start=parts[0].start,
        end=max(part.end for part in parts),
        location=parts[0].location,
    )


def _google_link(*, title: str, start: datetime, end: datetime, location) -> str:  # type: ignore[no-untyped-def]
    fmt = "%Y%m%dT%H%M%SZ"
    query = {
        "action": "TEMPLATE",
        "text": f"{title} at {settings.CLINIC_NAME} {location.name}",
        "dates": f"{start.astimezone(UTC):{fmt}}/{end.astimezone(UTC):{fmt}}",
        "location": location.address.replace("\n", ", "),
        "ctz": location.timezone,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)
