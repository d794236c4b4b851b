"""No double booking, ever: racing requests, and the database's own constraint."""

import threading
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client as HttpClient
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus
from tests.conftest import requires_postgres
from tests.factories import AppointmentFactory, bookable_clinic

LA = ZoneInfo("America/Los_Angeles")
# Far enough ahead for the notice rule, inside the 60-day horizon from "now".
SLOT_DAY = datetime.now(LA).date().toordinal() + 10
THREADS = 20


def slot_start():
    return datetime.combine(datetime.fromordinal(SLOT_DAY).date(), time(10), tzinfo=LA)


def _race(location, service, practitioner_param):
    """Post the same slot from THREADS browsers at once; return their status codes."""
    url = reverse("appointments:details", args=[location.slug, service.slug])
    barrier = threading.Barrier(THREADS)
    results = []

    def book(i):
        try:
            barrier.wait()
            response = HttpClient().post(
                url,
                {
                    "start": slot_start().isoformat(),
                    "practitioner": practitioner_param,
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
