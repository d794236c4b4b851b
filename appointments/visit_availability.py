"""Free times for a visit of several services back to back, at one location.

A visit's services follow one another in the order given: each starts when
the one before ends plus that service's clean-up time (the practitioner's
buffer), so the same practitioner can do them all and a different one may take
over. A start is free when, for every service in turn, a practitioner
qualified for it there is working and free for their own duration of it (plus
its buffer), and every room or device it needs has a unit free until its end
plus that kind's clean-up time, counting the visit's own earlier services.

Reads everything in a fixed number of queries, whatever the number of services,
days, practitioners or appointments, and searches in memory: per candidate
start, a depth-first search over the qualified practitioners of each service
(in id order), first fit wins. The units are chosen as the booking service
assigns them (the first free unit of each kind, by id), so a plan found here is
the plan booked. Instants are whole microseconds (as in availability.py, read as
integers) until a plan found becomes VisitParts.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import FilteredRelation, Q
from django.utils import timezone

from .availability import (
    _is_free,
    booking_window,
    busy_times,
    from_us,
    local_day_bounds,
    to_us,
    wall_to_instant,
)
from .models import (
    LocationClosure,
    PractitionerService,
    Service,
    ServiceRequirement,
    WorkingHours,
)

if TYPE_CHECKING:
    from clinic.models import Location

# At most this many services in one visit (a form cannot ask for an endless chain).
MAX_VISIT_SERVICES = 4


@dataclass(frozen=True)
class VisitPart:
    service_id: int
    practitioner_id: int
    start: datetime
    end: datetime
    occupied_until: datetime  # end + the service's buffer: when the next service starts
    unit_ids: tuple[int, ...]


@dataclass(frozen=True)
class VisitSlot:
    parts: tuple[VisitPart, ...]

    @property
    def start(self) -> datetime:
        return self.parts[0].start

    @property
    def end(self) -> datetime:
        return self.parts[-1].end


class _Plan:
    """What the search needs, read once."""

    def __init__(self, *, location, services, practitioner_ids, start_date, end_date, exclude_ids, now):
        self.location = location
        self.services = services
        self.tz = location.tzinfo
        service_ids = [s.pk for s in services]
        # {service id: {practitioner id: duration in µs}} (a row for this location wins over the one without).
        durations: dict[int, dict[int, int]] = {pk: {} for pk in service_ids}
        specific: set[tuple[int, int]] = set()
        by_id = {s.pk: s for s in services}
        rows = PractitionerService.objects.filter(
            Q(location=location) | Q(location__isnull=True),
            service_id__in=service_ids,
            service__locations=location,
            service__is_active=True,
            practitioner__is_active=True,
            practitioner__locations=location,
        ).values_list("service_id", "practitioner_id", "location_id", "duration_minutes")
        for sid, pid, location_id, minutes in rows:
            if (sid, pid) in specific:
                continue
            durations[sid][pid] = to_us(timedelta(minutes=minutes) if minutes else by_id[sid].duration)
            if location_id is not None:
                specific.add((sid, pid))
        # Candidates per position in the visit (a chosen practitioner, or any qualified one), by id.
        self.candidates = []
        for service, chosen in zip(services, practitioner_ids, strict=True):
            qualified = durations[service.pk]
            pids = sorted(qualified) if chosen is None else [chosen] if chosen in qualified else []
            self.candidates.append([(pid, qualified[pid]) for pid in pids])
        self.durations = durations

        # [(clean-up µs, [unit ids])] per service: a kind the location lacks leaves an empty unit list.
        kinds: dict[int, dict[int, tuple[int, list[int]]]] = {pk: {} for pk in service_ids}
        for sid, type_id, cleanup, unit_id in (
            ServiceRequirement.objects.filter(service_id__in=service_ids)
            .annotate(
                here=FilteredRelation(
                    "resource_type__units",
                    condition=Q(resource_type__units__location=location, resource_type__units__is_active=True),
                )
            )
            .values_list("service_id", "resource_type_id", "resource_type__cleanup_minutes", "here__id")
            .order_by("service_id", "resource_type_id", "here__id")
        ):
            _, units = kinds[sid].setdefault(type_id, (to_us(timedelta(minutes=cleanup)), []))
            if unit_id is not None:
                units.append(unit_id)
        self.kinds = {sid: list(per_kind.values()) for sid, per_kind in kinds.items()}

        all_pids = sorted({pid for options in self.candidates for pid, _ in options})
        self.range_start = local_day_bounds(start_date, self.tz)[0]
        self.range_end = local_day_bounds(end_date, self.tz)[1]
        # A visit that starts on the last day may run past its midnight.
        reach = self.range_end + timedelta(days=1)
        self.spans: dict[tuple[int, int], list[tuple[time, time]]] = {}
        for pid, weekday, start_time, end_time in WorkingHours.objects.filter(
            location=location, practitioner_id__in=all_pids
        ).values_list("practitioner_id", "weekday", "start_time", "end_time"):
            self.spans.setdefault((pid, weekday), []).append((start_time, end_time))
        self.closed = set(
            LocationClosure.objects.filter(location=location, date__range=(start_date, end_date)).values_list(
                "date", flat=True
            )
        )
        # The same reading of what is busy as a single service's search (availability.busy_times), in one
        # statement: practitioners' time off, appointments and held times (waitlist offers, payment steps),
        # and rooms' and devices' appointments and held times; a visit being moved leaves its own parts out.
        unit_ids = sorted({uid for per in self.kinds.values() for _, units in per for uid in units})
        self.busy, self.unit_busy = busy_times(
            practitioner_ids=all_pids,
            practitioner_range=(self.range_start, reach),
            unit_ids=unit_ids,
            unit_range=(self.range_start, reach),
            exclude_appointment_ids=tuple(exclude_ids),
            now=now,
        )
        self._day_spans: dict[tuple[int, date], tuple[list[int], list[int]]] = {}
        self._options: dict[tuple[int, int], tuple[list[tuple[int, int]], list[int]]] = {}
        self._units_free: dict[tuple[int, int, int], bool] = {}
        self._possible: dict[tuple[int, int], bool] = {}
        self.buffers = [to_us(s.buffer_after) for s in services]
        # Per position in the visit.
        self.service_ids = service_ids
        self.kinds_at = [self.kinds[pk] for pk in service_ids]

    def bookable(self):
        return all(self.candidates) and all(all(units for _, units in self.kinds[s.pk]) for s in self.services)

    def free_windows(self, pid, day):
        """(starts, ends): the practitioner's working spans on `day` less their busy times; kept per day."""
        key = (pid, day)
        if key not in self._day_spans:
            starts, ends = self.busy[pid]
            windows = []
            for a_time, b_time in sorted(self.spans.get((pid, day.weekday()), ())):
                a, b = to_us(wall_to_instant(day, a_time, self.tz)), to_us(wall_to_instant(day, b_time, self.tz))
                i = bisect_right(ends, a)  # the first busy time ending after the span starts
                while i < len(starts) and starts[i] < b:
                    if starts[i] > a:
                        windows.append((a, starts[i]))
                    a = max(a, ends[i])
                    i += 1
                if a < b:
                    windows.append((a, b))
            self._day_spans[key] = ([w[0] for w in windows], [w[1] for w in windows])
        return self._day_spans[key]

    def free(self, pid, day, start, end, occupied):
        """Working over [start, end) and busy with nothing else over [start, occupied) (the buffer may run on)."""
        starts, ends = self.free_windows(pid, day)
        i = bisect_right(starts, start) - 1
        if i < 0 or ends[i] < end:
            return False
        return occupied == end or _is_free(self.busy[pid], end, occupied)

    def options(self, day, position, start):
        """The practitioners who could take service `position` at `start`, leaving the visit's own parts aside.

        Yielded in id order and kept per (position, start), found only as far as asked: the many paths
        through a visit's earlier services that reach the same time ask once, and most stop at the first.
        """
        key = (position, start)
        found, state = self._options.setdefault(key, ([], [0]))
        yield from found
        service_id = self.service_ids[position]
        kinds = self.kinds_at[position]
        candidates = self.candidates[position]
        units_free = self._units_free
        while state[0] < len(candidates):
            pid, duration = candidates[state[0]]
            state[0] += 1
            end = start + duration
            if not self.free(pid, day, start, end, end + self.buffers[position]):
                continue
            unit_key = (service_id, start, duration)
            if unit_key not in units_free:  # every kind has some unit free then, this visit aside
                units_free[unit_key] = all(
                    any(_is_free(self.unit_busy[uid], start, end + cleanup) for uid in kind_units)
                    for cleanup, kind_units in kinds
                )
            if units_free[unit_key]:
                found.append((pid, duration))
                yield pid, duration

    def possible(self, day, position, start):
        """Could the services from `position` on fit from `start`, leaving this visit's earlier parts aside?

        Kept per (position, start). Earlier parts only take time away, so "no" here is "no" for every path.
        """
        key = (position, start)
        if key not in self._possible:
            self._possible[key] = self.fit(day, start, position) is not None
        return self._possible[key]

    def fit(self, day, start, position=0, taken=(), held=()):
        """The parts from `position` on, starting at `start`, or None. taken/held: this visit's own earlier ones.

        A part is (service id, practitioner id, start, end, occupied until, unit ids), in µs.
        """
        if position == len(self.services):
            return ()
        service_id = self.service_ids[position]
        buffer = self.buffers[position]
        last = position + 1 == len(self.services)
        for pid, duration in self.options(day, position, start):
            end = start + duration
            occupied = end + buffer
            if not last and not self.possible(day, position + 1, occupied):
                continue  # the rest cannot fit then even leaving this visit's own parts aside
            # options() checked the practitioner's own busy times; only this visit's earlier parts remain.
            if any(p == pid and s < occupied and e > start for p, s, e in taken):
                continue
            units = []
            for cleanup, kind_units in self.kinds_at[position]:
                until = end + cleanup
                unit = next(
                    (
                        uid
                        for uid in kind_units
                        if _is_free(self.unit_busy[uid], start, until)
                        and not any(u == uid and s < until and e > start for u, s, e in held)
                    ),
                    None,
                )
                if unit is None:
                    break
                units.append((unit, until))
            else:
                rest = self.fit(
                    day,
                    occupied,
                    position + 1,
                    (*taken, (pid, start, occupied)),
                    (*held, *((uid, start, until) for uid, until in units)),
                )
                if rest is not None:
                    part = (service_id, pid, start, end, occupied, tuple(uid for uid, _ in units))
                    return (part, *rest)
        return None


