"""A short-lived cache of the rendered "choose a time" page body (a week of free times).

Rendering a week of ~150 time links costs more than finding them, and every
visitor of a location and service sees the same week; a hit costs no query.
Only pages without form errors are kept, so the keys are bounded by the real
locations, services, days and practitioners. Entries are keyed by an
availability version that any change to appointments, hours, time off,
closures, services or practitioners bumps (on commit), so a booked time
disappears at once; and by a minute (each page's own, so they do not all
expire together), so times that fall inside the minimum notice drop out
within a minute. Booking itself never trusts the
cache: the service re-checks the slot under a lock.

The cache is Django's default one (Redis in production, shared by all web
hosts). If it is unreachable, the page is computed as if nothing was cached.
"""

import hashlib
import logging

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

VERSION_KEY = "appointments:availability-version"
TTL_SECONDS = 60  # keys carry the minute anyway


def _version():
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY, 1)
    return version


def _bump():
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # no version yet (or evicted): any new value invalidates
            cache.set(VERSION_KEY, int(timezone.now().timestamp()), timeout=None)
    except Exception as exc:  # noqa: BLE001 - a cache outage must not fail a booking
        logger.warning("Availability cache not invalidated: %s", exc.__class__.__name__)


_last_seen_version = None


def _lookup(key_for):
    """(key, cached value or None) under the current version, in one round trip while it is unchanged.

    The version is read on every call (so invalidation is immediate), together with
    the entry for the version this process saw last; only after a change is a
    second read needed.
    """
    global _last_seen_version
    guess = _last_seen_version
    found = cache.get_many([VERSION_KEY, key_for(guess)]) if guess is not None else {}
    version = found.get(VERSION_KEY)
    if version is None:
        version = _version()
    _last_seen_version = version
    if version == guess:
        return key_for(version), found.get(key_for(version))
    return key_for(version), cache.get(key_for(version))


def availability_changed(**kwargs):
    """Signal receiver and plain function: forget cached weeks once the change commits."""
    transaction.on_commit(_bump)


def cached_page(*, parts, build):
    """The cached context for these key parts, else build() -> (context, cacheable), kept if cacheable."""
    try:
        raw = "\x1f".join(str(part) for part in parts)
        digest = hashlib.sha256(raw.encode()).hexdigest()[:32]  # visitor-supplied parts: fixed-size keys
        # Each page turns over at its own second of the minute, so they are not all rebuilt at once.
        minute = int((timezone.now().timestamp() + int(digest[:8], 16) % 60) // 60)
        key, hit = _lookup(lambda version: f"appointments:week:{version}:{minute}:{digest}")
    except Exception as exc:  # noqa: BLE001 - unreachable cache: compute the page
        logger.warning("Availability cache unavailable: %s", exc.__class__.__name__)
        return build()[0]
    if hit is not None:
        return hit
    context, cacheable = build()
    if cacheable:
        try:
            cache.set(key, context, TTL_SECONDS)
        except Exception as exc:  # noqa: BLE001
            logger.warning("Availability cache not written: %s", exc.__class__.__name__)
    return context
