"""A cache of the rendered "choose a time" page body (a week of free times).

Rendering a week of ~150 time links costs more than finding them, and every
visitor of a location and service sees the same week; a hit costs no query.
Only pages without form errors are kept, so the keys are bounded by the real
locations, services, days and practitioners, and each page has one key: a
rebuilt page replaces the old one, so memory stays bounded however often
bookings change the times.

What a change invalidates: each location's days have a version in the shared
cache, and a page holds the versions of the days it may show (its date's week,
with a day's margin either side for the location's time zone), plus one
version for everything else. An appointment booked, moved, cancelled or
deleted moves the versions of its own location's days (on commit), so its
time disappears or comes back at once on the pages showing those days and no
other page is rebuilt. A change to hours, time off, closures, services,
practitioners or locations is rare and moves the version for everything. A
missing version is created new (a random value, never one used before), so a
flushed or evicted version cannot bring an old page back.

The passing of time changes a week only in two ways, and an entry is valid
only until the first of them: its first time falls inside the minimum notice,
or the location's day ends (the horizon moves on). So a week far ahead keeps
for the longest lifetime (about ten minutes, spread per page so pages are not
all rebuilt at once), while today's week is rebuilt the moment its first time
stops being bookable. Booking itself never trusts the cache: the service
re-checks the slot under a lock.

Each language has its own copies (the active language is part of the key).

The cache is Django's default one (Redis through django-redis in production,
shared by all web hosts). If it is unreachable, the page is computed as if
nothing was cached. Each web process also keeps the pages it served last
(cachetools.LRUCache, at most LOCAL_PAGES) and reads a location's versions
(all its days, in one round trip) at most once a second (cachetools.TTLCache),
so most hits cost no round trip at all; a time booked through another process
therefore leaves this process's pages within a second (through this process:
at once).
"""

import hashlib
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from cachetools import LRUCache, TTLCache
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone, translation

logger = logging.getLogger(__name__)

EVERYTHING_KEY = "appointments:availability:all"
LONGEST_SECONDS = 600  # bounds staleness from changes that send no signal (a bulk update())
SPREAD_SECONDS = 120  # up to this much shorter per page, so a cold start is not rebuilt all at once
LOCAL_PAGES = 1000  # per process: about 30 MB of rendered weeks
VERSION_RECHECK_SECONDS = 1.0
DAY_VERSION_KEPT_DAYS = 2  # a day's version outlives the day by this much (no page shows a past day)


def _clock() -> float:
    return time.monotonic()


class _ProcessCopies:
    """This process's copies of pages and of versions (threads share them, so under a lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pages: LRUCache = LRUCache(maxsize=LOCAL_PAGES)
        # Per location: its versions as read at most VERSION_RECHECK_SECONDS ago.
        self.versions: TTLCache = TTLCache(maxsize=10_000, ttl=VERSION_RECHECK_SECONDS, timer=lambda: _clock())
        # Rows that change only with the version for everything (a location, its services, hours, ...): process_copy.
        self.setup: TTLCache = TTLCache(maxsize=10_000, ttl=LONGEST_SECONDS, timer=lambda: _clock())
        self.changes = 0  # moved by every change made here: a read begun before it is not kept


_copies = _ProcessCopies()


def forget_process_copies() -> None:
    """Drop this process's copies (the tests do, along with clearing the shared cache)."""
    global _copies
    _copies = _ProcessCopies()


def day_key(location_slug: str, day: date) -> str:
    return f"appointments:availability:{location_slug}:{day.isoformat()}"


def _new_version() -> int:
    # Not a value used before: copies made under an evicted or flushed version must not match it.
    return secrets.randbits(62)


def _version_timeout(key: str) -> int | None:
    if key == EVERYTHING_KEY:
        return None
    day = date.fromisoformat(key.rsplit(":", 1)[1])
    days_left = max((day - timezone.now().date()).days, 0) + DAY_VERSION_KEPT_DAYS
    return days_left * 86400


def _forget_setup(copies: _ProcessCopies) -> None:
    with copies.lock:
        copies.changes += 1
        copies.setup.clear()