def find_visit_slots(
    *,
    location: "Location",
    services: list[Service],
    start_date: date,
    end_date: date,
    practitioner_ids: list[int | None] | None = None,
    exclude_appointment_ids: tuple[int, ...] = (),
    now: datetime | None = None,
    only_start: datetime | None = None,
) -> list[VisitSlot]:
    """Free starts for `services` back to back at `location`, on local dates start_date..end_date inclusive.

    practitioner_ids: per service, the practitioner asked for (None: any qualified one).
    exclude_appointment_ids: a visit being moved does not stand in its own way.
    only_start: just that start (the booking's re-check under its locks).
    The notice and horizon rules apply; held times (SlotHold: waitlist offers, payment steps) are busy, their
    practitioners and their rooms and devices (HeldUnit), as in a single service's search.
    """
    now = now or timezone.now()
    tz = location.tzinfo
    earliest, last_day = booking_window(now=now, tz=tz)
    end_date = min(end_date, last_day)
    if end_date < start_date or not services or not location.is_active:
        return []
    practitioner_ids = practitioner_ids or [None] * len(services)
    plan = _Plan(
        location=location,
        services=services,
        practitioner_ids=practitioner_ids,
        start_date=start_date,
        end_date=end_date,
        exclude_ids=exclude_appointment_ids,
        now=now,
    )
    if not plan.bookable():
        return []
    grid = settings.BOOKING_SLOT_GRID_MINUTES
    step = to_us(timedelta(minutes=grid))
    earliest_us = to_us(earliest)
    only = None if only_start is None else to_us(only_start)
    slots = []
    day = start_date
    while day <= end_date:
        if day not in plan.closed:
            starts = set()
            # Candidate starts: the grid inside the working spans of the first service's practitioners.
            for pid, _ in plan.candidates[0]:
                for start_time, end_time in plan.spans.get((pid, day.weekday()), ()):
                    minutes = start_time.hour * 60 + start_time.minute + (1 if start_time.second else 0)
                    aligned = -(-minutes // grid) * grid
                    if aligned >= 24 * 60:
                        continue
                    candidate = to_us(wall_to_instant(day, time(aligned // 60, aligned % 60), tz))
                    span_end = to_us(wall_to_instant(day, end_time, tz))
                    while candidate < span_end:
                        starts.add(candidate)
                        candidate += step
            if only is not None:
                starts &= {only}
            for start in sorted(starts):
                if start < earliest_us:
                    continue
                parts = plan.fit(day, start)
                if parts:
                    slots.append(
                        VisitSlot(
                            parts=tuple(
                                VisitPart(
                                    service_id=service_id,
                                    practitioner_id=pid,
                                    start=from_us(part_start),
                                    end=from_us(part_end),
                                    occupied_until=from_us(occupied),
                                    unit_ids=unit_ids,
                                )
                                for service_id, pid, part_start, part_end, occupied, unit_ids in parts
                            )
                        )
                    )
        day += timedelta(days=1)
    return slots


def nearest_visit_slots(*, location, services, around, practitioner_ids=None, count=5, now=None):
    """The free visit starts closest in time to `around` (for 'that time was just taken')."""
    day = around.astimezone(location.tzinfo).date()
    slots = find_visit_slots(
        location=location,
        services=services,
        start_date=day - timedelta(days=3),
        end_date=day + timedelta(days=7),
        practitioner_ids=practitioner_ids,
        now=now,
    )
    slots.sort(key=lambda s: abs((s.start - around).total_seconds()))
    return sorted(slots[:count], key=lambda s: s.start)
