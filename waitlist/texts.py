"""The waitlist's texts, in the clinic's words."""

from datetime import datetime

from django.conf import settings
from django.urls import reverse


def when(instant: datetime, location) -> str:  # type: ignore[no-untyped-def]
    """'Tue 3:15 PM' on the location's clock."""
    return instant.astimezone(location.tzinfo).strftime("%a %-I:%M %p")


def offer(*, opening, service) -> str:  # type: ignore[no-untyped-def]
    at = when(opening.start, opening.location)
    day = opening.start.astimezone(opening.location.tzinfo).strftime("%b %-d")
    return (
        f"{settings.CLINIC_NAME}: a time opened up for {service.name} at {opening.location.name} "
        f"({day}). Reply YES within {settings.WAITLIST_OFFER_MINUTES} minutes to take {at}, "
        "or NO to pass. Reply STOP to opt out."
    )


def booked(offer) -> str:  # type: ignore[no-untyped-def]
    opening = offer.opening
    return (
        f"You're booked: {offer.entry.service.name} on {when(opening.start, opening.location)} "
        f"at {opening.location.name}. A confirmation email is on its way."
    )


def already_booked(offer) -> str:  # type: ignore[no-untyped-def]
    opening = offer.opening
    return f"You're already booked for {when(opening.start, opening.location)}. See you then!"


def taken(offer, *, next_time) -> str:  # type: ignore[no-untyped-def]
    opening = offer.opening
    text = f"Sorry, {when(opening.start, opening.location)} has been taken."
    if next_time is not None:
        return (
            f"{text} The next free time for {offer.entry.service.name} is "
            f"{when(next_time, opening.location)}: book it at {settings.SITE_URL}/ or wait for our next text."
        )
    return f"{text} You're still on the waitlist; we'll text you when another time opens up."


def book_online(offer) -> str:  # type: ignore[no-untyped-def]
    entry = offer.entry
    path = reverse("appointments:choose_time", args=[entry.location.slug, entry.service.slug])
    return (
        f"Sorry, {entry.service.name} now needs a deposit or a card on file, which we cannot take by text, "
        f"so {when(offer.opening.start, offer.opening.location)} was not booked. "
        f"Book it at {settings.SITE_URL}{path} or call us."
    )


def declined(offer) -> str:  # type: ignore[no-untyped-def]
    return "No problem: we've passed that time on. You're still on the waitlist."
