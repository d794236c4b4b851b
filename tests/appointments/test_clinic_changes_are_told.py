"""The front desk's cancellation or move tells the client as an online change does: an email, and a text
only with their consent; a client's own online cancellation needs no notice."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from appointments import services
from appointments.models import Appointment, AppointmentStatus
from messaging.models import MessageKind, SmsMessage
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.front_desk import add_form, editing, front_desk_user

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
MONDAY = datetime(2026, 12, 7, tzinfo=LA)
CHANGELIST = reverse("admin:appointments_appointment_changelist")


@pytest.fixture(autouse=True)
def monday_morning():
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=LA), tick=False):
        yield


def visit(*, texts_ok):
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    someone = ClientFactory(mobile_phone="+14085550143", email="dana@example.com", preferred_location=location)
    if texts_ok:
        record_consent(
            client=someone,
            purpose=ConsentPurpose.SMS_REMINDERS,
            granted=True,
            notice_text="Texts",
            source=ConsentSource.BOOKING_FORM,
        )
    return AppointmentFactory(
        client=someone, location=location, service=service, practitioner=person, start=MONDAY.replace(hour=15)
    )


def cancellation_texts(appointment):
    return SmsMessage.objects.filter(appointment=appointment, kind=MessageKind.OTHER, body__contains="is cancelled")


@pytest.mark.policy("sms-program")
def test_a_cancellation_from_the_admin_list_emails_and_texts_a_client_who_agreed_to_texts(
    client, django_capture_on_commit_callbacks
):
    appointment = visit(texts_ok=True)
    client.force_login(front_desk_user(appointment.location))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CHANGELIST, {"action": "mark_cancelled", "_selected_action": [appointment.pk]})
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert [m.to for m in mail.outbox] == [["dana@example.com"]]
    assert "is cancelled" in mail.outbox[0].subject and "3:00 PM PST" in mail.outbox[0].body
    assert cancellation_texts(appointment).count() == 1


@pytest.mark.policy("sms-program")
def test_without_consent_to_texts_the_client_gets_the_email_only(client, django_capture_on_commit_callbacks):
    appointment = visit(texts_ok=False)
    client.force_login(front_desk_user(appointment.location))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CHANGELIST, {"action": "mark_cancelled", "_selected_action": [appointment.pk]})
    assert len(mail.outbox) == 1
    assert not cancellation_texts(appointment).exists()


def test_a_cancellation_in_the_form_tells_the_client_once_even_if_the_task_runs_again(
    client, django_capture_on_commit_callbacks
):
    appointment = visit(texts_ok=True)
    client.force_login(front_desk_user(appointment.location))
    form = add_form(
        appointment.location,
        appointment.service,
        appointment.practitioner,
        appointment.client,
        15,
        status=AppointmentStatus.CANCELLED,
    )
    form.update(editing(appointment))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:appointments_appointment_change", args=[appointment.pk]), form)
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and cancellation_texts(appointment).count() == 1
    # A retried task sends nothing more.
    assert services.send_change_email(appointment_id=appointment.pk, change=services.CANCELLED_CHANGE) is False
    assert len(mail.outbox) == 1


def test_a_move_in_the_form_emails_the_new_time_and_texts_it_with_consent(client, django_capture_on_commit_callbacks):
    appointment = visit(texts_ok=True)
    client.force_login(front_desk_user(appointment.location))
    form = add_form(appointment.location, appointment.service, appointment.practitioner, appointment.client, 16)
    form.update(editing(appointment))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:appointments_appointment_change", args=[appointment.pk]), form)
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "has moved" in mail.outbox[0].subject
    assert "4:00 PM PST" in mail.outbox[0].body
    assert SmsMessage.objects.filter(appointment=appointment, kind=MessageKind.CONFIRMATION).count() == 1


def test_the_clients_own_cancellation_online_sends_no_notice(django_capture_on_commit_callbacks, settings):
    settings.BOOKING_CHANGE_CUTOFF_HOURS = 1
    appointment = visit(texts_ok=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment_by_client(appointment_id=appointment.pk)
    assert mail.outbox == [] and not cancellation_texts(appointment).exists()


def test_a_past_visit_marked_cancelled_tells_no_one(client, django_capture_on_commit_callbacks):
    appointment = visit(texts_ok=True)
    Appointment.objects.filter(pk=appointment.pk).update(start=MONDAY.replace(hour=8), end=MONDAY.replace(hour=9))
    client.force_login(front_desk_user(appointment.location))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CHANGELIST, {"action": "mark_cancelled", "_selected_action": [appointment.pk]})
    assert mail.outbox == [] and not SmsMessage.objects.exists()
