"""Reads for the front desk's inbox: what is unread, and each thread's client and next visit."""

from django.core.cache import cache
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import ACTIVE_STATUSES
from clinic.admin_scoping import scoped
from clinic.selectors import staff_location_ids

from .models import Direction, InboundMessage


def inbox(user) -> QuerySet:
    """Texts from clients that no keyword handled, at the locations this staff user works at."""
    return scoped(user, InboundMessage.objects.filter(direction=Direction.INBOUND, keyword="none"))


def unread_inbox_count(user) -> int:
    return inbox(user).filter(read_at__isnull=True).count()


# The admin menu shows the count on every page: kept in the cache (no query per page), per set of
# locations, until a text arrives or is read (inbox_changed) or a minute passes (erasure, retention).
_GENERATION_KEY = "inbox-unread:generation"
UNREAD_CACHE_SECONDS = 60


def inbox_changed() -> None:
    """Call when a text arrives or is read: every cached unread count is forgotten."""
    try:
        cache.incr(_GENERATION_KEY)
    except ValueError:  # not in the cache yet
        cache.set(_GENERATION_KEY, 1, None)


def cached_unread_inbox_count(user) -> int:
    ids = staff_location_ids(user)
    scope = "all" if ids is None else ",".join(map(str, sorted(ids))) or "none"
    generation = cache.get_or_set(_GENERATION_KEY, 0, None)
    key = f"inbox-unread:{generation}:{scope}"
    count = cache.get(key)
    if count is None:
        count = unread_inbox_count(user)
        cache.set(key, count, UNREAD_CACHE_SECONDS)
    return count


def with_next_appointment(queryset: QuerySet, *, user, now=None) -> QuerySet:
    """Annotate each message with its client's next active appointment (start, service, location zone)
    at the locations this staff user works at: another location's visits are not theirs to see."""
    upcoming = Appointment.objects.filter(
        client=OuterRef("client"), start__gt=now or timezone.now(), status__in=ACTIVE_STATUSES
    )
    ids = staff_location_ids(user)
    if ids is not None:
        upcoming = upcoming.filter(location__in=ids)
    upcoming = upcoming.order_by("start")
    return queryset.annotate(
        next_start=Subquery(upcoming.values("start")[:1]),
        next_service=Subquery(upcoming.values("service__name")[:1]),
        next_timezone=Subquery(upcoming.values("location__timezone")[:1]),
    )
