"""Benchmark: free slots for one location and service over 30 days, any practitioner.

Practitioners (--practitioners, default 10) each work Mon-Sat 09:00-13:00 and
13:30-19:00; the appointments (--appointments, default 2,000) all fall inside
the 30 days measured, spread evenly over every practitioner's working days,
plus three practitioners' two days of time off and a closure on a working day.
Target: a constant number of queries (independent of days and appointments)
and < 50 ms.

Resources case: the same at a second location whose laser service needs a
treatment room (4, 10 min clean-up) and a laser (2, 15 min clean-up); of its
2,000 appointments, 400 hold a room and a laser and 400 a room (a facial), so
1,200 holds. Target: a constant number of queries and < 50 ms.
Visit case: a third location (10 practitioners, 4 rooms, 2 lasers, 2,000 half-hour appointments every
other half hour) and a visit of three half-hour services back to back (a consultation, then a laser
needing a room and a laser, then a facial needing a room), searched over 30 days and over the 7 days a
page shows. Target: a constant number of queries and < 100 ms.
Run: .venv/bin/python bench/availability.py [--practitioners 20 --appointments 8000]
(DATABASE_URL=postgres://... for PostgreSQL)
"""

import argparse
import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from harness import setup_django, timed

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--practitioners", type=int, default=10, help="practitioners at the location (default 10)")
parser.add_argument("--appointments", type=int, default=2000, help="appointments inside the 30 days (default 2000)")
args = parser.parse_args()

vendor = setup_django("availability")

from appointments.availability import find_free_slots  # noqa: E402
from appointments.models import (  # noqa: E402
    Appointment,
    AssignedUnit,
    LocationClosure,
    PractitionerService,
    ServiceRequirement,
    TimeOff,
)
from appointments.visit_availability import find_visit_slots  # noqa: E402
from tests.support.builders import ClientFactory, ServiceFactory, bookable_clinic, needs  # noqa: E402

LA = ZoneInfo("America/Los_Angeles")
DAYS = 30
FIRST_DAY = date(2027, 3, 1)  # a Monday; the 30 days cross the change to daylight saving time (Sunday 14 March)
NOW = datetime.combine(FIRST_DAY, time(6), tzinfo=LA)
WORKING_DAYS = [FIRST_DAY + timedelta(days=n) for n in range(DAYS) if (FIRST_DAY + timedelta(days=n)).weekday() < 6]
CLOSED = FIRST_DAY + timedelta(days=19)  # Saturday 20 March, a working day
assert CLOSED in WORKING_DAYS

location, service, people = bookable_clinic(
    weekdays=range(6),
    hours=((time(9), time(13)), (time(13, 30), time(19))),
    practitioners=args.practitioners,
    duration=60,
    buffer=15,
)


def slots(days=DAYS):
    return find_free_slots(
        location=location, service=service, start_date=FIRST_DAY, end_date=FIRST_DAY + timedelta(days=days - 1), now=NOW
    )


_, _, _, queries_empty = timed(slots, runs=1, warmup=0)

# Each practitioner's working day gets the same number of appointments, evenly spaced from 09:00 with room
# between (2,000 for 10 practitioners: four a day, one hour each plus the 15-minute clean-up).
client = ClientFactory()
per_day = math.ceil(args.appointments / (len(people) * len(WORKING_DAYS)))
every = 600 // per_day  # minutes between starts over 09:00-19:00
length = max(5, min(60, every - 15))
rows = []
for day in WORKING_DAYS:
    for person in people:
        for n in range(per_day):
            start = datetime.combine(day, time(9), tzinfo=LA) + timedelta(minutes=n * every)
            rows.append(
                Appointment(
                    client=client,
                    location=location,
                    service=service,
                    practitioner=person,
                    start=start,
                    end=start + timedelta(minutes=length),
                    occupied_until=start + timedelta(minutes=length + 15),
                )
            )
rows.sort(key=lambda row: (row.start, row.practitioner_id))  # the first days fill first when rows are left over
Appointment.objects.bulk_create(rows[: args.appointments], batch_size=1000)
for person in people[:3]:
    start = datetime.combine(FIRST_DAY + timedelta(days=10), time(9), tzinfo=LA)  # Thursday 11 and Friday 12 March
    TimeOff.objects.create(practitioner=person, start=start, end=start + timedelta(days=2), reason="Training")
LocationClosure.objects.create(location=location, date=CLOSED, reason="Holiday")

