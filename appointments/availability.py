"""Free slots: where a service fits a practitioner's hours, a free room or device, and nobody else's booking.

Reads everything it needs in a fixed number of queries (one per table, whatever
the number of days, appointments, rooms or devices) and does the calendar
arithmetic in memory. A time is free when a practitioner qualified for the
service at the location is free for their own duration of it (plus the
service's buffer) and, for every kind of room or device the service needs,
some unit at the location is free from the start until the end plus that
kind's clean-up time.

Times are handled as instants. A working span is turned into instants on its
own date in the location's zone, and candidate starts step through absolute
time from there, so DST days get exactly the hours that day has: no slot is
missing, repeated or shifted by the clock change.

Busy times are read and compared as whole microseconds since 1970 (UTC), not
datetimes: Django loads each PostgreSQL timestamptz through a pure-Python parser,
which was most of the time with thousands of appointments in the window, and the
arithmetic on integers is cheaper too. Only the slots found become datetimes.
"""

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, FilteredRelation, Func, Q
from django.utils import timezone

from . import slot_cache
from .models import (
    Appointment,
    AppointmentStatus,
    AssignedUnit,
    HeldUnit,
    LocationClosure,
    PractitionerService,
    ServiceRequirement,
    SlotHold,
    TimeOff,
    WorkingHours,
)


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware, UTC
    end: datetime  # the earliest end among its practitioners
    practitioner_ids: tuple[int, ...]
    # Aligned with practitioner_ids: each one's end (their own duration of the service).
    ends: tuple[datetime, ...] = ()

    def end_for(self, practitioner_id):
        if not self.ends:
            return self.end
        return self.ends[self.practitioner_ids.index(practitioner_id)]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def to_us(instant: datetime | timedelta) -> int:
    """An aware instant, or a timedelta, as whole microseconds (since 1970 for an instant); exact."""
    return (instant - EPOCH) // MICROSECOND if isinstance(instant, datetime) else instant // MICROSECOND


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class EpochMicroseconds(Func):
    """A datetime column read as whole microseconds since 1970 UTC (a plain integer, cheap to load)."""

    output_field = BigIntegerField()
    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) * 1000000 AS BIGINT)"
    # Stored as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]': the whole seconds (unixepoch, SQLite 3.38+),
    # then the microseconds if any.
    sqlite_template = (
        "(unixepoch(%(expressions)s) * 1000000 + CAST(substr(%(expressions)s || '.000000', 21, 6) AS INTEGER))"
    )

    @property
    def convert_value(self):
        return self._convert_value_noop  # already an int: no per-row converter call

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template=self.sqlite_template, **extra_context)

    @classmethod
    def plain_sql(cls, column: str) -> str:
        """The same expression for a plain SQL statement (column already quoted)."""
        template = cls.sqlite_template if connection.vendor == "sqlite" else cls.template
        return template % {"expressions": column}


def interval_rows(queryset, key, start="start", end="occupied_until"):
    """(key, start µs, end µs) per row of `queryset`."""
    return queryset.order_by().values_list(key, EpochMicroseconds(start), EpochMicroseconds(end))


def wall_to_instant(day, wall_time, tz):
    """The instant a location's wall clock shows `wall_time` on `day` (first one, if repeated)."""
    return datetime.combine(day, wall_time, tzinfo=tz).astimezone(UTC)


def local_day_bounds(day, tz):
    return wall_to_instant(day, time.min, tz), wall_to_instant(day + timedelta(days=1), time.min, tz)


def _merge(intervals):
    """Sorted, non-overlapping (starts, ends) lists from arbitrary intervals (touching ones join)."""
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


def practitioner_durations(*, location, service, practitioner_id=None):
    """{practitioner id: duration} of the active practitioners who may perform `service` at `location`.

    One query (or none: slot_cache.process_copy). A PractitionerService row for this location wins over the row
    without one (valid wherever the practitioner works and the service is offered); an empty duration is the
    service's own.
    """

    def read():
        rows = PractitionerService.objects.filter(
            Q(location=location) | Q(location__isnull=True),
            service=service,
            service__locations=location,
            practitioner__is_active=True,
            practitioner__locations=location,
        )
        return tuple(rows.values_list("practitioner_id", "location_id", "duration_minutes"))

    rows = slot_cache.process_copy(location_slug=location.slug, key=("durations", location.pk, service.pk), build=read)
    durations, specific = {}, set()
    for pid, location_id, minutes in rows:
        if pid in specific or (practitioner_id is not None and pid != practitioner_id):
            continue
        durations[pid] = timedelta(minutes=minutes) if minutes else service.duration
        if location_id is not None:
            specific.add(pid)
    return durations


