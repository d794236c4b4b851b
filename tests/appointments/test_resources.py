"""Rooms and devices, and practitioners' own durations: a time is free only when a qualified
practitioner and a unit of every room or device the service needs (with its clean-up) are free."""

import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test import Client as HttpClient
from django.urls import reverse

from appointments import services
from appointments.availability import find_free_slots
from appointments.models import (
    Appointment,
    AppointmentStatus,
    AssignedUnit,
    Practitioner,
    PractitionerService,
    ServiceRequirement,
)
from tests.support.builders import (
    AppointmentFactory,
    LocationFactory,
    PractitionerFactory,
    ServiceFactory,
    WorkingHoursFactory,
    bookable_clinic,
    needs,
)
from tests.support.environment import requires_postgres

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)  # beyond the online change cut-off from NOW
NOW = datetime(2026, 12, 6, 18, 0, tzinfo=LA)
SPRING = date(2026, 3, 8)  # America/Los_Angeles springs forward: 02:00 -> 03:00


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def local(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LA)


def labels(slots):
    return [s.start.astimezone(LA).strftime("%H:%M") for s in slots]


def slots_on(location, service, day=MONDAY, now=NOW, **kwargs):
    return find_free_slots(location=location, service=service, start_date=day, end_date=day, now=now, **kwargs)


def book(location, service, start, practitioner_id=None, n=0):
    return services.book_appointment(
        location=location,
        service=service,
        start=start,
        practitioner_id=practitioner_id,
        details=services.ClientDetails(
            first_name="Ana", last_name=f"Client{n}", email=f"ana{n}@example.com", mobile_phone="+14085550199"
        ),
        consents=services.BookingConsents(privacy_policy=True),
    )


@pytest.fixture
def laser_clinic():
    """Two practitioners, two treatment rooms (10 min clean-up) and one laser (15 min clean-up)."""
    location, service, people = bookable_clinic(hours=((time(9), time(13)),), practitioners=2, duration=60)
    made = needs(service, location, room=(2, 10), laser=(1, 15))
    return location, service, people, made


def test_the_only_unit_taken_means_no_slot_even_with_a_practitioner_free(laser_clinic):
    location, service, (first, second), made = laser_clinic
    book(location, service, local(MONDAY, 10), practitioner_id=first.pk)
    free = {s.start: s.practitioner_ids for s in slots_on(location, service)}
    # The second practitioner is free at 10:00, a room is free, but the one laser is not.
    assert local(MONDAY, 10) not in free
    assert local(MONDAY, 9, 45) not in free  # would run into the laser's booking
    assert local(MONDAY, 9) not in free  # 09:00 + 60 min + the laser's 15 min clean-up runs past 10:00
    assert free[local(MONDAY, 11, 15)] == (first.pk, second.pk)


def test_a_busy_room_means_no_slot(laser_clinic):
    location, service, _, made = laser_clinic
    room_kind, rooms = made["room"]
    rooms[1].is_active = False  # out of order: one room left
    rooms[1].save()
    # A peel, which needs only a room, takes the last room at 10:00 (held until 11:10 with clean-up).
    peel = ServiceFactory(locations=[location], duration_minutes=60)
    ServiceRequirement.objects.create(service=peel, resource_type=room_kind)
    esthetician = PractitionerFactory(locations=[location], services=[peel])
    WorkingHoursFactory(
        practitioner=esthetician, location=location, weekday=MONDAY.weekday(), start_time=time(9), end_time=time(13)
    )
    book(location, peel, local(MONDAY, 10), practitioner_id=esthetician.pk)
    free = labels(slots_on(location, service))
    assert "10:00" not in free and "11:00" not in free and "08:45" not in free
    assert "09:00" not in free  # 09:00 + 60 min + the room's 10 min clean-up runs past 10:00
    assert "11:15" in free
    rooms[1].is_active = True  # back in service: the laser service fits again
    rooms[1].save()
    assert "10:00" in labels(slots_on(location, service))


def test_clean_up_time_of_the_device_is_honoured(laser_clinic):
    location, service, (first, second), made = laser_clinic
    book(location, service, local(MONDAY, 10), practitioner_id=first.pk)
    free = labels(slots_on(location, service, practitioner_id=second.pk))
    # The laser is held 10:00-11:15 (60 min + 15 min clean-up): 11:00 is not free, 11:15 is.
    assert "11:00" not in free
    assert "11:15" in free
    # Before it: a 60-minute laser booking must end, clean-up included, by 10:00.
    assert "08:45" not in free and "09:00" not in free  # 09:00 + 60 + 15 = 10:15
    assert labels(slots_on(location, service, practitioner_id=second.pk))[0] == "11:15"


