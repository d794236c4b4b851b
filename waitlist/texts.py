"""The waitlist's texts, in the clinic's words, translated (gettext).

The offer is written in the waiting client's language (clinic.languages); the replies to YES
(SI) and NO are written in the language messaging.inbound activates for the reply.
"""

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from clinic.languages import client_language


def when(instant: datetime, location) -> str:  # type: ignore[no-untyped-def]
    """'Tue 3:15 PM' on the location's clock ('mar 3:15 PM')."""
    local = instant.astimezone(location.tzinfo)
    return f"{WEEKDAYS_ABBR[local.weekday()]} {local:%-I:%M %p}"


def names(services) -> str:  # type: ignore[no-untyped-def]
    """'HydraFacial', or a whole visit's services in order: 'Consultation then Neurotoxin'."""
    return (" " + _("then") + " ").join(service.name for service in services)


def _day(instant: datetime, location) -> str:  # type: ignore[no-untyped-def]
    """'Dec 1' ('1 dic')."""
    local = instant.astimezone(location.tzinfo)
    month = str(MONTHS_3[local.month])
    if translation.get_language() == "en":
        month = month.title()
    return _("%(month)s %(day)s") % {"month": month, "day": local.day}


def offer(*, opening, services, client=None) -> str:  # type: ignore[no-untyped-def]
    with client_language(client):
        what = names(services)
        if len(services) > 1:
            what = _("a visit of %(services)s") % {"services": what}
        return _(
            "%(clinic)s: a time opened up for %(service)s at %(location)s (%(day)s). "
            "Reply YES within %(minutes)s minutes to take %(at)s, or NO to pass. Reply STOP to opt out."
        ) % {
            "clinic": settings.CLINIC_NAME,
            "service": what,
            "location": opening.location.name,
            "day": _day(opening.start, opening.location),
            "minutes": settings.WAITLIST_OFFER_MINUTES,
            "at": when(opening.start, opening.location),
        }


def booked(offer) -> str:  # type: ignore[no-untyped-def]
    opening = offer.opening
    return _("You're booked: %(service)s on %(when)s at %(location)s. A confirmation email is on its way.") % {
        "service": names(offer.entry.visit_services()),
        "when": when(opening.start, opening.location),
        "location": opening.location.name,
    }


def already_booked(offer) -> str:  # type: ignore[no-untyped-def]
    opening = offer.opening
    return _("You're already booked for %(when)s. See you then!") % {"when": when(opening.start, opening.location)}


def taken(offer, *, next_time) -> str:  # type: ignore[no-untyped-def]
    opening = offer.opening
    text = _("Sorry, %(when)s has been taken.") % {"when": when(opening.start, opening.location)}
    if next_time is not None:
        return (
            text
            + " "
            + _("The next free time for %(service)s is %(when)s: book it at %(url)s/ or wait for our next text.")
            % {
                "service": names(offer.entry.visit_services()),
                "when": when(next_time, opening.location),
                "url": settings.SITE_URL,
            }
        )
    return text + " " + _("You're still on the waitlist; we'll text you when another time opens up.")


def book_online(offer) -> str:  # type: ignore[no-untyped-def]
    entry = offer.entry
    path = reverse("appointments:choose_time", args=[entry.location.slug, entry.service.slug])
    return _(
        "Sorry, %(service)s now needs a deposit or a card on file, which we cannot take by text, "
        "so %(when)s was not booked. Book it at %(url)s or call us."
    ) % {
        "service": names(entry.visit_services()),
        "when": when(offer.opening.start, offer.opening.location),
        "url": f"{settings.SITE_URL}{path}",
    }


def declined(offer) -> str:  # type: ignore[no-untyped-def]
    return _("No problem: we've passed that time on. You're still on the waitlist.")
