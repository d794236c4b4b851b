"""Reads shared by the apps: which locations a staff member may see, phone look-ups."""

from typing import TYPE_CHECKING

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from .models import Client


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


def clients_matching(queryset: "QuerySet[Client]", term: str, *, limit: int = 25) -> "list[Client]":
    """The clients of `queryset` (already scoped to the staff member's locations) a search term finds, as the
    client list's search does: a phone number exactly, else every word in a name or the email; erased ones not."""
    from django.db.models import Q

    term = term.strip()
    if not term:
        return []
    queryset = queryset.filter(erased_at__isnull=True)
    phone = phone_search_term(term)
    if phone:
        queryset = queryset.filter(mobile_phone=phone)
    else:
        for word in term.split()[:5]:
            queryset = queryset.filter(
                Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
            )
    return list(queryset.order_by("last_name", "first_name", "pk")[:limit])