def test_a_location_without_the_device_offers_no_time():
    location, service, _ = bookable_clinic(hours=((time(9), time(13)),))
    elsewhere = LocationFactory()
    made = needs(service, elsewhere, laser=(1, 0))  # the laser is at another location
    assert slots_on(location, service) == []
    made["laser"][1][0].location = location
    made["laser"][1][0].save()
    assert slots_on(location, service) != []


def test_booking_holds_a_unit_of_every_kind_until_end_plus_clean_up(laser_clinic):
    location, service, (first, _), made = laser_clinic
    appointment = book(location, service, local(MONDAY, 10))
    holds = {h.unit.resource_type_id: h for h in AssignedUnit.objects.filter(appointment=appointment)}
    assert set(holds) == {made["room"][0].pk, made["laser"][0].pk}
    assert holds[made["laser"][0].pk].occupied_until == local(MONDAY, 11, 15)
    assert holds[made["room"][0].pk].occupied_until == local(MONDAY, 11, 10)
    assert all(h.start == local(MONDAY, 10) for h in holds.values())


def test_second_booking_for_the_last_laser_slot_is_refused_with_nearest_times(laser_clinic):
    location, service, (first, second), made = laser_clinic
    book(location, service, local(MONDAY, 10), practitioner_id=first.pk)
    with pytest.raises(services.SlotUnavailable) as refused:
        book(location, service, local(MONDAY, 10), practitioner_id=second.pk, n=1)
    assert refused.value.alternatives
    assert local(MONDAY, 10) not in [s.start for s in refused.value.alternatives]
    assert Appointment.objects.count() == 1


def test_two_rooms_let_two_room_services_run_at_once_but_not_three():
    location, service, people = bookable_clinic(hours=((time(9), time(13)),), practitioners=3)
    needs(service, location, room=(2, 0))
    book(location, service, local(MONDAY, 10), n=1)
    book(location, service, local(MONDAY, 10), n=2)
    assert "10:00" not in labels(slots_on(location, service))
    with pytest.raises(services.SlotUnavailable):
        book(location, service, local(MONDAY, 10), n=3)
    units = set(AssignedUnit.objects.values_list("unit_id", flat=True))
    assert len(units) == 2


def test_a_cancelled_appointment_frees_its_room_and_device(laser_clinic):
    location, service, (first, second), made = laser_clinic
    appointment = book(location, service, local(TUESDAY, 10), practitioner_id=first.pk)
    services.cancel_appointment_by_client(appointment_id=appointment.pk)
    assert "10:00" in labels(slots_on(location, service, day=TUESDAY, practitioner_id=second.pk))
    book(location, service, local(TUESDAY, 10), practitioner_id=second.pk, n=1)


def test_rescheduling_moves_the_holds_to_the_new_time(laser_clinic):
    location, service, (first, second), made = laser_clinic
    appointment = book(location, service, local(TUESDAY, 10), practitioner_id=first.pk)
    services.reschedule_appointment_by_client(appointment_id=appointment.pk, new_start=local(TUESDAY, 11, 30))
    holds = AssignedUnit.objects.filter(appointment=appointment)
    assert {h.start for h in holds} == {local(TUESDAY, 11, 30)}
    assert "10:00" in labels(slots_on(location, service, day=TUESDAY, practitioner_id=second.pk))
    assert "11:30" not in labels(slots_on(location, service, day=TUESDAY, practitioner_id=second.pk))


def test_practitioner_specific_duration_is_used_in_availability_and_booking():
    location, service, (senior, junior) = bookable_clinic(hours=((time(9), time(9, 50)),), practitioners=2, duration=30)
    PractitionerService.objects.filter(practitioner=senior, service=service).update(duration_minutes=20)
    slots = slots_on(location, service)
    by_start = {s.start.astimezone(LA).strftime("%H:%M"): s for s in slots}
    # 09:30 fits 20 minutes before 09:50, not 30.
    assert by_start["09:30"].practitioner_ids == (senior.pk,)
    assert by_start["09:00"].end_for(senior.pk) == local(MONDAY, 9, 20)
    assert by_start["09:00"].end_for(junior.pk) == local(MONDAY, 9, 30)
    appointment = book(location, service, local(MONDAY, 9, 30))
    assert appointment.practitioner_id == senior.pk
    assert appointment.end == local(MONDAY, 9, 50)
    junior_booking = book(location, service, local(MONDAY, 9), practitioner_id=junior.pk, n=1)
    assert junior_booking.end == local(MONDAY, 9, 30)


