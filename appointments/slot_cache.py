"""A cache of the rendered "choose a time" page body (a week of free times).

Rendering a week of ~150 time links costs more than finding them, and every
visitor of a location and service sees the same week; a hit costs no query.
Only pages without form errors are kept, so the keys are bounded by the real
locations, services, days and practitioners, and each page has one key: a
rebuilt page replaces the old one, so memory stays bounded however often
bookings change the times.

An entry holds the availability version it was built under. Any change to
appointments, hours, time off, closures, services or practitioners bumps the
version (on commit), so a booked time disappears at once. The passing of time
changes a week only in two ways, and an entry is valid only until the first
of them: its first time falls inside the minimum notice, or the location's
day ends (the horizon moves on). So a week far ahead keeps for the longest
lifetime (about ten minutes, spread per page so pages are not all rebuilt at
once), while today's week is rebuilt the moment its first time stops being
bookable. Booking itself never trusts the cache: the service re-checks the
slot under a lock.

The cache is Django's default one (Redis in production, shared by all web
hosts). If it is unreachable, the page is computed as if nothing was cached.
Each web process also keeps the pages it served last (at most LOCAL_PAGES)
and reads the shared version at most once a second, so most hits cost no
round trip at all; a time booked through another process therefore leaves
this process's pages within a second (through this process: at once).
"""

import hashlib
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

VERSION_KEY = "appointments:availability-version"
LONGEST_SECONDS = 600  # bounds staleness from changes that send no signal (a bulk update())
SPREAD_SECONDS = 120  # up to this much shorter per page, so a cold start is not rebuilt all at once
LOCAL_PAGES = 1000  # per process: about 30 MB of rendered weeks
VERSION_RECHECK_SECONDS = 1.0


class _ProcessCopies:
    """This process's copies of pages and of the version (threads share them, so under a lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        self.pages = OrderedDict()
        self.version, self.version_read_at, self.bumps = None, 0.0, 0


_copies = _ProcessCopies()


def forget_process_copies():
    """Drop this process's copies (the tests do, along with clearing the shared cache)."""
    with _copies.lock:
        _copies.clear()


def _clock():
    return time.monotonic()


def _new_version():
    # Not a value used before: copies made under an evicted or flushed version must not match it.
    return secrets.randbits(62)


def _version():
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, _new_version(), timeout=None)
        version = cache.get(VERSION_KEY)
    return version


def _forget_version():
    with _copies.lock:
        _copies.version = None
        _copies.bumps += 1


def _bump():
    _forget_version()  # this process sees its own change at once ...
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # no version yet (or evicted)
            cache.set(VERSION_KEY, _new_version(), timeout=None)
    except Exception as exc:  # noqa: BLE001 - a cache outage must not fail a booking
        logger.warning("Availability cache not invalidated: %s", exc.__class__.__name__)
        with _copies.lock:  # the shared version could not move: at least this process drops its copies
            _copies.pages.clear()
    finally:
        _forget_version()  # ... including a version another thread read before the incr landed


def availability_changed(**kwargs):
    """Signal receiver and plain function: forget cached weeks once the change commits."""
    transaction.on_commit(_bump)


def cached_page(*, parts, build):
    """The cached context for these key parts, else build() -> (context, valid_until), kept until then.

    valid_until is the instant the page stops being true without any change
    to the data, or None when it must not be kept (a form with errors).
    """
    raw = "\x1f".join(str(part) for part in parts)
    digest = hashlib.sha256(raw.encode()).hexdigest()[:32]  # visitor-supplied parts: fixed-size keys
    key = f"appointments:week:{digest}"
    now = timezone.now().timestamp()
    with _copies.lock:
        version = _copies.version
        if version is not None and _clock() - _copies.version_read_at >= VERSION_RECHECK_SECONDS:
            version = None
        entry = _copies.pages.get(key)
        if version is not None and _holds(entry, version, now):
            _copies.pages.move_to_end(key)
            return entry[2]
        bumps = _copies.bumps
    read_at = _clock()
    try:
        found = cache.get_many([VERSION_KEY, key])  # one round trip
        version = found.get(VERSION_KEY)
        if version is None:
            version = _version()
    except Exception as exc:  # noqa: BLE001 - unreachable cache: compute the page
        logger.warning("Availability cache unavailable: %s", exc.__class__.__name__)
        return build()[0]
    if version is None:  # evicted again at once: nothing to key a copy by
        return build()[0]
    with _copies.lock:
        # Not if a change committed here meanwhile, nor over a newer read by another thread.
        if _copies.bumps == bumps and read_at >= _copies.version_read_at:
            _copies.version, _copies.version_read_at = version, read_at
    entry = found.get(key)
    if not _holds(entry, version, now):
        context, valid_until = build()
        if valid_until is None:
            return context
        expires = min(valid_until.timestamp(), now + LONGEST_SECONDS - int(digest[:8], 16) % SPREAD_SECONDS)
        if expires - now < 1:
            return context
        entry = (version, expires, context)
        try:
            cache.set(key, entry, math.ceil(expires - now))
        except Exception as exc:  # noqa: BLE001
            logger.warning("Availability cache not written: %s", exc.__class__.__name__)
    with _copies.lock:
        _copies.pages[key] = entry
        _copies.pages.move_to_end(key)
        while len(_copies.pages) > LOCAL_PAGES:
            _copies.pages.popitem(last=False)
    return entry[2]


def _holds(entry, version, now):
    return entry is not None and entry[0] == version and now < entry[1]