def _take(copies: _ProcessCopies, moved: dict[str, int]) -> None:
    """This process's copies of the versions take the moved ones (kept, not dropped: reading a location's
    versions again would cost a round trip for every page after every booking)."""
    with copies.lock:
        copies.changes += 1
        for known in copies.versions.values():
            for key in moved.keys() & known.keys():
                known[key] = moved[key]


def _move(keys: Sequence[str]) -> None:
    copies = _copies
    if EVERYTHING_KEY in keys:
        _forget_setup(copies)
    moved = {key: _new_version() for key in keys}
    _take(copies, moved)  # this process sees its own change at once ...
    try:  # one round trip; a day's version lives as long as the latest day's (a day at most longer)
        timeouts = [_version_timeout(key) for key in keys]
        timeout = None if None in timeouts else max(timeouts)
        cache.set_many(moved, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - a cache outage must not fail a booking
        logger.warning("Availability cache not invalidated: %s", exc.__class__.__name__)
        with copies.lock:  # the shared versions could not move: at least this process drops its copies
            copies.pages.clear()
            copies.versions.clear()
    finally:
        _take(copies, moved)  # ... including versions another thread read before the set landed


def _appointment_day_keys(appointment: Any, tz: Any, location_slug: str) -> set[str]:
    """Every local day the appointment's time touches, and the day before (a late slot can run into it)."""
    first = appointment.start.astimezone(tz).date() - timedelta(days=1)
    last = (appointment.occupied_until or appointment.end or appointment.start).astimezone(tz).date()
    return {day_key(location_slug, first + timedelta(days=n)) for n in range((last - first).days + 1)}


def _keys_for(sender: Any, instance: Any) -> set[str]:
    from .models import Appointment

    if sender is Appointment and instance is not None and instance.start is not None:
        location = instance.location
        keys = _appointment_day_keys(instance, location.tzinfo, location.slug)
        before = getattr(instance, "_times_before_save", None)
        if before is not None:
            old_location, old_start, old_until = before
            moved = Appointment(start=old_start, occupied_until=old_until)
            keys |= _appointment_day_keys(moved, old_location.tzinfo, old_location.slug)
        return keys
    return {EVERYTHING_KEY}


_TIME_FIELDS = {"start", "end", "occupied_until", "location", "location_id"}


def remember_times_before_save(sender: Any, instance: Any, update_fields: Iterable[str] | None = None, **kwargs: Any):
    """pre_save of an existing appointment whose time or place may change: remember where it was."""
    if instance.pk is None or (update_fields is not None and not _TIME_FIELDS & set(update_fields)):
        instance._times_before_save = None
        return
    old = sender.objects.filter(pk=instance.pk).select_related("location").first()
    instance._times_before_save = None if old is None else (old.location, old.start, old.occupied_until)


def availability_changed(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    """Signal receiver and plain function: forget the cached weeks a change touches once it commits.

    An appointment: the pages showing its days at its location. Anything else
    (or called without one): every page, and this process's copies of the rows
    process_copy keeps, at once as well (a read later in the same transaction
    must see the change).
    """
    keys = sorted(_keys_for(sender, instance))
    if EVERYTHING_KEY in keys:
        _forget_setup(_copies)
    transaction.on_commit(partial(_move, keys))


def _week_keys(location_slug: str, day: date) -> list[str]:
    """The versions a page asked for this day depends on: everything's, and its location's days [day - 1, day + 8].

    The week shown starts between day - 1 and day + 2: the location's today
    may be a day either side of the server's, and a date before it (or past
    the horizon) shows the week from there.
    """
    return [EVERYTHING_KEY, *(day_key(location_slug, day + timedelta(days=n)) for n in range(-1, 9))]


def _location_keys(location_slug: str) -> list[str]:
    """Everything's version and every day's of the location that a page may depend on, read together."""
    first = timezone.now().date() - timedelta(days=2)
    days = settings.BOOKING_HORIZON_DAYS + 12
    return [EVERYTHING_KEY, *(day_key(location_slug, first + timedelta(days=n)) for n in range(days))]


def _location_versions(location_slug: str) -> dict[str, Any]:
    """The location's versions, read from the shared cache at most once a second per process (one round trip)."""
    copies = _copies
    with copies.lock:
        known = copies.versions.get(location_slug)
        changes = copies.changes
    if known is not None:
        return known
    keys = _location_keys(location_slug)
    found = cache.get_many(keys)
    missing = [key for key in keys if found.get(key) is None]
    if missing:  # never read or evicted: a new value, unless another process set one meanwhile
        for key in missing:
            cache.add(key, _new_version(), timeout=_version_timeout(key))
        found.update(cache.get_many(missing))
    with copies.lock:
        if copies.changes == changes:  # not over a change made here meanwhile
            copies.versions[location_slug] = found
    return found


def cached_page(
    *,
    parts: Iterable[Any],
    location_slug: str,
    day: date,
    build: Callable[[], tuple[dict[str, Any], datetime | None]],
) -> dict[str, Any]:
    """The cached context for these key parts, else build() -> (context, valid_until), kept until then.

    day is the date asked for (or the server's today); valid_until is the
    instant the page stops being true without any change to the data, or
    None when it must not be kept (a form with errors).
    """
    # The page is rendered in the visitor's language: each language has its own copy.
    raw = "\x1f".join(str(part) for part in (translation.get_language(), *parts))
    digest = hashlib.sha256(raw.encode()).hexdigest()[:32]  # visitor-supplied parts: fixed-size keys
    key = f"appointments:week:{digest}"
    now = timezone.now().timestamp()
    copies = _copies
    with copies.lock:
        entry = copies.pages.get(key)
        changes = copies.changes
    try:
        known = _location_versions(location_slug)
        versions = tuple(known.get(k) for k in _week_keys(location_slug, day))
        if None in versions:  # evicted again at once: nothing to key a copy by
            return build()[0]
        if _holds(entry, versions, now):
            return entry[2]
        entry = cache.get(key)
    except Exception as exc:  # noqa: BLE001 - unreachable cache: compute the page
        logger.warning("Availability cache unavailable: %s", exc.__class__.__name__)
        return build()[0]
    if not _holds(entry, versions, now):
        context, valid_until = build()
        if valid_until is None:
            return context
        expires = min(valid_until.timestamp(), now + LONGEST_SECONDS - int(digest[:8], 16) % SPREAD_SECONDS)
        if expires - now < 1:
            return context
        entry = (versions, expires, context)
        try:
            cache.set(key, entry, math.ceil(expires - now))
        except Exception as exc:  # noqa: BLE001
            logger.warning("Availability cache not written: %s", exc.__class__.__name__)
    with copies.lock:
        if copies.changes == changes:  # not if a change committed here meanwhile
            copies.pages[key] = entry
    return entry[2]


def _holds(entry: Any, versions: tuple[Any, ...], now: float) -> bool:
    return entry is not None and entry[0] == versions and now < entry[1]


def process_copy(*, location_slug: str, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """build()'s result (rows that change only with the version for everything), from this process's copy.

    For what every booking page and booking reads again and again: a location and
    service, who may perform the service there and for how long, the rooms and
    devices it needs, working hours, closures. A change to any of them moves the
    version for everything (availability_changed), so a copy holds until then:
    at once in this process, within VERSION_RECHECK_SECONDS in the others, and
    LONGEST_SECONDS at most (a bulk update() sends no signal). Busy times are
    never kept here. Callers must not change what they get (threads share it).
    With the shared cache unreachable, build() runs every time.
    """
    copies = _copies
    with copies.lock:
        entry = copies.setup.get(key)
        changes = copies.changes
    try:
        version = _location_versions(location_slug).get(EVERYTHING_KEY)
    except Exception as exc:  # noqa: BLE001 - unreachable cache: read the rows
        logger.warning("Availability cache unavailable: %s", exc.__class__.__name__)
        return build()
    if version is None:
        return build()
    if entry is not None and entry[0] == version:
        return entry[1]
    value = build()
    with copies.lock:
        if copies.changes == changes:  # not over a change made here meanwhile
            copies.setup[key] = (version, value)
    return value
