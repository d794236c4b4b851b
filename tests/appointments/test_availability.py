"""Free slots: hours, time off, closures, overlaps with buffers, notice, horizon, grid, DST."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from appointments.availability import find_free_slots
from appointments.models import AppointmentStatus, LocationClosure, TimeOff
from tests.support.builders import AppointmentFactory, bookable_clinic

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
MONDAY = date(2026, 12, 7)
# A Sunday-evening "now", well before Monday's slots and inside the horizon.
NOW = datetime(2026, 12, 6, 18, 0, tzinfo=LA)


def local(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LA)


def starts(slots):
    return [s.start.astimezone(LA).strftime("%H:%M") for s in slots]


def slots_on(location, service, day, now=NOW, **kwargs):
    return find_free_slots(location=location, service=service, start_date=day, end_date=day, now=now, **kwargs)


def test_slots_fill_working_hours_on_the_grid_and_end_by_closing_time():
    location, service, _ = bookable_clinic(hours=((time(9), time(11)),), duration=60)
    assert starts(slots_on(location, service, MONDAY)) == ["09:00", "09:15", "09:30", "09:45", "10:00"]


def test_split_day_has_no_slots_in_the_break():
    location, service, _ = bookable_clinic(hours=((time(9), time(10)), (time(11), time(12))), duration=60)
    assert starts(slots_on(location, service, MONDAY)) == ["09:00", "11:00"]


def test_unaligned_working_hours_start_on_the_next_grid_line():
    location, service, _ = bookable_clinic(hours=((time(9, 10), time(10, 30)),), duration=30)
    assert starts(slots_on(location, service, MONDAY))[0] == "09:15"


def test_grid_is_configurable(settings):
    settings.BOOKING_SLOT_GRID_MINUTES = 30
    location, service, _ = bookable_clinic(hours=((time(9), time(11)),), duration=60)
    assert starts(slots_on(location, service, MONDAY)) == ["09:00", "09:30", "10:00"]


def test_no_slots_on_days_the_practitioner_does_not_work():
    location, service, _ = bookable_clinic(weekdays=[1])  # Tuesdays only
    assert slots_on(location, service, MONDAY) == []


def test_existing_appointment_and_its_buffer_block_the_practitioner():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(13)),), duration=60, buffer=15)
    AppointmentFactory(location=location, service=service, practitioner=person, start=local(MONDAY, 10))
    # Busy 10:00-11:15 (60 min + 15 buffer). A new booking's own buffer must also
    # end before 10:00, which no morning start allows.
    assert starts(slots_on(location, service, MONDAY)) == ["11:15", "11:30", "11:45", "12:00"]


def test_cancelled_appointments_free_their_time():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(10)),))
    AppointmentFactory(
        location=location,
        service=service,
        practitioner=person,
        start=local(MONDAY, 9),
        status=AppointmentStatus.CANCELLED,
    )
    assert starts(slots_on(location, service, MONDAY)) == ["09:00"]


def test_appointment_at_another_location_blocks_the_practitioner_too():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(10)),))
    elsewhere, other_service, _ = bookable_clinic()
    person.locations.add(elsewhere)
    AppointmentFactory(location=elsewhere, service=other_service, practitioner=person, start=local(MONDAY, 9))
    assert slots_on(location, service, MONDAY) == []


def test_time_off_blocks_slots():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(12)),))
    TimeOff.objects.create(practitioner=person, start=local(MONDAY, 9, 30), end=local(MONDAY, 11))
    assert starts(slots_on(location, service, MONDAY)) == ["11:00"]


def test_location_closure_removes_the_whole_day():
    location, service, _ = bookable_clinic()
    LocationClosure.objects.create(location=location, date=MONDAY, reason="Holiday")
    assert slots_on(location, service, MONDAY) == []
    assert slots_on(location, service, MONDAY + timedelta(days=1)) != []


def test_minimum_notice_hides_slots_starting_too_soon(settings):
    settings.BOOKING_MIN_NOTICE_MINUTES = 120
    location, service, _ = bookable_clinic(hours=((time(9), time(13)),))
    assert starts(slots_on(location, service, MONDAY, now=local(MONDAY, 8, 5)))[0] == "10:15"


def test_booking_horizon_limits_how_far_ahead(settings):
    settings.BOOKING_HORIZON_DAYS = 60
    location, service, _ = bookable_clinic()
    today = NOW.date()
    assert slots_on(location, service, today + timedelta(days=60)) != []
    assert slots_on(location, service, today + timedelta(days=61)) == []


def test_any_practitioner_lists_each_time_once_with_everyone_free():
    location, service, (a, b) = bookable_clinic(hours=((time(9), time(10)),), practitioners=2)
    AppointmentFactory(location=location, service=service, practitioner=a, start=local(MONDAY, 9))
    slots = slots_on(location, service, MONDAY)
    assert [(starts([s])[0], s.practitioner_ids) for s in slots] == [("09:00", (b.pk,))]


def test_one_practitioner_only_when_asked():
    location, service, (a, b) = bookable_clinic(hours=((time(9), time(10)),), practitioners=2)
    AppointmentFactory(location=location, service=service, practitioner=a, start=local(MONDAY, 9))
    assert slots_on(location, service, MONDAY, practitioner_id=a.pk) == []


def test_service_not_offered_at_location_has_no_slots():
    location, service, _ = bookable_clinic()
    service.locations.clear()
    assert slots_on(location, service, MONDAY) == []


# DST in America/Los_Angeles: 2026-03-08 springs forward (02:00 -> 03:00),
# 2026-11-01 falls back (02:00 -> 01:00).
SPRING = date(2026, 3, 8)
FALL = date(2026, 11, 1)


@pytest.mark.parametrize("day", [SPRING, FALL])
def test_daytime_slots_keep_their_wall_clock_time_on_dst_days(day):
    location, service, _ = bookable_clinic(hours=((time(9), time(12)),))
    slots = slots_on(location, service, day, now=local(day, 0, 0) - timedelta(days=1))
    assert starts(slots) == ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00"]
    offset = -7 if day == SPRING else -8  # PDT after spring-forward, PST after fall-back
    assert slots[0].start == datetime.combine(day, time(9 - offset), tzinfo=UTC)


def test_spring_forward_night_has_no_slot_in_the_missing_hour():
    location, service, _ = bookable_clinic(hours=((time(0), time(5)),), duration=60)
    slots = slots_on(location, service, SPRING, now=local(SPRING, 0) - timedelta(days=1))
    labels = starts(slots)
    assert not any(label.startswith("02:") for label in labels)
    assert labels[:5] == ["00:00", "00:15", "00:30", "00:45", "01:00"]
    # 00:00-05:00 is only four real hours that night: starts every 15 min until 04:00.
    assert len(slots) == 4 * 4 - 4 + 1
    assert len({s.start for s in slots}) == len(slots)


def test_fall_back_night_offers_the_repeated_hour_twice_as_distinct_instants():
    location, service, _ = bookable_clinic(hours=((time(0), time(5)),), duration=60)
    slots = slots_on(location, service, FALL, now=local(FALL, 0) - timedelta(days=1))
    # 00:00-05:00 is six real hours that night.
    assert len(slots) == 6 * 4 - 4 + 1
    assert len({s.start for s in slots}) == len(slots)
    one_thirties = [s.start for s in slots if s.start.astimezone(LA).strftime("%H:%M") == "01:30"]
    assert len(one_thirties) == 2 and one_thirties[1] - one_thirties[0] == timedelta(hours=1)
    gaps = {b.start - a.start for a, b in zip(slots, slots[1:], strict=False)}
    assert gaps == {timedelta(minutes=15)}


def test_week_across_dst_change_has_same_slots_every_day():
    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    slots = find_free_slots(
        location=location,
        service=service,
        start_date=date(2026, 10, 29),
        end_date=date(2026, 11, 4),
        now=datetime(2026, 10, 28, tzinfo=LA),
    )
    per_day = {}
    for slot in slots:
        per_day.setdefault(slot.start.astimezone(LA).date(), []).append(slot.start.astimezone(LA).strftime("%H:%M"))
    assert len(per_day) == 7
    assert all(times == per_day[date(2026, 10, 29)] for times in per_day.values())


def test_query_count_is_constant_in_days_and_appointments(django_assert_max_num_queries):
    # Hours, closures, time off, appointments, held times, the practitioners' own durations
    # and the rooms the service needs.
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    with django_assert_max_num_queries(7):
        find_free_slots(location=location, service=service, start_date=MONDAY, end_date=MONDAY, now=NOW)
    for day in range(20):
        AppointmentFactory(
            location=location, service=service, practitioner=person, start=local(MONDAY + timedelta(days=day), 9)
        )
    with django_assert_max_num_queries(7):
        find_free_slots(
            location=location, service=service, start_date=MONDAY, end_date=MONDAY + timedelta(days=29), now=NOW
        )
