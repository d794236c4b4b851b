"""The front desk moves a whole visit of several services from the admin, and the appointment form never moves
one of its parts alone (which would break the visit's back-to-back times)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus, AssignedUnit, PractitionerService, TimeOff
from messaging.models import MessageKind, SmsMessage
from tests.support.builders import (
    AppointmentFactory,
    ClientFactory,
    LocationFactory,
    PractitionerFactory,
    WorkingHoursFactory,
)
from tests.support.front_desk import editing, front_desk_user
from tests.support.visits import at, book, visit_clinic

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
MOVE_VISIT_URL = reverse("admin:appointments_move_visit")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime(2026, 12, 7, 8, 0, tzinfo=LA), tick=False):
        yield


@pytest.fixture
def clinic():
    return visit_clinic()


@pytest.fixture
def visit(clinic):
    """Consultation with Avery at 9:00, then HydraFacial with Blake (and the room) at 9:30."""
    return book(clinic, [clinic.consultation, clinic.facial], at(9))


def _page(client, appointment):
    return client.get(reverse("admin:appointments_appointment_change", args=[appointment.pk])).content.decode()


def _version(parts):
    for part in parts:
        part.refresh_from_db()
    return max(p.updated_at for p in parts).isoformat()


def _move(client, appointment, start, people, loaded):
    return client.post(
        MOVE_VISIT_URL,
        {
            "appointment": appointment.pk,
            "start": start.astimezone(UTC).isoformat(),
            "practitioners": ",".join(str(p.pk) for p in people),
            "loaded_version": loaded,
        },
    )


def _messages(response):
    return [str(m) for m in response.wsgi_request._messages]


def _times(parts):
    return [(a.start, a.practitioner_id, a.status) for a in Appointment.objects.filter(visit=parts[0].visit)]


def test_a_visit_parts_page_offers_the_next_free_times_for_the_whole_visit(client, clinic, visit):
    client.force_login(front_desk_user(clinic.location))
    page = _page(client, visit[1])
    assert "Move the whole visit" in page and "Move to a free time" not in page
    assert f'value="{at(9, 15).astimezone(UTC).isoformat()}"' in page
    assert f'value="{clinic.avery.pk},{clinic.blake.pk}"' in page
    assert "Consultation with Avery, then HydraFacial with Blake" in page
    # Its own time, with its own practitioners, is not offered as a move.
    assert f'value="{at(9).astimezone(UTC).isoformat()}"' not in page


def test_moving_the_whole_visit_moves_every_part_together_and_tells_the_client_once(
    client, clinic, visit, django_capture_on_commit_callbacks
):
    """Rule: the visit moves as a whole, back to back, with its rooms, and the client is told once."""
    client.force_login(front_desk_user(clinic.location))
    first, second = visit
    loaded = _version(visit)
    mail.outbox.clear()
    texts_before = SmsMessage.objects.filter(kind=MessageKind.CONFIRMATION).count()
    with django_capture_on_commit_callbacks(execute=True):
        response = _move(client, second, at(14), [clinic.avery, clinic.blake], loaded)
    assert response.status_code == 302
    assert any("Moved the whole visit (2 services)" in m for m in _messages(response))
    assert _times(visit) == [
        (at(14), clinic.avery.pk, AppointmentStatus.BOOKED),
        (at(14, 30), clinic.blake.pk, AppointmentStatus.BOOKED),
    ]
    assert AssignedUnit.objects.get(appointment=second).start == at(14, 30)
    to_client = [m for m in mail.outbox if first.client.email in m.to]
    assert len(to_client) == 1
    assert SmsMessage.objects.filter(kind=MessageKind.CONFIRMATION).count() == texts_before + 1
    # Nothing is left at the old times.
    assert not Appointment.objects.filter(start__lt=at(10, 30), start__gte=at(9)).exists()


def test_a_visit_time_taken_since_the_page_was_shown_moves_nothing(client, clinic, visit):
    client.force_login(front_desk_user(clinic.location))
    loaded = _version(visit)
    # Someone books Blake's HydraFacial at 14:30 meanwhile.
    AppointmentFactory(location=clinic.location, service=clinic.facial, practitioner=clinic.blake, start=at(14, 30))
    response = _move(client, visit[0], at(14), [clinic.avery, clinic.blake], loaded)
    assert any("no longer fits" in m for m in _messages(response))
    assert [s for s, _, _ in _times(visit)] == [at(9), at(9, 30)]
    assert AssignedUnit.objects.get(appointment=visit[1]).start == at(9, 30)


def test_a_page_opened_before_another_change_to_the_visit_cannot_move_it(client, clinic, visit):
    client.force_login(front_desk_user(clinic.location))
    loaded = _version(visit)
    # The other part was changed (a second later) since the page was opened.
    with time_machine.travel(datetime(2026, 12, 7, 8, 0, 1, tzinfo=LA), tick=False):
        Appointment.objects.get(pk=visit[1].pk).save()
    response = _move(client, visit[0], at(14), [clinic.avery, clinic.blake], loaded)
    assert any("changed this visit after you opened it" in m for m in _messages(response))
    assert [s for s, _, _ in _times(visit)] == [at(9), at(9, 30)]


def test_another_locations_visit_or_practitioner_cannot_be_moved_to(client, clinic, visit):
    elsewhere = LocationFactory()
    client.force_login(front_desk_user(elsewhere))
    assert _move(client, visit[0], at(14), [clinic.avery, clinic.blake], _version(visit)).status_code == 404
    # At the visit's location, a practitioner of another location is not one to move to.
    stranger = PractitionerFactory(locations=[elsewhere], services=[clinic.consultation])
    client.force_login(front_desk_user(clinic.location))
    response = _move(client, visit[0], at(14), [stranger, clinic.blake], _version(visit))
    assert any("Choose one of the free times shown" in m for m in _messages(response))
    assert [s for s, _, _ in _times(visit)] == [at(9), at(9, 30)]


def test_a_visit_that_has_begun_offers_no_move_and_a_hand_made_post_moves_nothing(client, clinic, visit):
    """Rule: once a part is checked in, the visit has begun and no longer moves."""
    client.force_login(front_desk_user(clinic.location))
    loaded = _version(visit)
    Appointment.objects.filter(pk=visit[0].pk).update(status=AppointmentStatus.CHECKED_IN)
    assert "Move the whole visit" not in _page(client, visit[1])
    response = _move(client, visit[1], at(14), [clinic.avery, clinic.blake], loaded)
    assert any("can no longer be moved" in m for m in _messages(response))
    assert [s for s, _, _ in _times(visit)] == [at(9), at(9, 30)]


def test_a_visit_moves_to_a_time_where_another_practitioner_takes_a_part(client, clinic, visit):
    """The times shown keep the visit's practitioners where they fit, else any qualified one (as online)."""
    carmen = PractitionerFactory(name="Carmen", locations=[clinic.location], services=[clinic.facial])
    for weekday in range(7):
        WorkingHoursFactory(
            practitioner=carmen, location=clinic.location, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    # Blake is off the rest of the day after 11:00.
    TimeOff.objects.create(practitioner=clinic.blake, start=at(11), end=at(17))
    client.force_login(front_desk_user(clinic.location))
    page = _page(client, visit[0])
    assert f'value="{clinic.avery.pk},{carmen.pk}"' in page
    response = _move(client, visit[0], at(12), [clinic.avery, carmen], _version(visit))
    assert response.status_code == 302
    assert _times(visit) == [
        (at(12), clinic.avery.pk, AppointmentStatus.BOOKED),
        (at(12, 30), carmen.pk, AppointmentStatus.BOOKED),
    ]


def _change_form(appointment, **changes):
    appointment.refresh_from_db()
    local = appointment.start.astimezone(LA)
    data = {
        "client": appointment.client_id,
        "location": appointment.location_id,
        "service": appointment.service_id,
        "practitioner": appointment.practitioner_id,
        "start_0": local.date().isoformat(),
        "start_1": local.strftime("%H:%M"),
        "status": appointment.status,
        "source": appointment.source,
        "notes": "",
        **editing(appointment),
    }
    data.update(changes)
    return data


def test_the_appointment_form_refuses_to_change_one_part_of_a_visits_time(client, clinic, visit):
    """Rule: one part of a visit never moves alone from its form: staff are pointed to the whole visit's move."""
    client.force_login(front_desk_user(clinic.location))
    first, second = visit
    url = reverse("admin:appointments_appointment_change", args=[second.pk])
    response = client.post(url, _change_form(second, start_1="11:00"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "one part of a visit of several services" in page and "Move the whole visit" in page
    assert [s for s, _, _ in _times(visit)] == [at(9), at(9, 30)]
    # Its client cannot change alone either.
    response = client.post(url, _change_form(second, client=ClientFactory(preferred_location=clinic.location).pk))
    assert response.status_code == 200 and "one part of a visit" in response.content.decode()
    # Its status still can (the whole visit is confirmed).
    response = client.post(url, _change_form(second, status=AppointmentStatus.CONFIRMED))
    assert response.status_code == 302
    assert {s for _, _, s in _times(visit)} == {AppointmentStatus.CONFIRMED}


def test_the_appointment_form_lets_a_part_change_to_a_practitioner_who_takes_as_long(client, clinic):
    """Another practitioner keeps the visit back to back only when they take as long as the one replaced."""
    first, second = book(clinic, [clinic.neurotoxin, clinic.facial], at(9), practitioner_ids=[clinic.avery.pk, None])
    client.force_login(front_desk_user(clinic.location))
    url = reverse("admin:appointments_appointment_change", args=[first.pk])
    blakes = PractitionerService.objects.get(practitioner=clinic.blake, service=clinic.neurotoxin)
    blakes.duration_minutes = 45
    blakes.save()  # (saved, not updated: the booking pages' cached durations follow)
    response = client.post(url, _change_form(first, practitioner=clinic.blake.pk))
    assert response.status_code == 200 and "takes a different time" in response.content.decode()
    blakes.duration_minutes = 30
    blakes.save()
    response = client.post(url, _change_form(first, practitioner=clinic.blake.pk))
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.practitioner, first.start, first.end) == (clinic.blake, at(9), at(9, 30))


def test_a_visit_moved_by_the_front_desk_onto_the_day_clocks_go_back_keeps_its_parts_back_to_back(client):
    """DST: on 2027-11-07 Los Angeles repeats 1:00-2:00; the parts follow each other in real time across it."""
    clinic = visit_clinic(hours=(time(0), time(6)))
    with time_machine.travel(datetime(2027, 11, 1, 8, tzinfo=LA), tick=False):
        parts = book(clinic, [clinic.consultation, clinic.facial], datetime(2027, 11, 5, 1, tzinfo=LA))
        client.force_login(front_desk_user(clinic.location))
        start = datetime(2027, 11, 7, 8, 30, tzinfo=UTC)  # 1:30 AM PDT, half an hour before the clocks go back
        response = _move(client, parts[0], start, [clinic.avery, clinic.blake], _version(parts))
        assert response.status_code == 302 and not any("Not moved" in m for m in _messages(response))
    first, second = (Appointment.objects.get(pk=p.pk) for p in parts)
    assert (first.start, first.end) == (start, start + timedelta(minutes=30))
    # The HydraFacial starts 30 real minutes later: 1:00 AM again on the wall clock, now standard time.
    assert second.start == start + timedelta(minutes=30)
    assert second.start.astimezone(LA).strftime("%H:%M %Z") == "01:00 PST"


@pytest.mark.parametrize(
    ("appointment", "people", "start"),
    [
        ("99999999999999999999", None, None),
        ("abc", None, None),
        (None, "", None),
        (None, "1,,2", None),
        (None, "99999999999999999999,1", None),
        (None, "1,2,3,4,5,6", None),
        (None, None, "tomorrow"),
        (None, None, "9999-12-31T23:59:59+00:00"),
    ],
)
def test_a_hand_made_visit_move_with_odd_values_is_refused_never_a_500(
    client, clinic, visit, appointment, people, start
):
    client.force_login(front_desk_user(clinic.location))
    data = {
        "appointment": appointment or visit[0].pk,
        "start": start or at(14).astimezone(UTC).isoformat(),
        "practitioners": people if people is not None else f"{clinic.avery.pk},{clinic.blake.pk}",
        "loaded_version": _version(visit),
    }
    response = client.post(MOVE_VISIT_URL, data)
    assert response.status_code in (302, 404)
    assert [s for s, _, _ in _times(visit)] == [at(9), at(9, 30)]
