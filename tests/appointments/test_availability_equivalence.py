"""find_free_slots (integer instants, a sweep through the gaps) gives what a plain per-start check gives.

The plain version below reads model instances and tests every grid start against
every busy time, on aware datetimes: slow, but obviously the rule. Random
schedules (seeded, so a failure repeats) cover both DST changes, the notice
rule cutting into the first day, unaligned hours, closures, time off, held
times (some expired), cancelled appointments, a practitioner's own duration,
rooms and devices with clean-up times, and instants with seconds and
microseconds (the integer path must be exact, not rounded to the minute).
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from appointments.availability import (
    booking_window,
    busy_times,
    find_free_slots,
    needed_units,
    practitioner_durations,
    to_us,
)
from appointments.models import (
    Appointment,
    AppointmentStatus,
    AssignedUnit,
    HeldUnit,
    LocationClosure,
    PractitionerService,
    SlotHold,
    TimeOff,
    WorkingHours,
)
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic, needs

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")


def overlaps(intervals, start, end):
    return any(s < end and e > start for s, e in intervals)


def plain_free_slots(*, location, service, start_date, end_date, now):
    """[(start, end, practitioner ids, ends)]: every grid start checked against every busy time."""
    earliest, last_day = booking_window(now=now, tz=LA)
    durations = practitioner_durations(location=location, service=service)
    kinds = needed_units(location=location, service=service)
    busy = {pid: [] for pid in durations}
    for appointment in Appointment.objects.filter(practitioner_id__in=durations):
        if appointment.status != AppointmentStatus.CANCELLED:
            busy[appointment.practitioner_id].append((appointment.start, appointment.occupied_until))
    for off in TimeOff.objects.filter(practitioner_id__in=durations):
        busy[off.practitioner_id].append((off.start, off.end))
    for hold in SlotHold.objects.filter(practitioner_id__in=durations):
        if hold.expires_at > now:
            busy[hold.practitioner_id].append((hold.start, hold.occupied_until))
    unit_busy = {uid: [] for _, _, units in kinds for uid in units}
    for assigned in AssignedUnit.objects.filter(unit_id__in=unit_busy):
        if assigned.appointment.status != AppointmentStatus.CANCELLED:
            unit_busy[assigned.unit_id].append((assigned.start, assigned.occupied_until))
    for held in HeldUnit.objects.filter(unit_id__in=unit_busy):
        if held.hold.expires_at > now:
            unit_busy[held.unit_id].append((held.start, held.occupied_until))
    closed = set(LocationClosure.objects.filter(location=location).values_list("date", flat=True))
    grid = 15
    free = {}
    day = start_date
    while day <= min(end_date, last_day):
        for hours in WorkingHours.objects.filter(location=location, weekday=day.weekday()):
            if day in closed or hours.practitioner_id not in durations:
                continue
            duration = durations[hours.practitioner_id]
            wall = datetime.combine(day, hours.start_time)
            if wall.second or wall.microsecond:
                wall = wall.replace(second=0, microsecond=0) + timedelta(minutes=1)
            while wall.minute % grid:
                wall += timedelta(minutes=1)
            candidate = wall.replace(tzinfo=LA).astimezone(UTC)
            closing = datetime.combine(day, hours.end_time, tzinfo=LA).astimezone(UTC)
            while candidate + duration <= closing:
                end = candidate + duration
                if (
                    candidate >= earliest
                    and not overlaps(busy[hours.practitioner_id], candidate, end + service.buffer_after)
                    and all(
                        any(not overlaps(unit_busy[uid], candidate, end + cleanup) for uid in units)
                        for _, cleanup, units in kinds
                    )
                ):
                    free.setdefault(candidate, {})[hours.practitioner_id] = end
                candidate += timedelta(minutes=grid)
        day += timedelta(days=1)
    return [
        (start, min(ends.values()), tuple(sorted(ends)), tuple(ends[p] for p in sorted(ends)))
        for start, ends in sorted(free.items())
    ]


def odd_instant(rng, day):
    """A local time on `day` between 08:00 and 19:00, sometimes just off the grid (by 1 µs, seconds, µs)."""
    start = datetime.combine(day, time(8), tzinfo=LA) + timedelta(minutes=rng.randrange(0, 11 * 60, 5))
    if rng.random() < 0.4:
        start += rng.choice(
            (
                timedelta(microseconds=1),
                timedelta(seconds=rng.randrange(60)),
                timedelta(microseconds=rng.randrange(1000)),
            )
        )
    return start


def random_schedule(rng, first_day, days):
    location, service, people = bookable_clinic(
        weekdays=range(6),
        hours=((time(9, 10), time(13)), (time(13, 30), time(18, 50))),
        practitioners=3,
        duration=45,
        buffer=15,
    )
    PractitionerService.objects.filter(practitioner=people[1]).update(duration_minutes=30)
    made = needs(service, location, room=(2, 10), laser=(1, 5))
    units = made["room"][1] + made["laser"][1]
    client = ClientFactory()
    taken = {p.pk: [] for p in people}
    unit_taken = {u.pk: [] for u in units}
    for _ in range(rng.randrange(20, 60)):
        person = rng.choice(people)
        start = odd_instant(rng, first_day + timedelta(days=rng.randrange(days)))
        end = start + timedelta(minutes=rng.choice((20, 30, 45, 60, 90)))
        occupied = end + service.buffer_after
        cancelled = rng.random() < 0.2
        if not cancelled and overlaps(taken[person.pk], start, occupied):
            continue  # PostgreSQL refuses overlapping appointments of one practitioner
        appointment = AppointmentFactory(
            client=client,
            location=location,
            service=service,
            practitioner=person,
            start=start,
            end=end,
            status=AppointmentStatus.CANCELLED if cancelled else AppointmentStatus.BOOKED,
        )
        if not cancelled:
            taken[person.pk].append((start, occupied))
        for unit in rng.sample(units, rng.randrange(3)):
            until = end + timedelta(minutes=rng.choice((0, 5, 10)))
            if not cancelled and not overlaps(unit_taken[unit.pk], start, until):
                unit_taken[unit.pk].append((start, until))
                AssignedUnit.objects.create(appointment=appointment, unit=unit, start=start, occupied_until=until)
    for _ in range(rng.randrange(4)):
        start = odd_instant(rng, first_day + timedelta(days=rng.randrange(days)))
        TimeOff.objects.create(
            practitioner=rng.choice(people), start=start, end=start + timedelta(hours=rng.choice((1, 3, 30)))
        )
    return location, service, people, units


@pytest.mark.parametrize("first_day", [date(2027, 3, 10), date(2026, 10, 28)], ids=["spring-forward", "fall-back"])
@pytest.mark.parametrize("seed", range(4))
def test_free_slots_are_exactly_those_a_plain_check_of_every_start_finds(first_day, seed):
    rng = random.Random(seed)
    days = 8
    location, service, people, units = random_schedule(rng, first_day, days)
    now = datetime.combine(first_day, time(7, rng.randrange(60)), tzinfo=LA)  # notice cuts into the first day
    for _ in range(3):
        start = odd_instant(rng, first_day + timedelta(days=rng.randrange(days)))
        hold = SlotHold.objects.create(
            location=location,
            service=service,
            practitioner=rng.choice(people),
            start=start,
            occupied_until=start + timedelta(minutes=60),
            expires_at=now + timedelta(minutes=rng.choice((-5, 15))),
        )
        HeldUnit.objects.create(hold=hold, unit=rng.choice(units), start=start, occupied_until=hold.occupied_until)
    LocationClosure.objects.create(location=location, date=first_day + timedelta(days=rng.randrange(days)))

    found = find_free_slots(
        location=location, service=service, start_date=first_day, end_date=first_day + timedelta(days=days - 1), now=now
    )

    expected = plain_free_slots(
        location=location, service=service, start_date=first_day, end_date=first_day + timedelta(days=days - 1), now=now
    )
    assert expected  # the schedule leaves some times free
    assert [(s.start, s.end, s.practitioner_ids, s.ends) for s in found] == expected


def orm_busy_times(*, practitioner_ids, unit_ids, start, end, excluded, using_hold_id, now):
    """The same rules as availability.busy_times, read through the ORM as model instances."""
    people, units = {pid: [] for pid in practitioner_ids}, {uid: [] for uid in unit_ids}
    for off in TimeOff.objects.filter(practitioner_id__in=practitioner_ids, start__lt=end, end__gt=start):
        people[off.practitioner_id].append((off.start, off.end))
    appointments = Appointment.objects.filter(
        practitioner_id__in=practitioner_ids, start__lt=end, occupied_until__gt=start
    ).exclude(status=AppointmentStatus.CANCELLED)
    for appointment in appointments.exclude(pk__in=excluded):
        people[appointment.practitioner_id].append((appointment.start, appointment.occupied_until))
    holds = SlotHold.objects.filter(
        practitioner_id__in=practitioner_ids, start__lt=end, occupied_until__gt=start, expires_at__gt=now
    )
    for hold in holds.exclude(pk=using_hold_id):
        people[hold.practitioner_id].append((hold.start, hold.occupied_until))
    assigned = AssignedUnit.objects.filter(unit_id__in=unit_ids, start__lt=end, occupied_until__gt=start)
    for row in assigned.exclude(appointment_id__in=excluded).select_related("appointment"):
        if row.appointment.status != AppointmentStatus.CANCELLED:
            units[row.unit_id].append((row.start, row.occupied_until))
    held = HeldUnit.objects.filter(unit_id__in=unit_ids, start__lt=end, occupied_until__gt=start).exclude(
        hold_id=using_hold_id
    )
    for row in held.select_related("hold"):
        if row.hold.expires_at > now:
            units[row.unit_id].append((row.start, row.occupied_until))
    return people, units


@pytest.mark.parametrize("seed", range(3))
def test_busy_times_in_one_plain_statement_read_what_the_orm_reads(seed):
    """busy_times (plain SQL, both database engines): the same intervals as the ORM, moved and held times included."""
    rng = random.Random(seed)
    first_day = date(2027, 3, 10)
    location, service, people, units = random_schedule(rng, first_day, 6)
    now = datetime.combine(first_day, time(7), tzinfo=LA)
    holds = []
    for number in range(3):
        start = odd_instant(rng, first_day + timedelta(days=rng.randrange(6)))
        hold = SlotHold.objects.create(
            location=location,
            service=service,
            practitioner=rng.choice(people),
            start=start,
            occupied_until=start + timedelta(minutes=60),
            expires_at=now + timedelta(minutes=15 if number == 0 else rng.choice((-5, 15))),
        )
        HeldUnit.objects.create(hold=hold, unit=rng.choice(units), start=start, occupied_until=hold.occupied_until)
        holds.append(hold)
    start = datetime.combine(first_day, time(0), tzinfo=LA)
    end = start + timedelta(days=6, minutes=rng.randrange(60))
    # A moved appointment with a room or device, and an unexpired held time: their own times are free.
    with_units = AssignedUnit.objects.exclude(appointment__status=AppointmentStatus.CANCELLED).order_by("pk")
    moved = with_units.first().appointment_id
    # A visit's parts moved together (exclude_appointment_ids): two appointments with rooms or devices.
    parts = list(dict.fromkeys(with_units.values_list("appointment_id", flat=True)))[:2]
    assert len(parts) == 2
    held_id = holds[0].pk
    people_ids, unit_ids = [p.pk for p in people], [u.pk for u in units]
    results = []
    for exclude, many, using in ((None, (), None), (moved, (), held_id), (None, tuple(parts), None)):
        found = busy_times(
            practitioner_ids=people_ids,
            practitioner_range=(start, end),
            unit_ids=unit_ids,
            unit_range=(start, end),
            exclude_appointment_id=exclude,
            exclude_appointment_ids=many,
            using_hold_id=using,
            now=now,
        )
        expected = orm_busy_times(
            practitioner_ids=people_ids,
            unit_ids=unit_ids,
            start=start,
            end=end,
            excluded=[*many, *([] if exclude is None else [exclude])],
            using_hold_id=using,
            now=now,
        )
        for got, wanted in zip(found, expected, strict=True):
            assert {key: list(zip(*intervals, strict=True)) for key, intervals in got.items()} == {
                key: [tuple(to_us(t) for t in pair) for pair in _merged(rows)] for key, rows in wanted.items()
            }
        assert any(found[0].values()) and any(found[1].values())  # the schedule has busy times of both kinds
        results.append(found)
    assert results[0] != results[1]  # the moved appointment's and the held time's own times were left out
    assert results[0] != results[2]  # and the visit's parts' own times


def _merged(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