def test_practitioner_specific_duration_decides_which_device_time_is_free():
    location, service, (senior, junior, third) = bookable_clinic(
        hours=((time(9), time(12)),), practitioners=3, duration=30
    )
    needs(service, location, laser=(1, 5))
    PractitionerService.objects.filter(practitioner=senior, service=service).update(duration_minutes=20)
    book(location, service, local(MONDAY, 9, 30), practitioner_id=third.pk)  # the laser from 09:30
    free = {s.start.astimezone(LA).strftime("%H:%M"): s.practitioner_ids for s in slots_on(location, service)}
    # At 09:00 the senior's 20 minutes + 5 min clean-up end by 09:25; the junior's 30 would run to 09:35.
    assert free["09:00"] == (senior.pk,)
    assert "09:15" not in free
    appointment = book(location, service, local(MONDAY, 9), n=1)
    assert (appointment.practitioner_id, appointment.end) == (senior.pk, local(MONDAY, 9, 20))


def test_duration_and_skill_at_one_location_win_over_the_everywhere_row():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(12)),), duration=30)
    other = LocationFactory()
    service.locations.add(other)
    person.locations.add(other)
    WorkingHoursFactory(
        practitioner=person, location=other, weekday=MONDAY.weekday(), start_time=time(9), end_time=time(12)
    )
    PractitionerService.objects.create(practitioner=person, service=service, location=location, duration_minutes=45)
    assert slots_on(location, service)[0].end == local(MONDAY, 9, 45)
    assert slots_on(other, service)[0].end == local(MONDAY, 9, 30)


def test_unqualified_practitioner_is_never_offered_nor_booked():
    location, service, (qualified,) = bookable_clinic(hours=((time(9), time(12)),))
    unqualified = PractitionerFactory(locations=[location])
    WorkingHoursFactory(
        practitioner=unqualified, location=location, weekday=MONDAY.weekday(), start_time=time(9), end_time=time(12)
    )
    # Qualified only at another location: not here either.
    elsewhere = LocationFactory()
    service.locations.add(elsewhere)
    unqualified.locations.add(elsewhere)
    PractitionerService.objects.create(practitioner=unqualified, service=service, location=elsewhere)
    slots = slots_on(location, service)
    assert slots and all(s.practitioner_ids == (qualified.pk,) for s in slots)
    assert slots_on(location, service, practitioner_id=unqualified.pk) == []
    with pytest.raises(services.SlotUnavailable):
        book(location, service, local(MONDAY, 10), practitioner_id=unqualified.pk)
    html = HttpClient().get(reverse("appointments:choose_time", args=[location.slug, service.slug])).content.decode()
    assert qualified.name in html and unqualified.name not in html


def test_spring_forward_day_holds_the_device_across_the_missing_hour():
    location, service, (first, second) = bookable_clinic(hours=((time(0), time(5)),), practitioners=2, duration=60)
    needs(service, location, laser=(1, 15))
    before = local(SPRING, 0) - timedelta(days=1)
    with time_machine.travel(before, tick=False):
        book(location, service, local(SPRING, 1, 30), practitioner_id=first.pk)
        # 01:30 PST + 60 min = 03:30 PDT, + 15 min clean-up: the laser is free again at 03:45 PDT.
        free = labels(slots_on(location, service, day=SPRING, now=before, practitioner_id=second.pk))
    assert free == ["00:00", "00:15", "03:45", "04:00"]


def test_query_count_is_constant_with_rooms_devices_and_holds(django_assert_max_num_queries):
    location, service, people = bookable_clinic(hours=((time(9), time(17)),), practitioners=3)
    needs(service, location, room=(3, 10), laser=(2, 5))
    with django_assert_max_num_queries(8):
        slots_on(location, service)
    for day in range(15):
        for hh in (9, 11, 13):
            book(location, service, local(MONDAY + timedelta(days=day), hh), n=day * 100 + hh)
    assert AssignedUnit.objects.count() == 2 * 45
    with django_assert_max_num_queries(8):
        find_free_slots(
            location=location, service=service, start_date=MONDAY, end_date=MONDAY + timedelta(days=29), now=NOW
        )


def test_status_change_to_cancelled_by_the_front_desk_frees_the_units(laser_clinic):
    location, service, (first, second), _ = laser_clinic
    appointment = book(location, service, local(MONDAY, 10), practitioner_id=first.pk)
    services.change_status(appointment_ids=[appointment.pk], status=AppointmentStatus.CANCELLED)
    book(location, service, local(MONDAY, 10), practitioner_id=second.pk, n=1)


