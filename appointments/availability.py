"""Free slots: where a service fits a practitioner's hours and nobody else's booking.

Reads everything it needs in a fixed number of queries (one per table, whatever
the number of days or appointments) and does the calendar arithmetic in memory.

Times are handled as aware instants. A working span is turned into instants on
its own date in the location's zone, and candidate starts step through absolute
time from there, so DST days get exactly the hours that day has: no slot is
missing, repeated or shifted by the clock change.
"""

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from .models import Appointment, AppointmentStatus, LocationClosure, Practitioner, SlotHold, TimeOff, WorkingHours


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware, UTC
    end: datetime
    practitioner_ids: tuple[int, ...]


def wall_to_instant(day, wall_time, tz):
    """The instant a location's wall clock shows `wall_time` on `day` (first one, if repeated)."""
    return datetime.combine(day, wall_time, tzinfo=tz).astimezone(UTC)


def local_day_bounds(day, tz):
    return wall_to_instant(day, time.min, tz), wall_to_instant(day + timedelta(days=1), time.min, tz)


def _merge(intervals):
    """Sorted, non-overlapping (starts, ends) lists from arbitrary intervals."""
    starts, ends = [], []
    for start, end in sorted(intervals):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _is_free(busy, start, end):
    starts, ends = busy
    i = bisect_left(starts, end)  # intervals that start before `end`
    return i == 0 or ends[i - 1] <= start


def booking_window(*, now=None, tz):
    """Earliest bookable instant and last bookable local date under the notice and horizon rules."""
    now = now or timezone.now()
    earliest = now + timedelta(minutes=settings.BOOKING_MIN_NOTICE_MINUTES)
    last_day = now.astimezone(tz).date() + timedelta(days=settings.BOOKING_HORIZON_DAYS)
    return earliest, last_day


def find_free_slots(
    *,
    location,
    service,
    start_date: date,
    end_date: date,
    practitioner_id=None,
    exclude_appointment_id=None,
    now=None,
    using_hold_id=None,
):
    """Free slots for `service` at `location` on local dates start_date..end_date inclusive.

    Each slot lists the practitioners free for it; with `practitioner_id` only
    that one is considered. The notice and horizon rules apply. A held time
    (SlotHold, not yet expired) is busy, except for the hold `using_hold_id`.
    """
    tz = location.tzinfo
    earliest, last_day = booking_window(now=now, tz=tz)
    end_date = min(end_date, last_day)
    if end_date < start_date:
        return []

    practitioners = Practitioner.objects.filter(
        is_active=True, locations=location, services=service, services__locations=location
    )
    if practitioner_id is not None:
        practitioners = practitioners.filter(pk=practitioner_id)
    practitioner_ids = list(practitioners.values_list("pk", flat=True).distinct())
    if not practitioner_ids or not location.is_active or not service.is_active:
        return []

    range_start = local_day_bounds(start_date, tz)[0]
    range_end = local_day_bounds(end_date, tz)[1]
    occupancy = service.duration + service.buffer_after

    spans = {}
    for pid, weekday, start_time, end_time in WorkingHours.objects.filter(
        location=location, practitioner_id__in=practitioner_ids
    ).values_list("practitioner_id", "weekday", "start_time", "end_time"):
        spans.setdefault(weekday, []).append((pid, start_time, end_time))

    closed_days = set(
        LocationClosure.objects.filter(location=location, date__range=(start_date, end_date)).values_list(
            "date", flat=True
        )
    )

    busy_raw = {pid: [] for pid in practitioner_ids}
    for pid, start, end in TimeOff.objects.filter(
        practitioner_id__in=practitioner_ids, start__lt=range_end + occupancy, end__gt=range_start
    ).values_list("practitioner_id", "start", "end"):
        busy_raw[pid].append((start, end))
    appointments = Appointment.objects.filter(
        practitioner_id__in=practitioner_ids, start__lt=range_end + occupancy, occupied_until__gt=range_start
    ).exclude(status=AppointmentStatus.CANCELLED)
    if exclude_appointment_id is not None:
        appointments = appointments.exclude(pk=exclude_appointment_id)
    for pid, start, end in appointments.values_list("practitioner_id", "start", "occupied_until"):
        busy_raw[pid].append((start, end))
    holds = SlotHold.objects.filter(
        practitioner_id__in=practitioner_ids,
        start__lt=range_end + occupancy,
        occupied_until__gt=range_start,
        expires_at__gt=now or timezone.now(),
    )
    if using_hold_id is not None:
        holds = holds.exclude(pk=using_hold_id)
    for pid, start, end in holds.values_list("practitioner_id", "start", "occupied_until"):
        busy_raw[pid].append((start, end))
    busy = {pid: _merge(intervals) for pid, intervals in busy_raw.items()}

    grid = settings.BOOKING_SLOT_GRID_MINUTES
    step = timedelta(minutes=grid)
    free = {}
    day = start_date
    while day <= end_date:
        if day not in closed_days:
            for pid, start_time, end_time in spans.get(day.weekday(), ()):
                # Align the first start to the grid on the wall clock (9:10 -> 9:15).
                minutes = start_time.hour * 60 + start_time.minute + (1 if start_time.second else 0)
                aligned = -(-minutes // grid) * grid
                if aligned >= 24 * 60:
                    continue
                first = time(aligned // 60, aligned % 60)
                candidate = wall_to_instant(day, first, tz)
                span_end = wall_to_instant(day, end_time, tz)
                while candidate + service.duration <= span_end:
                    if candidate >= earliest and _is_free(busy[pid], candidate, candidate + occupancy):
                        free.setdefault(candidate, set()).add(pid)
                    candidate += step
        day += timedelta(days=1)

    return [
        Slot(start=start, end=start + service.duration, practitioner_ids=tuple(sorted(pids)))
        for start, pids in sorted(free.items())
    ]


def nearest_free_slots(*, location, service, around, practitioner_id=None, count=5, now=None):
    """The free slots closest in time to `around` (for 'that time was just taken')."""
    tz = location.tzinfo
    day = around.astimezone(tz).date()
    slots = find_free_slots(
        location=location,
        service=service,
        start_date=day - timedelta(days=3),
        end_date=day + timedelta(days=7),
        practitioner_id=practitioner_id,
        now=now,
    )
    slots.sort(key=lambda s: abs((s.start - around).total_seconds()))
    return sorted(slots[:count], key=lambda s: s.start)
