"""The waitlist's texts, in the clinic's words."""

from datetime import datetime

from django.conf import settings


def when(instant: datetime, location) -> str:  # type: ignore[no-untyped-def]
    """'Tue 3:15 PM' on the location's clock."""
    return instant.astimezone(location.tzinfo).strftime("%a %-I:%M %p")


def names(services) -> str:  # type: ignore[no-untyped-def]
    """'HydraFacial', or a whole visit's services in order: 'Consultation then Neurotoxin'."""
    return " then ".join(service.name for service in services)


def offer(*, opening, services) -> str:  # type: ignore[no-untyped-def]
    at = when(opening.start, opening.location)
    day = opening.start.astimezone(opening.location.tzinfo).strftime("%b %-d")
    what = f"a visit of {names(services)}" if len(services) > 1 else names(services)
    return (
        f"{settings.CLINIC_NAME}: a time opened up for {what} at {opening.location.name} "
        f"({day}). Reply YES within {settings.WAITLIST_OFFER_MINUTES} minutes to take {at}, "
        "or NO to pass. Reply STOP to opt out."
    )


def booked(offer) -> str:  # type: ignore[no-untyped-def]
    opening = offer.opening
    return (
        f"You're booked: {names(offer.entry.visit_services())} on {when(opening.start, opening.location)} "
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
            f"{text} The next free time for {names(offer.entry.visit_services())} is "
            f"{when(next_time, opening.location)}: book it at {settings.SITE_URL}/ or wait for our next text."
        )
    return f"{text} You're still on the waitlist; we'll text you when another time opens up."


def declined(offer) -> str:  # type: ignore[no-untyped-def]
    return "No problem: we've passed that time on. You're still on the waitlist."
