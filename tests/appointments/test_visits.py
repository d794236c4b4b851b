"""Visits of several services: found back to back, booked all or nothing, changed and confirmed as one."""

from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, AppointmentStatus, AssignedUnit, TimeOff, Visit
from appointments.visit_availability import find_visit_slots
from clinic.models import Client
from privacy.models import ConsentRecord
from tests.support.builders import AppointmentFactory, PractitionerFactory, ResourceUnitFactory, WorkingHoursFactory
from tests.support.visits import at, book, visit_clinic, visit_day

pytestmark = pytest.mark.django_db


def _search(clinic, service_list, **kwargs):
    day = visit_day()
    return find_visit_slots(location=clinic.location, services=service_list, start_date=day, end_date=day, **kwargs)


def test_a_visit_is_found_back_to_back_with_a_qualified_practitioner_for_each_service():
    clinic = visit_clinic()
    slots = _search(clinic, [clinic.consultation, clinic.facial])
    first = slots[0]
    assert first.start == at(9)
    consult, facial = first.parts
    assert (consult.practitioner_id, consult.start, consult.end) == (clinic.avery.pk, at(9), at(9, 30))
    assert (facial.practitioner_id, facial.start, facial.end) == (clinic.blake.pk, at(9, 30), at(10, 30))
    assert facial.unit_ids == (clinic.room.pk,)
    # The last start lets the whole visit end by 17:00.
    assert slots[-1].start == at(15, 30)


def test_a_visit_start_is_free_only_when_every_later_service_fits_too():
    clinic = visit_clinic()
    # Blake (the only one doing the facial) is busy 9:30-10:30: a 9:00 visit cannot have its facial.
    AppointmentFactory(location=clinic.location, service=clinic.facial, practitioner=clinic.blake, start=at(9, 30))
    starts = {s.start for s in _search(clinic, [clinic.consultation, clinic.facial])}
    assert at(9) not in starts and at(9, 30) not in starts
    assert at(10) in starts


def test_a_visit_counts_its_own_room_and_clean_up_between_services():
    clinic = visit_clinic()
    # Two facials back to back need the one room twice, but its 15 minutes of clean-up come between.
    assert _search(clinic, [clinic.facial, clinic.facial]) == []
    ResourceUnitFactory(resource_type=clinic.room.resource_type, location=clinic.location, name="Room B")
    slot = _search(clinic, [clinic.facial, clinic.facial])[0]
    assert slot.parts[1].start == at(10)
    assert slot.parts[1].unit_ids != slot.parts[0].unit_ids
    assert not AssignedUnit.objects.exists()


def test_a_visit_searches_in_a_constant_number_of_queries():
    clinic = visit_clinic()
    for hour in (9, 11, 13):
        AppointmentFactory(location=clinic.location, service=clinic.facial, practitioner=clinic.blake, start=at(hour))
    counts = []
    for service_list in ([clinic.consultation, clinic.facial], [clinic.consultation, clinic.neurotoxin, clinic.facial]):
        with CaptureQueriesContext(connection) as queries:
            find_visit_slots(
                location=clinic.location,
                services=service_list,
                start_date=visit_day(),
                end_date=visit_day() + timedelta(days=13),
            )
        counts.append(len(queries))
    # Durations, rooms and devices, hours, closures, and every busy time in one statement (busy_times).
    assert counts[0] == counts[1] <= 5, counts


