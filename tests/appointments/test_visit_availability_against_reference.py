"""find_visit_slots offers exactly the visit starts a plain reading of the rules gives, on random schedules:
every practitioner assignment tried in turn, each part checked against every busy time, hours, rooms and
devices (this visit's own earlier parts included, and held times: waitlist offers' practitioners, rooms and
devices); and every plan offered keeps those rules."""

import itertools
import os
import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.conf import settings

from appointments.availability import booking_window
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
from appointments.visit_availability import find_visit_slots
from tests.support.builders import (
    AppointmentFactory,
    LocationFactory,
    PractitionerFactory,
    ServiceFactory,
    WorkingHoursFactory,
    needs,
)

pytestmark = pytest.mark.django_db

FIRST_DAYS = [date(2026, 3, 7), date(2026, 10, 31), date(2026, 6, 15)]


def _overlaps(start, end, intervals):
    return any(s < end and start < e for s, e in intervals)


class Rules:
    """The rules read straight from the tables, one question at a time."""

    def __init__(self, location, services, now):
        self.location, self.services, self.now, self.tz = location, services, now, location.tzinfo
        self.durations = []
        for service in services:
            per = {}
            for row in PractitionerService.objects.filter(service=service, practitioner__is_active=True):
                if not row.practitioner.locations.filter(pk=location.pk).exists():
                    continue
                if row.location_id not in (None, location.pk):
                    continue
                if row.practitioner_id in per and row.location_id is None:
                    continue  # the row for this location wins
                per[row.practitioner_id] = (
                    timedelta(minutes=row.duration_minutes) if row.duration_minutes else service.duration
                )
            self.durations.append(per)
        self.closed = set(LocationClosure.objects.filter(location=location).values_list("date", flat=True))

    def busy(self, pid):
        times = [
            (a.start, a.occupied_until)
            for a in Appointment.objects.filter(practitioner_id=pid).exclude(status=AppointmentStatus.CANCELLED)
        ]
        times += [(t.start, t.end) for t in TimeOff.objects.filter(practitioner_id=pid)]
        times += [
            (h.start, h.occupied_until) for h in SlotHold.objects.filter(practitioner_id=pid, expires_at__gt=self.now)
        ]
        return times

    def works(self, pid, day, start, end):
        for hours in WorkingHours.objects.filter(practitioner_id=pid, location=self.location, weekday=day.weekday()):
            a = datetime.combine(day, hours.start_time, tzinfo=self.tz).astimezone(UTC)
            b = datetime.combine(day, hours.end_time, tzinfo=self.tz).astimezone(UTC)
            if a <= start and end <= b:
                return True
        return False

    def unit_taken(self, unit):
        taken = [
            (a.start, a.occupied_until)
            for a in AssignedUnit.objects.filter(unit=unit).exclude(appointment__status=AppointmentStatus.CANCELLED)
        ]
        # A room or device held for a waitlist offer or a payment step, while the hold lasts.
        return taken + [
            (h.start, h.occupied_until) for h in HeldUnit.objects.filter(unit=unit, hold__expires_at__gt=self.now)
        ]

    def plan(self, day, start):
        """A plan for the visit from `start` (parts (pid, start, end, occupied, units)), or None."""
        for pids in itertools.product(*[sorted(per) for per in self.durations]):
            parts, at, ok = [], start, True
            for service, per, pid in zip(self.services, self.durations, pids, strict=True):
                end = at + per[pid]
                occupied = end + service.buffer_after
                if not self.works(pid, day, at, end) or _overlaps(at, occupied, self.busy(pid)):
                    ok = False
                    break
                if any(p == pid and s < occupied and at < o for p, s, _, o, _ in parts):
                    ok = False
                    break
                units = []
                for requirement in service.requirements.select_related("resource_type").order_by("resource_type_id"):
                    kind = requirement.resource_type
                    until = end + kind.cleanup
                    unit = next(
                        (
                            u
                            for u in kind.units.filter(location=self.location, is_active=True).order_by("pk")
                            if not _overlaps(at, until, self.unit_taken(u))
                            and not any(
                                uid == u.pk and s < until and at < u_until
                                for _, s, _, _, us in parts
                                for uid, u_until in us
                            )
                        ),
                        None,
                    )
                    if unit is None:
                        ok = False
                        break
                    units.append((unit.pk, until))
                if not ok:
                    break
                parts.append((pid, at, end, occupied, units))
                at = occupied
            if ok:
                return parts
        return None

    def starts(self, first_day, last_day):
        earliest, horizon = booking_window(now=self.now, tz=self.tz)
        grid = settings.BOOKING_SLOT_GRID_MINUTES
        found = set()
        day = first_day
        while day <= min(last_day, horizon):
            if day not in self.closed:
                candidates = set()
                for pid in self.durations[0]:
                    for hours in WorkingHours.objects.filter(
                        practitioner_id=pid, location=self.location, weekday=day.weekday()
                    ):
                        minutes = hours.start_time.hour * 60 + hours.start_time.minute
                        aligned = -(-minutes // grid) * grid
                        if aligned >= 24 * 60:
                            continue
                        at = datetime.combine(day, time(aligned // 60, aligned % 60), tzinfo=self.tz).astimezone(UTC)
                        end = datetime.combine(day, hours.end_time, tzinfo=self.tz).astimezone(UTC)
                        while at < end:
                            candidates.add(at)
                            at += timedelta(minutes=grid)
                for at in candidates:
                    if at >= earliest and self.plan(day, at) is not None:
                        found.add(at)
            day += timedelta(days=1)
        return found


def random_visit_clinic(rng, first_day):
    location = LocationFactory(timezone=rng.choice(["America/Los_Angeles", "America/New_York"]))
    services = [
        ServiceFactory(
            locations=[location],
            duration_minutes=rng.choice([15, 30, 45, 60]),
            buffer_after_minutes=rng.choice([0, 0, 10, 15]),
        )
        for _ in range(rng.choice([2, 2, 3]))
    ]
    people = []
    for _ in range(rng.randint(1, 3)):
        person = PractitionerFactory(locations=[location], services=rng.sample(services, rng.randint(1, len(services))))
        if rng.random() < 0.3:
            PractitionerService.objects.filter(practitioner=person).update(duration_minutes=rng.choice([20, 40]))
        for weekday in range(7):
            if rng.random() < 0.85:
                start = time(rng.choice([0, 1, 8, 9]), rng.choice([0, 10, 30]))
                end = time(rng.choice([3, 12, 17, 23]), rng.choice([0, 45]))
                if end > start:
                    WorkingHoursFactory(
                        practitioner=person, location=location, weekday=weekday, start_time=start, end_time=end
                    )
        people.append(person)
    if rng.random() < 0.6:
        needs(rng.choice(services), location, room=(rng.randint(1, 2), rng.choice([0, 15])))
    if rng.random() < 0.3:
        LocationClosure.objects.create(location=location, date=first_day + timedelta(days=rng.randint(0, 3)))
    tz = location.tzinfo

    def local(offset, minutes):
        return datetime.combine(first_day + timedelta(days=offset), time(0), tzinfo=tz).astimezone(UTC) + timedelta(
            minutes=minutes
        )

    units = list(location.resource_units.all())
    for _ in range(rng.randint(2, 10)):
        start = local(rng.randint(0, 3), rng.randrange(0, 24 * 60, 5))
        person = rng.choice(people)
        # PostgreSQL refuses one practitioner's overlapping bookings (as the services do everywhere).
        if (
            Appointment.objects.filter(
                practitioner=person, start__lt=start + timedelta(hours=2), occupied_until__gt=start
            )
            .exclude(status=AppointmentStatus.CANCELLED)
            .exists()
        ):
            continue
        appointment = AppointmentFactory(
            location=location,
            service=rng.choice(services),
            practitioner=person,
            start=start,
            end=start + timedelta(minutes=rng.choice([15, 30, 60])),
            status=rng.choice([AppointmentStatus.BOOKED] * 4 + [AppointmentStatus.CANCELLED]),
        )
        if units and rng.random() < 0.6:
            unit = rng.choice(units)
            if not AssignedUnit.objects.filter(
                unit=unit, start__lt=appointment.occupied_until, occupied_until__gt=appointment.start
            ).exists():
                AssignedUnit.objects.create(
                    appointment=appointment,
                    unit=unit,
                    start=appointment.start,
                    occupied_until=appointment.occupied_until,
                )
    for _ in range(rng.randint(0, 2)):
        start = local(rng.randint(0, 3), rng.randrange(0, 24 * 60, 5))
        TimeOff.objects.create(practitioner=rng.choice(people), start=start, end=start + timedelta(minutes=95))
    for _ in range(rng.randint(0, 2)):
        start = local(rng.randint(0, 3), rng.randrange(0, 24 * 60, 5))
        hold = SlotHold.objects.create(
            location=location,
            service=services[0],
            practitioner=rng.choice(people),
            start=start,
            occupied_until=start + timedelta(minutes=45),
            expires_at=datetime(2030, 1, 1, tzinfo=UTC) if rng.random() < 0.7 else datetime(2000, 1, 1, tzinfo=UTC),
        )
        if units and rng.random() < 0.7:
            unit = rng.choice(units)
            if not HeldUnit.objects.filter(unit=unit, start__lt=hold.occupied_until, occupied_until__gt=start).exists():
                HeldUnit.objects.create(hold=hold, unit=unit, start=start, occupied_until=hold.occupied_until)
    return location, services


# CI keeps a sample inside its 15-minute budget; REFERENCE_SCHEDULES=250 checks more by hand.
@pytest.mark.parametrize("seed", range(int(os.environ.get("REFERENCE_SCHEDULES", "4"))))
def test_visit_starts_match_a_plain_reading_of_the_rules(seed):
    rng = random.Random(seed)
    first_day = FIRST_DAYS[seed % len(FIRST_DAYS)]
    now = datetime.combine(first_day, time(rng.choice([0, 9])), tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        location, services = random_visit_clinic(rng, first_day)
        last_day = first_day + timedelta(days=3)
        slots = find_visit_slots(location=location, services=services, start_date=first_day, end_date=last_day, now=now)
        rules = Rules(location, services, now)
        offered = {slot.start for slot in slots}
        expected = rules.starts(first_day, last_day)
        assert sorted(offered - expected) == [], "offered but against the rules"
        assert sorted(expected - offered) == [], "free by the rules but not offered"
