"""Benchmark: free slots for one location and service over 30 days, any practitioner.

10 practitioners, each working Mon-Sat 09:00-13:00 and 13:30-19:00, and 2,000
existing appointments (plus some time off and a closure day). Target: a
constant number of queries (independent of days and appointments) and < 50 ms.
Run: .venv/bin/python bench/availability.py   (DATABASE_URL=postgres://... for PostgreSQL)
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from harness import setup_django, timed

vendor = setup_django("availability")

from appointments.availability import find_free_slots  # noqa: E402
from appointments.models import Appointment, LocationClosure, TimeOff  # noqa: E402
from tests.support.builders import ClientFactory, bookable_clinic  # noqa: E402

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