def test_a_room_held_for_a_waitlist_offer_is_neither_offered_to_a_visit_nor_booked_by_one():
    """Rule: a held time (a waitlist offer) keeps its room or device from a visit, as from a single booking."""
    clinic = visit_clinic()
    casey = PractitionerFactory(name="Casey", locations=[clinic.location], services=[clinic.facial])
    for weekday in range(7):
        WorkingHoursFactory(
            practitioner=casey, location=clinic.location, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    # Casey's facial is offered on the waitlist at 10:00: the one room is held until 11:15 (its clean-up).
    services.hold_time(
        location=clinic.location,
        service=clinic.facial,
        practitioner_id=casey.pk,
        start=at(10),
        expires_at=timezone.now() + timedelta(minutes=15),
        reason="Waitlist offer",
    )
    visit = [clinic.consultation, clinic.facial]
    starts = {s.start for s in _search(clinic, visit)}
    # Blake and Avery are free, but every facial from 9:30 to 11:00 would need the held room.
    assert not starts & {at(9), at(9, 30), at(10), at(10, 30)}
    assert at(10, 45) in starts
    with pytest.raises(services.SlotUnavailable):
        book(clinic, visit, at(9, 30))
    assert not Visit.objects.exists() and not Appointment.objects.exists()
    # Once the offer has lapsed, the room is the visit's to have.
    later = {s.start for s in _search(clinic, visit, now=timezone.now() + timedelta(minutes=16))}
    assert at(9, 30) in later


def test_booking_a_visit_writes_one_visit_of_back_to_back_appointments_with_their_units():
    clinic = visit_clinic()
    appointments = book(clinic, [clinic.consultation, clinic.neurotoxin, clinic.facial], at(9))
    assert [(a.service, a.start) for a in appointments] == [
        (clinic.consultation, at(9)),
        (clinic.neurotoxin, at(9, 30)),
        (clinic.facial, at(10)),
    ]
    assert len({a.visit_id for a in appointments}) == 1 and appointments[0].visit_id is not None
    assert len({a.client_id for a in appointments}) == 1
    assert list(AssignedUnit.objects.values_list("appointment_id", "unit_id")) == [(appointments[2].pk, clinic.room.pk)]


def test_a_visit_whose_later_service_cannot_be_had_books_nothing():
    clinic = visit_clinic()
    # Someone else has Blake at 9:30: the facial of a 9:00 consultation + facial visit is taken.
    AppointmentFactory(location=clinic.location, service=clinic.facial, practitioner=clinic.blake, start=at(9, 30))
    clients_before = Client.objects.count()
    with pytest.raises(services.SlotUnavailable) as refused:
        book(clinic, [clinic.consultation, clinic.facial], at(9))
    assert Appointment.objects.count() == 1
    assert not Visit.objects.exists()
    assert Client.objects.count() == clients_before
    assert not ConsentRecord.objects.exists()
    assert refused.value.alternatives and all(s.start != at(9) for s in refused.value.alternatives)


def test_a_chosen_practitioner_is_kept_for_their_service():
    clinic = visit_clinic()
    appointments = book(
        clinic, [clinic.neurotoxin, clinic.facial], at(11), practitioner_ids=[clinic.blake.pk, clinic.blake.pk]
    )
    assert [a.practitioner for a in appointments] == [clinic.blake, clinic.blake]


def test_a_visit_needs_two_to_four_services_offered_at_the_location():
    clinic = visit_clinic()
    with pytest.raises(services.BookingRefused):
        book(clinic, [clinic.facial], at(9))
    with pytest.raises(services.BookingRefused):
        book(clinic, [clinic.facial] * 5, at(9))
    assert not Appointment.objects.exists()


def test_time_off_in_the_middle_of_a_visit_blocks_that_start():
    clinic = visit_clinic()
    TimeOff.objects.create(practitioner=clinic.blake, start=at(9, 30), end=at(10))
    with pytest.raises(services.SlotUnavailable):
        book(clinic, [clinic.consultation, clinic.facial], at(9))


def test_cancelling_a_visit_cancels_all_its_appointments_and_frees_the_room():
    clinic = visit_clinic()
    appointments = book(clinic, [clinic.consultation, clinic.facial], at(9))
    services.cancel_visit_by_client(appointment_id=appointments[1].pk)
    assert set(Appointment.objects.values_list("status", flat=True)) == {AppointmentStatus.CANCELLED}
    assert at(9) in {s.start for s in _search(clinic, [clinic.consultation, clinic.facial])}


def test_rescheduling_a_visit_moves_every_appointment_together():
    clinic = visit_clinic()
    first, second = book(clinic, [clinic.consultation, clinic.facial], at(9))
    services.reschedule_visit_by_client(appointment_id=first.pk, new_start=at(9, 15))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.start, second.start) == (at(9, 15), at(9, 45))
    assert AssignedUnit.objects.get().start == at(9, 45)
    services.reschedule_visit_by_client(appointment_id=first.pk, new_start=at(9))
    second.refresh_from_db()
    assert second.start == at(9, 30)


def test_rescheduling_a_visit_to_a_time_one_part_cannot_have_moves_nothing():
    clinic = visit_clinic()
    first, second = book(clinic, [clinic.consultation, clinic.facial], at(9))
    AppointmentFactory(location=clinic.location, service=clinic.facial, practitioner=clinic.blake, start=at(14, 30))
    with pytest.raises(services.SlotUnavailable):
        services.reschedule_visit_by_client(appointment_id=first.pk, new_start=at(14))
    assert list(Appointment.objects.filter(visit__isnull=False).values_list("start", flat=True)) == [at(9), at(9, 30)]
    assert AssignedUnit.objects.filter(appointment=second).get().start == at(9, 30)


def test_a_visit_on_the_day_clocks_go_forward_keeps_its_services_back_to_back_in_real_time():
    clinic = visit_clinic(hours=(time(0), time(6)))
    # 2027-03-14: Los Angeles skips 2:00-3:00. A 1:30 start: consultation 1:30-3:00 wall clock (30 real minutes).
    day = date(2027, 3, 14)
    slots = find_visit_slots(
        location=clinic.location,
        services=[clinic.consultation, clinic.facial],
        start_date=day,
        end_date=day,
        now=at(1, 0, day) - timedelta(days=5),
    )
    slot = next(s for s in slots if s.start == at(1, 30, day))
    assert slot.parts[0].end - slot.parts[0].start == timedelta(minutes=30)
    assert slot.parts[1].start == slot.parts[0].end
    assert slot.parts[1].start.astimezone(at(0, 0, day).tzinfo).hour == 3


def test_a_c_reply_confirms_the_whole_visit():
    clinic = visit_clinic()
    first, second, third = book(clinic, [clinic.consultation, clinic.neurotoxin, clinic.facial], at(9))
    Appointment.objects.filter(pk=third.pk).update(status=AppointmentStatus.CANCELLED)
    services.confirm_appointment(appointment_id=first.pk)
    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses == {
        first.pk: AppointmentStatus.CONFIRMED,
        second.pk: AppointmentStatus.CONFIRMED,
        third.pk: AppointmentStatus.CANCELLED,
    }


def test_the_confirmation_sweeper_emails_a_visit_once(django_capture_on_commit_callbacks):
    from django.core import mail
    from django.utils import timezone

    clinic = visit_clinic()
    book(clinic, [clinic.consultation, clinic.facial], at(9))  # on_commit not run: the task never went out
    Appointment.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert services.send_pending_confirmation_emails() == 1
    assert services.send_pending_confirmation_emails() == 0
    assert len(mail.outbox) == 1


def test_a_confirmed_visit_the_client_moves_is_booked_again_since_c_confirmed_the_old_time():
    clinic = visit_clinic()
    first, second = book(clinic, [clinic.consultation, clinic.facial], at(9))
    Appointment.objects.filter(pk__in=[first.pk, second.pk]).update(status=AppointmentStatus.CONFIRMED)
    services.reschedule_visit_by_client(appointment_id=first.pk, new_start=at(9, 15))
    assert set(Appointment.objects.values_list("status", flat=True)) == {AppointmentStatus.BOOKED}