RACERS = 20


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_racing_bookings_for_the_last_laser_slot_yield_one_winner():
    # Four practitioners are free at 10:00, each racer asks for one of them: only the laser is shared.
    location, service, people = bookable_clinic(hours=((time(9), time(17)),), practitioners=4)
    needs(service, location, room=(3, 10), laser=(1, 15))
    day = datetime.now(LA).date() + timedelta(days=10)
    start = datetime.combine(day, time(10), tzinfo=LA)
    url = reverse("appointments:details", args=[location.slug, service.slug])
    barrier = threading.Barrier(RACERS)
    results = []

    def race(i):
        try:
            barrier.wait()
            response = HttpClient().post(
                url,
                {
                    "start": start.isoformat(),
                    "practitioner": str(people[i % len(people)].pk),
                    "first_name": f"Racer{i}",
                    "last_name": "Test",
                    "email": f"racer{i}@example.com",
                    "mobile_phone": f"+1408555{1000 + i}",
                    "is_adult": "on",
                    "accept_privacy_policy": "on",
                },
            )
            results.append((response.status_code, response.content.decode()))
        finally:
            connection.close()

    with time_machine.travel(datetime.now(LA), tick=True):
        threads = [threading.Thread(target=race, args=(i,)) for i in range(RACERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    codes = sorted(code for code, _ in results)
    assert codes.count(302) == 1, codes
    assert codes.count(409) == RACERS - 1, codes
    assert all("just taken" in html for code, html in results if code == 409)
    # The friendly page offers the nearest free times, and 10:00 is not among them.
    assert all("10:15" not in html and "11:15" in html for code, html in results if code == 409)
    assert Appointment.objects.count() == 1
    assert AssignedUnit.objects.count() == 2


@requires_postgres
@pytest.mark.django_db
def test_postgres_refuses_overlapping_holds_of_one_unit_written_behind_the_services_back(laser_clinic):
    location, service, (first, second), made = laser_clinic
    laser = made["laser"][1][0]
    one = AppointmentFactory(location=location, service=service, practitioner=first, start=local(TUESDAY, 10))
    two = AppointmentFactory(location=location, service=service, practitioner=second, start=local(TUESDAY, 11))
    AssignedUnit.objects.create(
        appointment=one, unit=laser, start=local(TUESDAY, 10), occupied_until=local(TUESDAY, 11, 15)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        AssignedUnit.objects.create(
            appointment=two, unit=laser, start=local(TUESDAY, 11), occupied_until=local(TUESDAY, 12, 15)
        )
    # Cancelling the first releases its hold, however the status changes (here a bulk update).
    Appointment.objects.filter(pk=one.pk).update(status=AppointmentStatus.CANCELLED)
    AssignedUnit.objects.create(
        appointment=two, unit=laser, start=local(TUESDAY, 11), occupied_until=local(TUESDAY, 12, 15)
    )
    assert AssignedUnit.objects.get(appointment=one).released
    # A hold written for an appointment that is already cancelled holds nothing either.
    three = AppointmentFactory(
        location=location, service=service, practitioner=first, start=local(TUESDAY, 11), status="cancelled"
    )
    AssignedUnit.objects.create(
        appointment=three, unit=laser, start=local(TUESDAY, 11), occupied_until=local(TUESDAY, 12, 15)
    )
    assert AssignedUnit.objects.get(appointment=three).released


def units_locked(queries):
    return [q["sql"] for q in queries if "appointments_resourceunit" in q["sql"] and "FOR UPDATE" in q["sql"]]


def test_a_booking_locks_the_rooms_and_devices_only_of_a_service_that_needs_some(laser_clinic):
    """A service needing no room or device takes no unit lock (a statement less per booking); one that needs
    some still locks its kinds' units before choosing them."""
    from django.test.utils import CaptureQueriesContext

    location, laser, _, _ = laser_clinic
    plain = ServiceFactory(duration_minutes=30, locations=[location])
    for person in Practitioner.objects.filter(locations=location):
        person.services.add(plain)
    with CaptureQueriesContext(connection) as with_units:
        book(location, laser, local(MONDAY, 10))
    with CaptureQueriesContext(connection) as without:
        book(location, plain, local(MONDAY, 12), n=1)
    assert Appointment.objects.count() == 2
    assert units_locked(without.captured_queries) == []
    if connection.vendor == "postgresql":  # SQLite has no FOR UPDATE (its write lock serialises bookings)
        assert len(units_locked(with_units.captured_queries)) == 1
