"""Benchmark: the front desk's day calendar for 20 practitioners and 200 appointments in one day.

Target: a query count that does not grow with practitioners or appointments, and a page quick enough
to click through (well under 200 ms). Prints the selector alone and the whole admin page (a
location-limited front-desk user, template rendered).
Run: .venv/bin/python bench/day_calendar.py [--practitioners 20] [--appointments 200]
     (DATABASE_URL=postgres://... to measure on PostgreSQL)
"""

import argparse
import os
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from harness import setup_django, timed

parser = argparse.ArgumentParser()
parser.add_argument("--practitioners", type=int, default=20)
parser.add_argument("--appointments", type=int, default=200)
options = parser.parse_args()

vendor = setup_django("day_calendar")

from django.contrib.auth.models import Group  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from appointments.models import Appointment  # noqa: E402
from appointments.selectors import day_calendar  # noqa: E402
from clinic.models import Client as ClinicClient  # noqa: E402
from clinic.roles import FRONT_DESK  # noqa: E402
from tests.support.builders import ClientFactory, StaffFactory, bookable_clinic  # noqa: E402

LA = ZoneInfo("America/Los_Angeles")
DAY = date(2026, 12, 7)  # a Monday

location, service, people = bookable_clinic(
    practitioners=options.practitioners, hours=((time(8), time(20)),), duration=30
)
clients = [ClientFactory() for _ in range(50)]
opening = datetime.combine(DAY, time(8), tzinfo=LA)
# Seeding a scratch database: straight rows, not the booking service (nothing here is a real booking).
Appointment.objects.bulk_create(
    Appointment(
        client=clients[i % len(clients)],
        location=location,
        service=service,
        practitioner=people[i % len(people)],
        start=opening + timedelta(minutes=30 * (i // len(people))),
        end=opening + timedelta(minutes=30 * (i // len(people)) + 30),
        occupied_until=opening + timedelta(minutes=30 * (i // len(people)) + 30),
    )
    for i in range(options.appointments)
)
assert ClinicClient.objects.count() == len(clients)

user = StaffFactory(locations=[location])
user.groups.add(Group.objects.get(name=FRONT_DESK))
browser = Client(HTTP_HOST="localhost")
browser.force_login(user)
url = reverse("admin:appointments_day_calendar") + f"?location={location.pk}&date={DAY.isoformat()}"


def page():
    response = browser.get(url)
    assert response.status_code == 200, response.status_code
    return len(response.content)


calendar, selector_median, selector_best, selector_queries = timed(lambda: day_calendar(location=location, day=DAY))
size, page_median, page_best, page_queries = timed(page)
blocks = sum(1 for column in calendar.columns for item in column.items)
print(
    f"day calendar on {vendor}: {len(calendar.columns)} practitioners, {blocks} appointments, {len(calendar.rows)} rows"
)
print(
    f"  selector: {selector_queries} queries, median {selector_median * 1000:.1f} ms (best {selector_best * 1000:.1f})"
)
print(
    f"  admin page: {page_queries} queries, median {page_median * 1000:.1f} ms (best {page_best * 1000:.1f}), "
    f"{size / 1024:.0f} KiB of HTML"
)

if os.environ.get("PROFILE"):
    import cProfile
    import pstats

    cProfile.run(os.environ["PROFILE"], "/tmp/daycal.prof")
    pstats.Stats("/tmp/daycal.prof").sort_stats("cumulative").print_stats(35)
