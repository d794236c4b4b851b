"""The booking confirmation email with its calendar invitation."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vText

from clinic import identity
from clinic.languages import client_language
from clinic.plain_text import render_plain_text
from privacy.links import preferences_url

from .links import manage_url
from .models import AppointmentSource


def appointment_ics(appointment):
    """An RFC 5545 calendar file for the appointment (times in UTC)."""
    cal = Calendar()
    cal.add("prodid", f"-//{settings.CLINIC_NAME}//Booking//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"appointment-{appointment.pk}-{appointment.manage_key[:8]}@clinic")
    event.add("dtstamp", appointment.created_at)
    event.add("dtstart", appointment.start)
    event.add("dtend", appointment.end)
    event.add(
        "summary",
        _("%(service)s at %(clinic)s %(location)s")
        % {"service": appointment.service.name, "clinic": settings.CLINIC_NAME, "location": appointment.location.name},
    )
    event["location"] = vText(appointment.location.address.replace("\n", ", "))
    event.add("description", _("Manage or cancel: %(url)s") % {"url": manage_url(appointment)})
    event.add("url", manage_url(appointment))
    cal.add_component(event)
    return cal.to_ical()


def claim_url(appointment):
    """The "This was me: keep my visits together" link, for an online booking whose email is on an older record.

    Only in the email: it goes to the address typed, which is that record's
    address on file, so following it proves control of it. Never on a page.
    """
    if appointment.source != AppointmentSource.ONLINE:
        return ""
    token = identity.claim_token(appointment.client)
    return settings.SITE_URL + reverse("appointments:claim", args=[token]) if token else ""


def booking_confirmation_message(appointment):
    """To the address on the appointment's own record: for an online booking, exactly the one typed in it."""
    with client_language(appointment.client):
        return _booking_confirmation_message(appointment)


def _booking_confirmation_message(appointment):
    context = {
        "claim_url": claim_url(appointment),
        "appointment": appointment,
        "manage_url": manage_url(appointment),
        "preferences_url": preferences_url(appointment.client),
        "clinic_name": settings.CLINIC_NAME,
        "cutoff_hours": settings.BOOKING_CHANGE_CUTOFF_HOURS,
    }
    message = EmailMultiAlternatives(
        subject=_("Your %(service)s appointment at %(clinic)s %(location)s")
        % {"service": appointment.service.name, "clinic": settings.CLINIC_NAME, "location": appointment.location.name},
        body=render_plain_text("appointments/email/confirmation.txt", context),
        to=[appointment.client.email],
    )
    message.attach_alternative(render_to_string("appointments/email/confirmation.html", context), "text/html")
    message.attach("appointment.ics", appointment_ics(appointment), "text/calendar; method=PUBLISH")
    return message


def visit_ics(parts):
    """One calendar file for a visit of several services: one event from its start to its end, listing them."""
    lead = parts[0]
    cal = Calendar()
    cal.add("prodid", f"-//{settings.CLINIC_NAME}//Booking//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"visit-{lead.visit_id}-{lead.manage_key[:8]}@clinic")
    event.add("dtstamp", lead.created_at)
    event.add("dtstart", lead.start)
    event.add("dtend", max(part.end for part in parts))
    names = " + ".join(part.service.name for part in parts)
    event.add(
        "summary",
        _("%(service)s at %(clinic)s %(location)s")
        % {"service": names, "clinic": settings.CLINIC_NAME, "location": lead.location.name},
    )
    event["location"] = vText(lead.location.address.replace("\n", ", "))
    tz = lead.location.tzinfo
    schedule = "\n".join(
        f"{part.start.astimezone(tz):%H:%M}-{part.end.astimezone(tz):%H:%M} {part.service.name}" for part in parts
    )
    event.add("description", schedule + "\n" + _("Manage or cancel: %(url)s") % {"url": manage_url(lead)})
    event.add("url", manage_url(lead))
    cal.add_component(event)
    return cal.to_ical()


def visit_confirmation_message(parts):
    """One email for a visit of several services (its appointments in order), to the lead's client."""
    with client_language(parts[0].client):
        return _visit_confirmation_message(parts)


def _visit_confirmation_message(parts):
    lead = parts[0]
    context = {
        "claim_url": claim_url(lead),
        "lead": lead,
        "parts": parts,
        "manage_url": manage_url(lead),
        "preferences_url": preferences_url(lead.client),
        "clinic_name": settings.CLINIC_NAME,
        "cutoff_hours": settings.BOOKING_CHANGE_CUTOFF_HOURS,
    }
    message = EmailMultiAlternatives(
        subject=_("Your visit at %(clinic)s %(location)s: %(services)s")
        % {
            "clinic": settings.CLINIC_NAME,
            "location": lead.location.name,
            "services": " + ".join(part.service.name for part in parts),
        },
        body=render_plain_text("appointments/email/visit_confirmation.txt", context),
        to=[lead.client.email],
    )
    message.attach_alternative(render_to_string("appointments/email/visit_confirmation.html", context), "text/html")
    message.attach("visit.ics", visit_ics(parts), "text/calendar; method=PUBLISH")
    return message


def change_message(appointment, *, change, parts=()):
    """The client's email when their appointment moved ("moved") or the clinic cancelled it ("cancelled")."""
    with client_language(appointment.client):
        return _change_message(appointment, change=change, parts=parts)


def _change_message(appointment, *, change, parts=()):
    context = {
        "appointment": appointment,
        "change": change,
        "parts": list(parts) if len(parts) > 1 else [],
        "manage_url": manage_url(appointment),
        "book_url": settings.SITE_URL + reverse("appointments:choose_service", args=[appointment.location.slug]),
        "preferences_url": preferences_url(appointment.client),
        "clinic_name": settings.CLINIC_NAME,
        "cutoff_hours": settings.BOOKING_CHANGE_CUTOFF_HOURS,
    }
    subject = (
        _("Your %(service)s appointment at %(clinic)s has moved")
        if change == "moved"
        else _("Your %(service)s appointment at %(clinic)s is cancelled")
    )
    message = EmailMultiAlternatives(
        subject=subject % {"service": appointment.service.name, "clinic": settings.CLINIC_NAME},
        body=render_plain_text("appointments/email/change.txt", context),
        to=[appointment.client.email],
    )
    if change == "moved":
        message.attach("appointment.ics", appointment_ics(appointment), "text/calendar; method=PUBLISH")
    return message
