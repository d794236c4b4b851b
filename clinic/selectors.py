"""Reads shared by the apps: which locations a staff member may see, phone look-ups."""

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User


def staff_location_ids(user: User | AnonymousUser) -> set[int] | None:
    """The location ids a staff user is limited to, or None for all locations.

    Deny by default: only superusers and profiles marked "All locations" get None;
    a staff user without a profile, or with a profile listing no locations, gets
    an empty set and so sees no location's records.
    """
    if user.is_superuser:
        return None
    profile = getattr(user, "staff_profile", None) if user.is_authenticated else None
    if profile is None:
        return set()
    if profile.all_locations:
        return None
    # Read once per request (the middleware, the admin's scoping and its pages all ask); a copy each time.
    cached = getattr(profile, "_location_ids", None)
    if cached is None:
        cached = profile._location_ids = frozenset(profile.locations.values_list("pk", flat=True))
    return set(cached)


def phone_search_term(term: str) -> str | None:
    """The E.164 form of a search term that is a phone number, else None."""
    digits = sum(ch.isdigit() for ch in term)
    if digits < 7 or any(ch.isalpha() for ch in term):
        return None
    try:
        number = phonenumbers.parse(term, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
