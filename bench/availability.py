"""Benchmark: free slots for one location and service over 30 days, any practitioner.

10 practitioners, each working Mon-Sat 09:00-13:00 and 13:30-19:00, and 2,000
existing appointments (plus some time off and a closure day). Target: a
constant number of queries (independent of days and appointments) and < 50 ms.

Resources case: the same at a second location whose laser service needs a
treatment room (4, 10 min clean-up) and a laser (2, 15 min clean-up); of its
2,000 appointments, 400 hold a room and a laser and 400 a room (a facial), so
1,200 holds. Target: a constant number of queries and < 50 ms.
Run: .venv/bin/python bench/availability.py   (DATABASE_URL=postgres://... for PostgreSQL)
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from harness import setup_django, timed

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
from tests.support.builders import ClientFactory, ServiceFactory, bookable_clinic, needs  # noqa: E402

LA = ZoneInfo("America/Los_Angeles")
FIRST_DAY = date(2027, 3, 1)  # a Monday; the range crosses no DST change
NOW = datetime.combine(FIRST_DAY, time(6), tzinfo=LA)
LAST_DAY = FIRST_DAY + timedelta(days=29)

location, service, people = bookable_clinic(
    weekdays=range(6), hours=((time(9), time(13)), (time(13, 30), time(19))), practitioners=10, duration=60, buffer=15
)


def slots(days=30):
    return find_free_slots(
        location=location, service=service, start_date=FIRST_DAY, end_date=FIRST_DAY + timedelta(days=days - 1), now=NOW
    )


_, _, _, queries_empty = timed(slots, runs=1, warmup=0)

# 2,000 appointments over the 60-day horizon (about half the 30 days measured):
# per practitioner and working day, four one-hour bookings that leave room between.
client = ClientFactory()
rows, day = [], FIRST_DAY
while len(rows) < 2000:
    if day.weekday() < 6:
        for person in people:
            for hour in (9, 11, 14, 16):
                start = datetime.combine(day, time(hour), tzinfo=LA)
                rows.append(
                    Appointment(
                        client=client,
                        location=location,
                        service=service,
                        practitioner=person,
                        start=start,
                        end=start + timedelta(hours=1),
                        occupied_until=start + timedelta(minutes=75),
                    )
                )
    day += timedelta(days=1)
Appointment.objects.bulk_create(rows[:2000])
for person in people[:3]:
    start = datetime.combine(FIRST_DAY + timedelta(days=10), time(9), tzinfo=LA)
    TimeOff.objects.create(practitioner=person, start=start, end=start + timedelta(days=2), reason="Training")
LocationClosure.objects.create(location=location, date=FIRST_DAY + timedelta(days=20), reason="Holiday")

result, median, fastest, queries = timed(slots, runs=20)
_, _, _, queries_one_day = timed(lambda: slots(days=1), runs=1, warmup=0)

print(f"availability on {vendor}: 30 days, 10 practitioners, {Appointment.objects.count()} appointments")
print(f"slots found: {len(result)}")
print(f"queries: {queries} (1 day: {queries_one_day}, 30 days with no appointments: {queries_empty})")
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
