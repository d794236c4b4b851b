"""The online booking form, as a client fills it in."""

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.urls import reverse

LA = ZoneInfo("America/Los_Angeles")
SUNDAY_EVENING = datetime(2026, 12, 6, 18, 0, tzinfo=LA)
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=LA)


def details_url(location, service):
    return reverse("appointments:details", args=[location.slug, service.slug])


def booking_form_url(location, service, start):
    """The details page for `start`, as the "choose a time" page links it."""
    return details_url(location, service) + "?" + urlencode({"start": start.isoformat()})


def booking_form(start=MONDAY_10, practitioner="any", **overrides):
    """The details form's fields, filled in; an override of None leaves the field out."""
    data = {
        "start": start.isoformat() if hasattr(start, "isoformat") else start,
        "practitioner": practitioner,
        "first_name": "Dana",
        "last_name": "Reyes",
        "email": "Dana.Reyes@Example.com",
        "mobile_phone": "(408) 555-0143",
        "is_adult": "on",
        "accept_privacy_policy": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_booking(client, location, service, start, **overrides):
    """Book `start` through the public details form."""
    return client.post(details_url(location, service), booking_form(start, **overrides))


# A client who asks for reminder texts: the tests that follow her texts through workers and outages book her.
ANA_WITH_REMINDERS = {
    "first_name": "Ana",
    "last_name": "Lopez",
    "email": "ana@example.com",
    "mobile_phone": "+14085550188",
    "sms_reminders": "on",
}