result, median, fastest, queries = timed(slots, runs=20)
_, _, _, queries_one_day = timed(lambda: slots(days=1), runs=1, warmup=0)
assert not any(slot.start.astimezone(LA).date() == CLOSED for slot in result), "the closure day offers times"

print(
    f"availability on {vendor}: {DAYS} days, {len(people)} practitioners, "
    f"{Appointment.objects.count()} appointments in those days ({per_day} a working day per practitioner, "
    f"{length} minutes each)"
)
print(f"slots found: {len(result)}")
print(f"queries: {queries} (1 day: {queries_one_day}, {DAYS} days with no appointments: {queries_empty})")
print(f"time: median {median * 1000:.1f} ms, min {fastest * 1000:.1f} ms (20 runs)")
met = queries == queries_one_day == queries_empty and median < 0.050
print(f"target: constant queries, < 50 ms -> {'MET' if met else 'NOT MET'}")


# Resources case: a second location, its own 10 practitioners.
r_location, laser, r_people = bookable_clinic(
    weekdays=range(6), hours=((time(9), time(13)), (time(13, 30), time(19))), practitioners=10, duration=60, buffer=15
)
made = needs(laser, r_location, room=(4, 10), laser=(2, 15))
rooms, lasers = made["room"][1], made["laser"][1]
facial = ServiceFactory(locations=[r_location], duration_minutes=60, buffer_after_minutes=15)
ServiceRequirement.objects.create(service=facial, resource_type=made["room"][0])
PractitionerService.objects.bulk_create([PractitionerService(practitioner=p, service=facial) for p in r_people])


def resource_slots(days=30):
    return find_free_slots(
        location=r_location, service=laser, start_date=FIRST_DAY, end_date=FIRST_DAY + timedelta(days=days - 1), now=NOW
    )


_, _, _, r_queries_empty = timed(resource_slots, runs=1, warmup=0)

# Per working day and hour (9, 11, 14, 16): practitioners 0-1 do laser (a laser and rooms 1-2),
# 2-3 facials (rooms 3-4), the others consultations needing nothing; 2,000 appointments in all.
planned, day = [], FIRST_DAY
while len(planned) < 2000:
    if day.weekday() < 6:
        for i, person in enumerate(r_people):
            for hour in (9, 11, 14, 16):
                start = datetime.combine(day, time(hour), tzinfo=LA)
                units = [(lasers[i], 15), (rooms[i], 10)] if i < 2 else [(rooms[i], 10)] if i < 4 else []
                booked = Appointment(
                    client=client,
                    location=r_location,
                    service=laser if i < 2 else facial if i < 4 else service,
                    practitioner=person,
                    start=start,
                    end=start + timedelta(hours=1),
                    occupied_until=start + timedelta(minutes=75),
                )
                planned.append((booked, units))
    day += timedelta(days=1)
planned = planned[:2000]
Appointment.objects.bulk_create([booked for booked, _ in planned])
AssignedUnit.objects.bulk_create(
    [
        AssignedUnit(
            appointment=booked, unit=unit, start=booked.start, occupied_until=booked.end + timedelta(minutes=m)
        )
        for booked, units in planned
        for unit, m in units
    ]
)

r_result, r_median, r_fastest, r_queries = timed(resource_slots, runs=20)
_, _, _, r_queries_one_day = timed(lambda: resource_slots(days=1), runs=1, warmup=0)
print()
print(
    f"resources on {vendor}: 30 days, 10 practitioners, {len(rooms)} rooms, {len(lasers)} lasers, "
    f"{len(planned)} appointments, {AssignedUnit.objects.filter(unit__location=r_location).count()} room/device holds"
)
print(f"slots found: {len(r_result)}")
print(f"queries: {r_queries} (1 day: {r_queries_one_day}, 30 days with no appointments: {r_queries_empty})")
print(f"time: median {r_median * 1000:.1f} ms, min {r_fastest * 1000:.1f} ms (20 runs)")
r_met = r_queries == r_queries_one_day == r_queries_empty and r_median < 0.050
print(f"target: constant queries, < 50 ms -> {'MET' if r_met else 'NOT MET'}")


