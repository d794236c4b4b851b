"""Rescheduling in the admin shows the next free times, and moving to one tells the client like an online change."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus
from tests.support.builders import (
    AppointmentFactory,
    ClientFactory,
    LocationFactory,
    PractitionerFactory,
    bookable_clinic,
)
from tests.support.front_desk import front_desk_user

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
MOVE_URL = reverse("admin:appointments_move")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime(2026, 12, 7, 8, 0, tzinfo=LA), tick=False):
        yield


@pytest.fixture
def booked():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    appointment = AppointmentFactory(
        location=location,
        service=service,
        practitioner=person,
        client=ClientFactory(preferred_location=location, email="dana@example.com"),
        start=datetime(2026, 12, 8, 10, tzinfo=LA),
    )
    return appointment


def _page(client, appointment):
    return client.get(reverse("admin:appointments_appointment_change", args=[appointment.pk])).content.decode()


def _move(client, appointment, start, person=None, loaded=None):
    appointment.refresh_from_db()
    return client.post(
        MOVE_URL,
        {
            "appointment": appointment.pk,
            "start": start.astimezone(UTC).isoformat(),
            "practitioner": (person or appointment.practitioner).pk,
            "loaded_version": loaded or appointment.updated_at.isoformat(),
        },
    )


def test_the_appointment_page_offers_the_next_free_times_but_not_its_own(client, booked):
    client.force_login(front_desk_user(booked.location))
    page = _page(client, booked)
    assert "Move to a free time" in page
    assert f'value="{datetime(2026, 12, 8, 9, tzinfo=LA).astimezone(UTC).isoformat()}"' in page
    # Its own time is not offered as a move; an hour taken by another client is not either.
    assert f'value="{booked.start.astimezone(UTC).isoformat()}"' not in page


def test_moving_to_a_free_time_moves_it_and_tells_the_client(client, booked, django_capture_on_commit_callbacks):
    client.force_login(front_desk_user(booked.location))
    new_start = datetime(2026, 12, 8, 14, tzinfo=LA)
    with django_capture_on_commit_callbacks(execute=True):
        response = _move(client, booked, new_start)
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.start == new_start
    assert any("dana@example.com" in m.to for m in mail.outbox)


def test_a_time_taken_since_the_page_was_shown_is_not_moved_to(client, booked):
    client.force_login(front_desk_user(booked.location))
    new_start = datetime(2026, 12, 8, 14, tzinfo=LA)
    AppointmentFactory(
        location=booked.location, service=booked.service, practitioner=booked.practitioner, start=new_start
    )
    response = _move(client, booked, new_start)
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.start == datetime(2026, 12, 8, 10, tzinfo=LA)


def test_a_page_opened_before_another_change_cannot_move_it(client, booked):
    client.force_login(front_desk_user(booked.location))
    booked.refresh_from_db()
    stale = booked.updated_at.isoformat()
    with time_machine.travel(datetime(2026, 12, 7, 8, 5, tzinfo=LA), tick=False):
        Appointment.objects.filter(pk=booked.pk).update(
            notes="changed", updated_at=datetime(2026, 12, 7, 16, 5, tzinfo=UTC)
        )
        response = _move(client, booked, datetime(2026, 12, 8, 14, tzinfo=LA), loaded=stale)
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.start == datetime(2026, 12, 8, 10, tzinfo=LA)


def test_another_locations_appointment_cannot_be_moved_or_shown(client, booked):
    client.force_login(front_desk_user(LocationFactory()))
    response = _move(client, booked, datetime(2026, 12, 8, 14, tzinfo=LA))
    assert response.status_code == 404
    booked.refresh_from_db()
    assert booked.start == datetime(2026, 12, 8, 10, tzinfo=LA)


def test_another_locations_practitioner_cannot_be_moved_to(client, booked):
    outsider = PractitionerFactory(locations=[LocationFactory()], services=[booked.service])
    client.force_login(front_desk_user(booked.location))
    _move(client, booked, datetime(2026, 12, 8, 14, tzinfo=LA), person=outsider)
    booked.refresh_from_db()
    assert booked.practitioner != outsider and booked.start == datetime(2026, 12, 8, 10, tzinfo=LA)


def test_a_cancelled_appointment_offers_no_move(client, booked):
    Appointment.objects.filter(pk=booked.pk).update(status=AppointmentStatus.CANCELLED)
    client.force_login(front_desk_user(booked.location))
    assert "Move to a free time" not in _page(client, booked)


def _messages(response):
    return [str(m) for m in response.wsgi_request._messages]


def test_a_hand_made_post_cannot_move_a_cancelled_appointment(client, booked):
    """Rule: only an active appointment holds a time to move; a cancelled one is booked anew."""
    Appointment.objects.filter(pk=booked.pk).update(status=AppointmentStatus.CANCELLED)
    client.force_login(front_desk_user(booked.location))
    response = _move(client, booked, datetime(2026, 12, 8, 14, tzinfo=LA))
    assert response.status_code == 302
    assert any("holds no time to move" in m for m in _messages(response))
    booked.refresh_from_db()
    assert booked.start == datetime(2026, 12, 8, 10, tzinfo=LA) and booked.status == AppointmentStatus.CANCELLED


def test_a_hand_made_post_cannot_move_one_part_of_a_visit(client, django_capture_on_commit_callbacks):
    """Rule: a visit moves as a whole; the move page refuses one of its parts and tells staff what to do."""
    from tests.support.visits import at, book, visit_clinic

    clinic = visit_clinic()
    first, second = book(clinic, [clinic.consultation, clinic.neurotoxin], at(9))
    client.force_login(front_desk_user(clinic.location))
    assert "Move to a free time" not in _page(client, second)
    with django_capture_on_commit_callbacks(execute=True):
        response = _move(client, second, at(15))
    assert any("one part of a visit" in m and "manage link" in m for m in _messages(response))
    assert [(a.start, a.status) for a in Appointment.objects.order_by("start")] == [
        (at(9), AppointmentStatus.BOOKED),
        (at(9, 30), AppointmentStatus.BOOKED),
    ]
