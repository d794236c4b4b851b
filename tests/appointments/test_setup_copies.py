"""What each web process keeps of a clinic's setup (slot_cache.process_copy), and what it never keeps.

Locations, services, who performs what for how long, rooms and devices, hours and
closures are read once per process and kept until anything but an appointment
changes; busy times (appointments, time off, held times) are read every time.
"""

from datetime import date, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from appointments import slot_cache
from appointments.availability import find_free_slots
from appointments.models import WorkingHours
from tests.support.booking import LA, MONDAY_10, SUNDAY_EVENING
from tests.support.builders import AppointmentFactory, bookable_clinic

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 12, 7)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


def starts(location, service):
    return [
        slot.start.astimezone(LA).time()
        for slot in find_free_slots(location=location, service=service, start_date=MONDAY, end_date=MONDAY)
    ]


def test_a_second_search_reads_only_busy_times(django_assert_num_queries):
    location, service, _ = bookable_clinic(hours=((time(9), time(12)),))
    starts(location, service)
    with django_assert_num_queries(1):  # the busy times, in one statement
        assert starts(location, service)


def test_a_booking_is_busy_at_once_though_the_setup_is_kept():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(12)),))
    assert time(10) in starts(location, service)
    AppointmentFactory(location=location, service=service, practitioner=person, start=MONDAY_10)
    assert time(10) not in starts(location, service)


def test_changed_hours_count_at_once_in_this_process_even_before_commit():
    """The rule checked: a change to the setup drops this process's copies when it is saved, not only after commit
    (a booking later in the same transaction, or the same test, must not see the old hours)."""
    location, service, _ = bookable_clinic(hours=((time(9), time(12)),))
    assert time(11) in starts(location, service)
    hours = WorkingHours.objects.get(location=location, weekday=MONDAY.weekday())
    hours.end_time = time(10)
    hours.save()
    assert starts(location, service) == [time(9)]


def test_another_process_sees_a_changed_setup_within_a_second(client, monkeypatch, django_capture_on_commit_callbacks):
    location, service, _ = bookable_clinic(hours=((time(9), time(12)),))
    seconds = [1000.0]
    monkeypatch.setattr(slot_cache, "_clock", lambda: seconds[0])
    assert time(11) in starts(location, service)  # kept here
    this_process = slot_cache._copies
    monkeypatch.setattr(slot_cache, "_copies", slot_cache._ProcessCopies())  # another process, its own copies ...
    with django_capture_on_commit_callbacks(execute=True):
        hours = WorkingHours.objects.get(location=location, weekday=MONDAY.weekday())
        hours.end_time = time(10)
        hours.save()
    monkeypatch.setattr(slot_cache, "_copies", this_process)  # ... sharing only the cache
    seconds[0] += 0.5
    assert time(11) in starts(location, service)  # this process's copy, for now
    seconds[0] += 0.6
    assert starts(location, service) == [time(9)]


def test_a_deactivated_service_is_gone_from_its_page_at_once(client):
    location, service, _ = bookable_clinic()
    url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    assert client.get(url, {"date": MONDAY.isoformat()}).status_code == 200
    service.is_active = False
    service.save()
    assert client.get(url, {"date": (MONDAY + timedelta(days=7)).isoformat()}).status_code == 404
