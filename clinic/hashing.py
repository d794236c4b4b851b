"""Keyed one-way hashes of contact details, for suppression lists that outlive erasure."""

import hashlib
import hmac

from django.conf import settings


def contact_hash(value):
    """HMAC-SHA256 of a normalised email or E.164 phone number."""
    normalised = str(value or "").strip().lower()
    key = (settings.CONTACT_HASH_KEY or settings.SECRET_KEY).encode()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()