def needed_units(*, location, service):
    """[(kind id, clean-up time, (unit ids))]: per kind of room or device `service` needs, the location's units.

    Only units in service count. One query (or none: slot_cache.process_copy). A kind the location has no
    unit of gives an empty tuple: the service cannot be booked there.
    """

    def read():
        rows = (
            ServiceRequirement.objects.filter(service=service)
            .annotate(
                here=FilteredRelation(
                    "resource_type__units",
                    condition=Q(resource_type__units__location=location, resource_type__units__is_active=True),
                )
            )
            .values_list("resource_type_id", "resource_type__cleanup_minutes", "here__id")
            .order_by("resource_type_id", "here__id")
        )
        kinds = {}
        for type_id, cleanup_minutes, unit_id in rows:
            _, _, units = kinds.setdefault(type_id, (type_id, timedelta(minutes=cleanup_minutes), []))
            if unit_id is not None:
                units.append(unit_id)
        return tuple((type_id, cleanup, tuple(units)) for type_id, cleanup, units in kinds.values())

    return list(
        slot_cache.process_copy(location_slug=location.slug, key=("units", location.pk, service.pk), build=read)
    )


def _working_spans(location, service):
    """{weekday: [(practitioner id, start time, end time)]} of everyone who may perform `service` at `location`."""

    def read():
        spans = {}
        rows = WorkingHours.objects.filter(
            location=location, practitioner_id__in=practitioner_durations(location=location, service=service)
        ).values_list("practitioner_id", "weekday", "start_time", "end_time")
        for pid, weekday, start_time, end_time in rows:
            spans.setdefault(weekday, []).append((pid, start_time, end_time))
        return spans

    return slot_cache.process_copy(location_slug=location.slug, key=("hours", location.pk, service.pk), build=read)


def _closed_days(location):
    def read():
        return frozenset(LocationClosure.objects.filter(location=location).values_list("date", flat=True))

    return slot_cache.process_copy(location_slug=location.slug, key=("closures", location.pk), build=read)


def unit_busy_times(*, unit_ids, range_start, range_end, exclude_appointment_id=None, using_hold_id=None, now=None):
    """{unit id: merged busy intervals, in µs}: non-cancelled appointments' units and unexpired held times' units.

    One query. using_hold_id: the held time a booking takes; its own units are free for it.
    """
    return busy_times(
        unit_ids=unit_ids,
        unit_range=(range_start, range_end),
        exclude_appointment_id=exclude_appointment_id,
        using_hold_id=using_hold_id,
        now=now,
    )[1]


def _q(name):
    return connection.ops.quote_name(name)


def _table(model):
    return _q(model._meta.db_table)


def _col(model, field):
    return _q(model._meta.get_field(field).column)


def _in(values):
    return ", ".join(["%s"] * len(values))