# Visit case: a third location, 10 practitioners, 4 rooms and 2 lasers; a 30-minute consultation (anyone),
# laser (a room and a laser, anyone) and facial (a room, anyone). 2,000 half-hour appointments fill each
# practitioner's day every other half hour (odd practitioners half an hour later), a quarter of them holding a
# room and a laser, a quarter a room: a visit changes practitioner at every service.
v_location, v_consult, v_people = bookable_clinic(
    weekdays=range(6), hours=((time(9), time(13)), (time(13, 30), time(19))), practitioners=10, duration=30
)
v_made = needs(v_consult, v_location, room=(4, 0), laser=(2, 0))
ServiceRequirement.objects.filter(service=v_consult).delete()  # the consultation needs nothing
v_rooms, v_lasers = v_made["room"][1], v_made["laser"][1]
v_laser = ServiceFactory(locations=[v_location], duration_minutes=30)
v_facial = ServiceFactory(locations=[v_location], duration_minutes=30)
ServiceRequirement.objects.bulk_create(
    [
        ServiceRequirement(service=v_laser, resource_type=v_made["room"][0]),
        ServiceRequirement(service=v_laser, resource_type=v_made["laser"][0]),
        ServiceRequirement(service=v_facial, resource_type=v_made["room"][0]),
    ]
)
PractitionerService.objects.bulk_create(
    [PractitionerService(practitioner=p, service=s) for p in v_people for s in (v_laser, v_facial)]
)
v_planned, day = [], FIRST_DAY
while len(v_planned) < 2000:
    if day.weekday() < 6:
        for i, person in enumerate(v_people):
            for n in range(8):
                start = datetime.combine(day, time(9), tzinfo=LA) + timedelta(minutes=60 * n + 30 * (i % 2))
                if time(13) <= start.astimezone(LA).time() < time(13, 30):
                    start += timedelta(minutes=30)  # lunch
                kind = n % 4  # 0: laser, 1: facial, else consultations
                units = [v_lasers[i % 2], v_rooms[i % 4]] if kind == 0 else [v_rooms[i % 4]] if kind == 1 else []
                booked = Appointment(
                    client=client,
                    location=v_location,
                    service=v_laser if kind == 0 else v_facial if kind == 1 else v_consult,
                    practitioner=person,
                    start=start,
                    end=start + timedelta(minutes=30),
                    occupied_until=start + timedelta(minutes=30),
                )
                v_planned.append((booked, units))
    day += timedelta(days=1)
v_planned = v_planned[:2000]
Appointment.objects.bulk_create([booked for booked, _ in v_planned])
AssignedUnit.objects.bulk_create(
    [
        AssignedUnit(appointment=booked, unit=unit, start=booked.start, occupied_until=booked.end)
        for booked, units in v_planned
        for unit in units
    ],
    ignore_conflicts=True,
)
visit_services = [v_consult, v_laser, v_facial]


def visit_slots(days=30, chosen=visit_services):
    return find_visit_slots(
        location=v_location,
        services=chosen,
        start_date=FIRST_DAY,
        end_date=FIRST_DAY + timedelta(days=days - 1),
        now=NOW,
    )


v_result, v_median, v_fastest, v_queries = timed(visit_slots, runs=20)
_, v_week_median, _, v_week_queries = timed(lambda: visit_slots(days=7), runs=20)
_, _, _, v_queries_one_day = timed(lambda: visit_slots(days=1), runs=1, warmup=0)
# The same reads with the search cut to one start: what reading the 30 days costs, the rest is the search.
_, v_read_median, _, _ = timed(
    lambda: find_visit_slots(
        location=v_location,
        services=visit_services,
        start_date=FIRST_DAY,
        end_date=FIRST_DAY + timedelta(days=29),
        now=NOW,
        only_start=datetime.combine(FIRST_DAY, time(9), tzinfo=LA),
    ),
    runs=20,
)
_, _, _, v_queries_two = timed(lambda: visit_slots(chosen=visit_services[:2]), runs=1, warmup=0)
print()
print(
    f"3-service visit on {vendor}: consultation + laser + facial (30 min each), 30 days, 10 practitioners, "
    f"{len(v_rooms)} rooms, {len(v_lasers)} lasers, {len(v_planned)} appointments, "
    f"{AssignedUnit.objects.filter(unit__location=v_location).count()} room/device holds"
)
print(f"visit starts found: {len(v_result)}")
print(f"queries: {v_queries} (7 days: {v_week_queries}, 1 day: {v_queries_one_day}, 2 services: {v_queries_two})")
print(
    f"time: 30 days median {v_median * 1000:.1f} ms, min {v_fastest * 1000:.1f} ms; "
    f"7 days median {v_week_median * 1000:.1f} ms (20 runs each); reading alone {v_read_median * 1000:.1f} ms"
)
v_met = v_queries == v_week_queries == v_queries_one_day == v_queries_two and v_median < 0.100
print(f"target: constant queries, < 100 ms over 30 days -> {'MET' if v_met else 'NOT MET'}")
