"""Keyed one-way hashes of contact details, for suppression lists that outlive erasure."""

import hashlib
import hmac

from django.conf import settings


def normalise_email(value) -> str:
    """An email as the mail system reads it: lower case, the domain in its IDNA form.

    Django's check accepts a domain with zero-width or full-width characters
    ("a@exam\u200bple.com"), and mail to it reaches a@example.com (the domain
    goes through IDNA); as another string it would escape the opt-out list.
    """
    email = str(value or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or domain.isascii():
        return email
    try:
        return f"{local}@{domain.encode('idna').decode('idna').lower()}"
    except UnicodeError:
        return email


def contact_hash(value):
    """HMAC-SHA256 of a normalised email or E.164 phone number."""
    normalised = normalise_email(value)
    key = (settings.CONTACT_HASH_KEY or settings.SECRET_KEY).encode()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()
