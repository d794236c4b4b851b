"""No double booking, ever: racing requests, and the database's own constraint."""

import threading
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client as HttpClient

from appointments.models import Appointment, AppointmentStatus
from clinic.models import Client
from privacy.models import ConsentRecord
from tests.support.booking import post_booking
from tests.support.builders import AppointmentFactory, bookable_clinic
from tests.support.environment import requires_postgres

LA = ZoneInfo("America/Los_Angeles")
# Far enough ahead for the notice rule, inside the 60-day horizon from "now".
SLOT_DAY = datetime.now(LA).date().toordinal() + 10
THREADS = 20


def slot_start():
    return datetime.combine(datetime.fromordinal(SLOT_DAY).date(), time(10), tzinfo=LA)


def _post_online_booking(location, service, practitioner_param, i):
    """Racer i's booking of the slot from a browser of its own."""
    return post_booking(
        HttpClient(),
        location,
        service,
        slot_start(),
        practitioner=practitioner_param,
        first_name=f"Racer{i}",
        last_name="Test",
        email=f"racer{i}@example.com",
        mobile_phone=f"+1408555{1000 + i}",
    )


def _race(location, service, practitioner_param):
    """Post the same slot from THREADS browsers at once; return their status codes."""
    barrier = threading.Barrier(THREADS)
    results = []

    def book(i):
        try:
            barrier.wait()
            response = _post_online_booking(location, service, practitioner_param, i)
            results.append((response.status_code, response.content.decode()))
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("practitioner_param", ["one", "any"])
def test_twenty_racing_bookings_for_one_slot_yield_one_winner(practitioner_param):
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    results = _race(location, service, str(person.pk) if practitioner_param == "one" else "any")
    codes = sorted(code for code, _ in results)
    assert len(results) == THREADS
    assert codes.count(302) == 1, codes
    assert codes.count(409) == THREADS - 1, codes
    assert all("just taken" in html for code, html in results if code == 409)
    assert Appointment.objects.count() == 1
    # The losers' records and consents are written before the locks, in the booking's transaction: none is left.
    assert Client.objects.count() == 1
    assert ConsentRecord.objects.count() == 4


@requires_postgres
@pytest.mark.django_db
def test_postgres_exclusion_constraint_refuses_overlap_written_behind_the_services_back():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    AppointmentFactory(location=location, service=service, practitioner=person, start=slot_start())
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(
            location=location, service=service, practitioner=person, start=slot_start().replace(minute=30)
        )
    # A cancelled appointment does not hold the time.
    Appointment.objects.update(status=AppointmentStatus.CANCELLED)
    AppointmentFactory(location=location, service=service, practitioner=person, start=slot_start().replace(minute=30))
    assert Appointment.objects.exclude(status=AppointmentStatus.CANCELLED).count() == 1


@requires_postgres
@pytest.mark.django_db
def test_a_front_desk_booking_that_slips_past_the_check_is_refused_by_the_constraint_not_a_500(monkeypatch):
    from appointments import services
    from tests.support.builders import ClientFactory

    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    AppointmentFactory(location=location, service=service, practitioner=person, start=slot_start())
    monkeypatch.setattr(services, "staff_slot_problems", lambda **kwargs: ([], []))  # the check saw nothing
    with pytest.raises(services.FrontDeskBookingRefused, match="already booked"):
        services.save_appointment_from_front_desk(
            appointment_id=None,
            client=ClientFactory(),
            location=location,
            service=service,
            practitioner=person,
            start=slot_start().replace(minute=30),
            status=AppointmentStatus.BOOKED,
            source="front_desk",
        )
    assert Appointment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_front_desk_and_online_bookings_racing_for_one_slot_yield_one_winner():
    from appointments import services
    from tests.support.builders import ClientFactory

    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    desk_clients = [ClientFactory() for _ in range(THREADS // 2)]
    barrier = threading.Barrier(THREADS)
    outcomes = []

    def front_desk(i):
        try:
            barrier.wait()
            services.save_appointment_from_front_desk(
                appointment_id=None,
                client=desk_clients[i],
                location=location,
                service=service,
                practitioner=person,
                start=slot_start(),
                status=AppointmentStatus.BOOKED,
                source="front_desk",
            )
            outcomes.append("booked")
        except services.FrontDeskBookingRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    def online(i):
        try:
            barrier.wait()
            response = _post_online_booking(location, service, str(person.pk), i)
            outcomes.append({302: "booked", 409: "refused"}.get(response.status_code, response.status_code))
        finally:
            connection.close()

    threads = [threading.Thread(target=front_desk, args=(i,)) for i in range(THREADS // 2)]
    threads += [threading.Thread(target=online, args=(i,)) for i in range(THREADS // 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes, key=str) == ["booked"] + ["refused"] * (THREADS - 1)
    assert Appointment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_reschedules_and_online_bookings_racing_for_one_slot_yield_one_winner():
    from appointments import services

    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    day = slot_start().date()
    movers = [
        AppointmentFactory(
            location=location,
            service=service,
            practitioner=person,
            start=datetime.combine(day, time(11 + i), tzinfo=LA),
        )
        for i in range(5)
    ]
    barrier = threading.Barrier(10)
    outcomes = []

    def reschedule(appointment):
        try:
            barrier.wait()
            services.reschedule_appointment_by_client(appointment_id=appointment.pk, new_start=slot_start())
            outcomes.append("booked")
        except services.SlotUnavailable:
            outcomes.append("refused")
        finally:
            connection.close()

    def online(i):
        try:
            barrier.wait()
            response = _post_online_booking(location, service, str(person.pk), i)
            outcomes.append({302: "booked", 409: "refused"}.get(response.status_code, response.status_code))
        finally:
            connection.close()

    threads = [threading.Thread(target=reschedule, args=(a,)) for a in movers]
    threads += [threading.Thread(target=online, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes, key=str) == ["booked"] + ["refused"] * 9
    at_the_slot = Appointment.objects.filter(start=slot_start()).exclude(status=AppointmentStatus.CANCELLED)
    assert at_the_slot.count() == 1


@requires_postgres
@pytest.mark.django_db
def test_an_online_booking_locks_the_practitioners_only_for_the_check_and_the_appointment():
    """Bookings at one location queue on the practitioners' row locks: the new record and its consents are
    written before them (same transaction), so the locks are held for the check and the appointment only."""
    from django.test.utils import CaptureQueriesContext

    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    with CaptureQueriesContext(connection) as queries:
        response = _post_online_booking(location, service, "any", 1)
    assert response.status_code == 302
    statements = [q["sql"] for q in queries.captured_queries]
    lock = next(i for i, sql in enumerate(statements) if "FOR UPDATE" in sql and "appointments_practitioner" in sql)
    writes = [sql.split(" (")[0] for sql in statements[lock:] if sql.startswith(("INSERT", "UPDATE", "SAVEPOINT"))]
    assert writes == ['INSERT INTO "appointments_appointment"'], writes
    assert Client.objects.count() == 1 and ConsentRecord.objects.count() == 4
