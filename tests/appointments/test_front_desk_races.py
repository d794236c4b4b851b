"""Two front desks (and a client online) racing for one time: one wins, nobody is double booked."""

import threading
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client as HttpClient

from appointments import services
from appointments.models import Appointment, AppointmentStatus
from clinic.models import Client
from tests.support.booking import post_booking
from tests.support.builders import AppointmentFactory, StaffFactory, bookable_clinic
from tests.support.environment import requires_postgres

LA = ZoneInfo("America/Los_Angeles")
DAY = datetime.now(LA).date().toordinal() + 10


def at(hh):
    return datetime.combine(datetime.fromordinal(DAY).date(), time(hh), tzinfo=LA)


def _race(*jobs):
    barrier = threading.Barrier(len(jobs))
    results = []

    def run(job):
        try:
            barrier.wait()
            results.append(job())
        except services.FrontDeskBookingRefused as exc:  # what each refused racer was told
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _move(appointment, start):
    def job():
        return services.save_appointment_from_front_desk(
            appointment_id=appointment.pk,
            client=appointment.client,
            location=appointment.location,
            service=appointment.service,
            practitioner=appointment.practitioner,
            start=start,
            status=appointment.status,
            source=appointment.source,
            expected_updated_at=appointment.updated_at,
        )

    return job


def _active_at(person, start):
    return Appointment.objects.filter(practitioner=person, start=start).exclude(status=AppointmentStatus.CANCELLED)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_moves_and_a_phone_booking_and_an_online_booking_for_one_time_leave_one_appointment_there():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    first = AppointmentFactory(location=location, service=service, practitioner=person, start=at(9))
    second = AppointmentFactory(location=location, service=service, practitioner=person, start=at(11))
    staff = StaffFactory(locations=[location])
    caller = services.ClientDetails(first_name="Rosa", last_name="Caller", email="", mobile_phone="+14085550143")

    def phone():
        return services.book_phone_call(
            staff_user=staff, location=location, service=service, practitioner=person, start=at(14), new_client=caller
        )

    def online():
        response = post_booking(HttpClient(), location, service, at(14), practitioner=str(person.pk))
        return response.status_code

    results = _race(_move(first, at(14)), _move(second, at(14)), phone, online)
    assert len(results) == 4
    assert _active_at(person, at(14)).count() == 1, results
    refused = [r for r in results if isinstance(r, services.FrontDeskBookingRefused) or r == 409]
    assert len(refused) == 3, results
    # Nothing half-written: a refused phone booking leaves no new client behind.
    phone_won = any(isinstance(r, Appointment) and str(r.client.mobile_phone) == caller.mobile_phone for r in results)
    assert Client.objects.filter(mobile_phone=caller.mobile_phone).exists() == phone_won