def busy_times(
    *,
    practitioner_ids=(),
    practitioner_range=None,
    unit_ids=(),
    unit_range=None,
    exclude_appointment_id=None,
    using_hold_id=None,
    now=None,
    exclude_appointment_ids=(),
):
    """({practitioner id: busy}, {unit id: busy}): merged busy intervals in µs, read in one plain SQL statement.

    A practitioner is busy during their time off, non-cancelled appointments and unexpired held times
    (SlotHold); a room or device during its non-cancelled appointments' holds (AssignedUnit) and unexpired
    held times' units (HeldUnit), each within its (start, end) range. exclude_appointment_id: an appointment
    being moved (its own times are free), or exclude_appointment_ids: a visit's parts being moved;
    using_hold_id: the held time a booking takes (free for it). The one reading of what is busy, for a single
    service's search and a visit's alike.

    Plain SQL because it runs for every page of free times and every booking (three times a booking flow):
    built through the ORM, compiling its four queries cost more than running them. A test checks it against
    the ORM's reading of the same rules.
    """
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(now or timezone.now())
    epoch = EpochMicroseconds.plain_sql
    parts, params = [], []
    excluded = [*exclude_appointment_ids, *([] if exclude_appointment_id is None else [exclude_appointment_id])]

    def part(kind, model, key, end, where, values):
        start_us, end_us = epoch("t." + _col(model, "start")), epoch("t." + _col(model, end))
        parts.append(f"SELECT {kind}, t.{_col(model, key)}, {start_us}, {end_us} FROM {_table(model)} t WHERE {where}")
        params.extend(values)

    if practitioner_ids:
        start, end = (adapt(value) for value in practitioner_range)
        pids = list(practitioner_ids)
        who = f"IN ({_in(pids)})"
        part(
            0,
            TimeOff,
            "practitioner",
            "end",
            f"t.{_col(TimeOff, 'practitioner')} {who} AND t.{_col(TimeOff, 'start')} < %s"
            f" AND t.{_col(TimeOff, 'end')} > %s",
            [*pids, end, start],
        )
        where = (
            f"t.{_col(Appointment, 'practitioner')} {who} AND t.{_col(Appointment, 'start')} < %s"
            f" AND t.{_col(Appointment, 'occupied_until')} > %s AND t.{_col(Appointment, 'status')} <> %s"
        )
        values = [*pids, end, start, AppointmentStatus.CANCELLED]
        if excluded:
            where += f" AND t.{_col(Appointment, 'id')} NOT IN ({_in(excluded)})"
            values.extend(excluded)
        part(0, Appointment, "practitioner", "occupied_until", where, values)
        where = (
            f"t.{_col(SlotHold, 'practitioner')} {who} AND t.{_col(SlotHold, 'start')} < %s"
            f" AND t.{_col(SlotHold, 'occupied_until')} > %s AND t.{_col(SlotHold, 'expires_at')} > %s"
        )
        values = [*pids, end, start, now]
        if using_hold_id is not None:
            where += f" AND t.{_col(SlotHold, 'id')} <> %s"
            values.append(using_hold_id)
        part(0, SlotHold, "practitioner", "occupied_until", where, values)
    if unit_ids:
        start, end = (adapt(value) for value in unit_range)
        uids = list(unit_ids)
        where = (
            f"t.{_col(AssignedUnit, 'unit')} IN ({_in(uids)}) AND t.{_col(AssignedUnit, 'start')} < %s"
            f" AND t.{_col(AssignedUnit, 'occupied_until')} > %s"
            f" AND NOT EXISTS (SELECT 1 FROM {_table(Appointment)} a WHERE a.{_col(Appointment, 'id')}"
            f" = t.{_col(AssignedUnit, 'appointment')} AND a.{_col(Appointment, 'status')} = %s)"
        )
        values = [*uids, end, start, AppointmentStatus.CANCELLED]
        if excluded:
            where += f" AND t.{_col(AssignedUnit, 'appointment')} NOT IN ({_in(excluded)})"
            values.extend(excluded)
        part(1, AssignedUnit, "unit", "occupied_until", where, values)
        where = (
            f"t.{_col(HeldUnit, 'unit')} IN ({_in(uids)}) AND t.{_col(HeldUnit, 'start')} < %s"
            f" AND t.{_col(HeldUnit, 'occupied_until')} > %s"
            f" AND EXISTS (SELECT 1 FROM {_table(SlotHold)} h WHERE h.{_col(SlotHold, 'id')}"
            f" = t.{_col(HeldUnit, 'hold')} AND h.{_col(SlotHold, 'expires_at')} > %s)"
        )
        values = [*uids, end, start, now]
        if using_hold_id is not None:
            where += f" AND t.{_col(HeldUnit, 'hold')} <> %s"
            values.append(using_hold_id)
        part(1, HeldUnit, "unit", "occupied_until", where, values)
    raw = ({pid: [] for pid in practitioner_ids}, {uid: [] for uid in unit_ids})
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for kind, key, start_us, end_us in cursor.fetchall():
                raw[kind][key].append((start_us, end_us))
    return tuple({key: _merge(intervals) for key, intervals in found.items()} for found in raw)


def free_unit(units, busy, start, end):
    """The first of `units` (in order) free over [start, end) (aware datetimes), or None."""
    return _free_unit(units, busy, to_us(start), to_us(end))


