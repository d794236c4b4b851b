"""The admin as a front desk user expects it: a search in a filtered list says so, a new booking lands in view."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from appointments.models import Appointment
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.front_desk import ADD_URL, add_form, front_desk_user

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
LIST_URL = reverse("admin:appointments_appointment_changelist")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime(2026, 12, 7, 8, 0, tzinfo=LA), tick=False):
        yield


@pytest.fixture
def clinic():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    return location, service, person


def test_a_search_in_a_filtered_list_says_it_searched_only_that_list_and_links_to_all(client, clinic):
    location, service, person = clinic
    dana = ClientFactory(preferred_location=location, first_name="Dana", last_name="Tomorrow")
    AppointmentFactory(
        location=location, service=service, practitioner=person, client=dana, start=datetime(2026, 12, 8, 10, tzinfo=LA)
    )
    client.force_login(front_desk_user(location))
    page = client.get(LIST_URL, {"day": "today", "q": "Tomorrow"}).content.decode()
    assert "Searched only the filtered list" in page
    assert 'href="?q=Tomorrow"' in page
    everything = client.get(LIST_URL, {"q": "Tomorrow"}).content.decode()
    assert "Searched only the filtered list" not in everything
    assert "Dana Tomorrow" in everything


def test_a_plain_filter_or_a_plain_search_shows_no_notice(client, clinic):
    location, _, _ = clinic
    client.force_login(front_desk_user(location))
    assert "Searched only" not in client.get(LIST_URL, {"day": "today"}).content.decode()
    assert "Searched only" not in client.get(LIST_URL, {"q": "x"}).content.decode()


def test_a_booking_added_in_the_admin_lands_on_its_day_in_the_calendar(client, clinic):
    location, service, person = clinic
    client.force_login(front_desk_user(location))
    response = client.post(ADD_URL, add_form(location, service, person, ClientFactory(preferred_location=location), 10))
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("admin:appointments_day_calendar")
        + f"?location={location.pk}&date=2026-12-07#appointment-{appointment.pk}"
    )
    calendar = client.get(response["Location"]).content.decode()
    assert f'id="appointment-{appointment.pk}"' in calendar
