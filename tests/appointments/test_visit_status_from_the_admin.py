"""The admin's bulk status actions and the appointment form act on a client's whole visit, as the calendar does:
checking in, confirming, marking no-show or cancelling one part of a visit of several services changes every
part that can change, and a cancellation is told to the client once, naming every service."""

import pytest
from django.core import mail
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus
from messaging.models import MessageKind, SmsMessage
from tests.support.builders import AppointmentFactory, ClientFactory
from tests.support.front_desk import editing, front_desk_user
from tests.support.visits import at, book, visit_clinic

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:appointments_appointment_changelist")
S = AppointmentStatus


@pytest.fixture
def clinic():
    return visit_clinic()


@pytest.fixture
def parts(clinic):
    """A visit (consultation with Avery 9:00, then HydraFacial with Blake 9:30) and another client's booking."""
    first, second = book(clinic, [clinic.consultation, clinic.facial], at(9))
    other = AppointmentFactory(
        location=clinic.location,
        service=clinic.neurotoxin,
        practitioner=clinic.avery,
        client=ClientFactory(preferred_location=clinic.location),
        start=at(11),
    )
    return first, second, other


def statuses(*appointments):
    return [Appointment.objects.get(pk=a.pk).status for a in appointments]


def cancellation_texts():
    return SmsMessage.objects.filter(kind=MessageKind.OTHER, body__contains="is cancelled")


def _act(client, action, *appointments):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [a.pk for a in appointments]}, follow=True
    ).content.decode()


@pytest.mark.parametrize("status", [S.CHECKED_IN, S.NO_SHOW, S.CONFIRMED])
def test_a_bulk_status_action_on_one_part_of_a_visit_changes_the_whole_visit_and_nothing_else(
    client, clinic, parts, status
):
    first, second, other = parts
    client.force_login(front_desk_user(clinic.location))
    page = _act(client, f"mark_{status}", second)
    assert statuses(first, second, other) == [status, status, S.BOOKED]
    assert "2 appointment(s) marked" in page and "takes the whole visit with it" in page


def test_a_bulk_cancellation_of_a_visit_part_cancels_the_visit_and_tells_the_client_once(
    client, clinic, parts, django_capture_on_commit_callbacks
):
    first, second, other = parts
    client.force_login(front_desk_user(clinic.location))
    with django_capture_on_commit_callbacks(execute=True):
        _act(client, "mark_cancelled", second)
    assert statuses(first, second, other) == [S.CANCELLED, S.CANCELLED, S.BOOKED]
    assert len(mail.outbox) == 1 and "is cancelled" in mail.outbox[0].subject
    assert "Consultation" in mail.outbox[0].body and "HydraFacial" in mail.outbox[0].body
    assert cancellation_texts().count() == 1


def test_selecting_every_part_of_a_visit_still_tells_the_client_once(
    client, clinic, parts, django_capture_on_commit_callbacks
):
    first, second, other = parts
    client.force_login(front_desk_user(clinic.location))
    with django_capture_on_commit_callbacks(execute=True):
        page = _act(client, "mark_cancelled", first, second, other)
    assert statuses(first, second, other) == [S.CANCELLED] * 3
    assert "3 appointment(s) marked cancelled" in page
    # The visit's one notice and the other client's own.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.client.email, other.client.email])


def test_a_part_already_completed_stays_completed_when_the_rest_of_the_visit_is_cancelled(client, clinic, parts):
    first, second, _ = parts
    Appointment.objects.filter(pk=first.pk).update(status=S.COMPLETED)
    client.force_login(front_desk_user(clinic.location))
    _act(client, "mark_cancelled", second)
    assert statuses(first, second) == [S.COMPLETED, S.CANCELLED]


def _change_form(appointment, **changes):
    appointment.refresh_from_db()
    local = appointment.local_start
    data = {
        "client": appointment.client_id,
        "location": appointment.location_id,
        "service": appointment.service_id,
        "practitioner": appointment.practitioner_id,
        "start_0": local.date().isoformat(),
        "start_1": local.strftime("%H:%M"),
        "status": appointment.status,
        "source": appointment.source,
        "notes": appointment.notes,
        **editing(appointment),
    }
    data.update(changes)
    return data


def test_cancelling_one_part_of_a_visit_on_its_form_cancels_the_visit_and_tells_the_client_once(
    client, clinic, parts, django_capture_on_commit_callbacks
):
    first, second, other = parts
    client.force_login(front_desk_user(clinic.location))
    page = client.get(reverse("admin:appointments_appointment_change", args=[second.pk])).content.decode()
    assert "applies to the whole visit" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:appointments_appointment_change", args=[second.pk]),
            _change_form(second, status=S.CANCELLED),
        )
    assert response.status_code == 302
    assert statuses(first, second, other) == [S.CANCELLED, S.CANCELLED, S.BOOKED]
    assert len(mail.outbox) == 1
    assert "Consultation" in mail.outbox[0].body and "HydraFacial" in mail.outbox[0].body
    assert cancellation_texts().count() == 1


def test_checking_in_one_part_of_a_visit_on_its_form_checks_in_the_whole_visit(client, clinic, parts):
    first, second, other = parts
    client.force_login(front_desk_user(clinic.location))
    response = client.post(
        reverse("admin:appointments_appointment_change", args=[first.pk]),
        _change_form(first, status=S.CHECKED_IN),
        follow=True,
    )
    assert "The whole visit is checked in" in response.content.decode()
    assert statuses(first, second, other) == [S.CHECKED_IN, S.CHECKED_IN, S.BOOKED]


def test_completing_one_part_on_its_form_completes_only_that_part(client, clinic, parts):
    first, second, _ = parts
    Appointment.objects.filter(pk__in=[first.pk, second.pk]).update(status=S.CHECKED_IN)
    client.force_login(front_desk_user(clinic.location))
    client.post(
        reverse("admin:appointments_appointment_change", args=[first.pk]), _change_form(first, status=S.COMPLETED)
    )
    assert statuses(first, second) == [S.COMPLETED, S.CHECKED_IN]