def _free_unit(units, busy, start, end):
    for uid in units:
        if _is_free(busy[uid], start, end):
            return uid
    return None


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
    (SlotHold, not yet expired) is busy, its practitioner and its rooms and devices
    (HeldUnit), except for the hold `using_hold_id`.
    """
    tz = location.tzinfo
    earliest, last_day = booking_window(now=now, tz=tz)
    end_date = min(end_date, last_day)
    if end_date < start_date:
        return []

    durations = practitioner_durations(location=location, service=service, practitioner_id=practitioner_id)
    practitioner_ids = list(durations)
    if not practitioner_ids or not location.is_active or not service.is_active:
        return []
    kinds = needed_units(location=location, service=service)
    if any(not units for _, _, units in kinds):
        return []  # a room or device this location lacks

    range_start = local_day_bounds(start_date, tz)[0]
    range_end = local_day_bounds(end_date, tz)[1]
    longest = max(durations.values())
    occupancy = longest + service.buffer_after

    spans = _working_spans(location, service)
    closed_days = _closed_days(location)

    busy, unit_busy = busy_times(
        practitioner_ids=practitioner_ids,
        practitioner_range=(range_start, range_end + occupancy),
        unit_ids=[uid for _, _, units in kinds for uid in units],
        unit_range=(range_start, range_end + longest + max((cleanup for _, cleanup, _ in kinds), default=timedelta())),
        exclude_appointment_id=exclude_appointment_id,
        using_hold_id=using_hold_id,
        now=now,
    )
    unit_kinds = [(to_us(cleanup), units) for _, cleanup, units in kinds]
    units_free = {}  # (start, duration): every needed kind has a unit free; shared by the practitioners

    def rooms_and_devices_free(start, duration):
        key = (start, duration)
        if key not in units_free:
            end = start + duration
            units_free[key] = all(
                _free_unit(units, unit_busy, start, end + cleanup) is not None for cleanup, units in unit_kinds
            )
        return units_free[key]

    instants = {}  # (day, wall time): µs; practitioners mostly share their hours

    def instant(day, wall_time):
        key = (day, wall_time)
        if key not in instants:
            instants[key] = to_us(wall_to_instant(day, wall_time, tz))
        return instants[key]

    grid = settings.BOOKING_SLOT_GRID_MINUTES
    step = to_us(timedelta(minutes=grid))
    earliest_us = to_us(earliest)
    buffer = to_us(service.buffer_after)
    lengths = {pid: to_us(duration) for pid, duration in durations.items()}
    free = {}  # start: {practitioner id: end}
    day = start_date
    while day <= end_date:
        if day not in closed_days:
            for pid, start_time, end_time in spans.get(day.weekday(), ()):
                if pid not in lengths:
                    continue  # another practitioner (only one was asked for)
                duration = lengths[pid]
                held = duration + buffer
                # Align the first start to the grid on the wall clock (9:10 -> 9:15).
                minutes = start_time.hour * 60 + start_time.minute + (1 if start_time.second else 0)
                aligned = -(-minutes // grid) * grid
                if aligned >= 24 * 60:
                    continue
                first = instant(day, time(aligned // 60, aligned % 60))
                last = instant(day, end_time) - duration  # the last start that ends within the hours
                if first < earliest_us:
                    first += -(-(earliest_us - first) // step) * step
                for candidate in _free_starts(busy[pid], first, last, step, held):
                    if not unit_kinds or rooms_and_devices_free(candidate, duration):
                        free.setdefault(candidate, {})[pid] = candidate + duration
        day += timedelta(days=1)

    slots = []
    for start, ends in sorted(free.items()):
        pids = tuple(sorted(ends))
        slots.append(
            Slot(
                start=from_us(start),
                end=from_us(min(ends.values())),
                practitioner_ids=pids,
                ends=tuple(from_us(ends[p]) for p in pids),
            )
        )
    return slots


def _free_starts(busy, first, last, step, held):
    """The starts first, first + step, ... up to last whose [start, start + held) misses every busy interval.

    A sweep through the gaps between the merged busy intervals: the time grows with the intervals
    and the starts found, not with every start times every interval.
    """
    starts, ends = busy
    k = bisect_right(ends, first)  # busy[:k] end by `first`; the gap before busy[k] holds it
    candidate = first
    while candidate <= last:
        stop = last if k == len(starts) else min(last, starts[k] - held)
        while candidate <= stop:
            yield candidate
            candidate += step
        if k == len(starts):
            return
        if candidate < ends[k]:  # starts up to the end of busy[k] would overlap it
            candidate += -(-(ends[k] - candidate) // step) * step
        k += 1


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
