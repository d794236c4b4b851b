"""SMS pumping: texts only to the countries the clinic serves.

One booking text a day to a number that never texted us.
"""

import os
import subprocess
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django import forms

from appointments.forms import MobilePhoneField
from appointments.models import AppointmentSource
from messaging.confirmations import DAILY_CAP_REASON, queue_booking_confirmation
from messaging.inbound import ReplyRefused, send_staff_reply
from messaging.models import Direction, MessageKind, MessageStatus, SmsMessage
from messaging.outbox import queue_message
from messaging.reminders import dispatch_due_reminders
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, StaffFactory, bookable_clinic
from tests.support.sms import CLINIC_NUMBER
from tests.support.sms import inbound as text_in

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
PHONE = "+14085550143"
ABROAD = "+33612345678"  # a valid French mobile
ROOT = Path(__file__).resolve().parents[2]


# --- Countries ------------------------------------------------------------------


@pytest.mark.parametrize("number", [ABROAD, "+18765551234"])  # France; Jamaica shares +1 with the US
def test_booking_form_refuses_numbers_outside_the_served_countries_with_a_clear_message(number):
    with pytest.raises(forms.ValidationError) as error:
        MobilePhoneField().clean(number)
    assert "We can only text mobile numbers in the United States and Canada" in error.value.messages[0]


def test_booking_form_takes_us_and_canadian_mobiles_and_follows_the_setting(settings):
    assert str(MobilePhoneField().clean("(408) 555-0143")) == PHONE
    assert str(MobilePhoneField().clean("+1 613 555 0123")) == "+16135550123"
    settings.SMS_ALLOWED_COUNTRIES = ["US", "FR"]
    assert str(MobilePhoneField().clean(ABROAD)) == ABROAD


def test_an_unknown_country_code_in_the_setting_stops_start_up():
    env = {**os.environ, "SMS_ALLOWED_COUNTRIES": "US,XX", "DJANGO_SETTINGS_MODULE": "clinic.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "SMS_ALLOWED_COUNTRIES" in result.stderr and "XX" in result.stderr


@pytest.fixture
def clinic():
    location, service, (practitioner,) = bookable_clinic(hours=((time(8), time(20)),))
    return location, service, practitioner


def book(clinic, client, start, source=AppointmentSource.ONLINE):
    location, service, practitioner = clinic
    return AppointmentFactory(
        location=location, service=service, practitioner=practitioner, client=client, start=start, source=source
    )


def consenting(phone):
    person = ClientFactory(mobile_phone=phone)
    record_consent(
        client=person,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    return person


def test_the_send_path_refuses_other_countries_and_records_why(clinic, sms_outbox, django_capture_on_commit_callbacks):
    person = consenting(ABROAD)  # e.g. typed in by staff, or on file from before the setting
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        appointment = book(clinic, person, NOW + timedelta(days=2))
        queue_booking_confirmation(appointment_id=appointment.pk)
        queued = queue_message(
            to_number=ABROAD, body="Hi", location=clinic[0], client=None, kind=MessageKind.OTHER, now=NOW
        )
    assert sms_outbox == []
    confirmation = SmsMessage.objects.get(kind=MessageKind.CONFIRMATION)
    queued.refresh_from_db()
    for row in (confirmation, queued):
        assert row.status == MessageStatus.SKIPPED and "SMS_ALLOWED_COUNTRIES" in row.status_reason
    inbound = SmsMessage.objects.create(
        direction=Direction.INBOUND,
        from_number=ABROAD,
        to_number="+14088211633",
        body="hi",
        status=MessageStatus.RECEIVED,
    )
    with pytest.raises(ReplyRefused, match="countries"):
        send_staff_reply(inbound_id=inbound.pk, body="Hello", staff_user=StaffFactory())


# --- One unsolicited booking text a day -------------------------------------------------


def run_confirmations(capture, appointments, now):
    with time_machine.travel(now, tick=False), capture(execute=True):
        for appointment in appointments:
            queue_booking_confirmation(appointment_id=appointment.pk, now=now)


def test_a_bot_booking_many_times_with_one_number_gets_one_text_a_day(
    clinic, sms_outbox, django_capture_on_commit_callbacks
):
    """Each booking makes a new client record (the identity rule), all with the same number that never texted us."""
    with time_machine.travel(NOW, tick=False):
        bookings = [book(clinic, consenting(PHONE), NOW + timedelta(days=1, hours=h)) for h in range(5)]
    run_confirmations(django_capture_on_commit_callbacks, bookings, NOW)
    assert len(sms_outbox) == 1
    skipped = SmsMessage.objects.filter(kind=MessageKind.CONFIRMATION, status=MessageStatus.SKIPPED)
    assert skipped.count() == 4 and {m.status_reason for m in skipped} == {DAILY_CAP_REASON}
    # Reminders follow only for the booking whose confirmation went out.
    for hours in (0, 22):
        now = NOW + timedelta(hours=hours)
        with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
            dispatch_due_reminders(now=now)
    reminders = SmsMessage.objects.filter(kind=MessageKind.REMINDER)
    assert {m.appointment_id for m in reminders} == {bookings[0].pk}
    # A day later the number may get one again.
    with time_machine.travel(NOW + timedelta(days=1, hours=1), tick=False):
        later = book(clinic, consenting(PHONE), NOW + timedelta(days=3))
    run_confirmations(django_capture_on_commit_callbacks, [later], NOW + timedelta(days=1, hours=1))
    assert SmsMessage.objects.get(appointment=later, kind=MessageKind.CONFIRMATION).status == MessageStatus.SENT


def test_a_number_that_has_texted_us_and_front_desk_bookings_are_not_capped(
    client, clinic, sms_outbox, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        desk = [
            book(clinic, consenting(PHONE), NOW + timedelta(days=1, hours=h), source=AppointmentSource.FRONT_DESK)
            for h in range(2)
        ]
        online = [book(clinic, consenting("+14085550144"), NOW + timedelta(days=1, hours=h)) for h in range(3, 5)]
        text_in(client, "Hi, see you soon", sender="+14085550144")
    run_confirmations(django_capture_on_commit_callbacks, desk + online, NOW)
    assert len(sms_outbox) == 4


def test_a_reschedule_of_the_same_booking_is_not_capped(clinic, sms_outbox, django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False):
        appointment = book(clinic, consenting(PHONE), NOW + timedelta(days=1))
    run_confirmations(django_capture_on_commit_callbacks, [appointment], NOW)
    appointment.start, appointment.end = appointment.start + timedelta(hours=2), appointment.end + timedelta(hours=2)
    appointment.save()
    run_confirmations(django_capture_on_commit_callbacks, [appointment], NOW + timedelta(hours=1))
    assert len(sms_outbox) == 2


def test_the_booking_page_refuses_a_foreign_number_and_books_nothing(client):
    from django.urls import reverse

    from appointments.models import Appointment

    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    with time_machine.travel(datetime(2026, 12, 6, 18, 0, tzinfo=LA), tick=False):
        response = client.post(
            reverse("appointments:details", args=[location.slug, service.slug]),
            {
                "start": datetime(2026, 12, 7, 10, 0, tzinfo=LA).isoformat(),
                "practitioner": "any",
                "first_name": "Bot",
                "last_name": "Pump",
                "email": "bot@example.com",
                "mobile_phone": ABROAD,
                "is_adult": "on",
                "accept_privacy_policy": "on",
                "sms_reminders": "on",
            },
        )
    assert response.status_code == 200
    assert "We can only text mobile numbers in the United States and Canada" in response.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.policy("sms-program")
def test_rescheduling_one_booking_over_and_over_does_not_pump_texts(
    clinic, sms_outbox, django_capture_on_commit_callbacks
):
    """Rule: a number that never texted us gets one booking text a day, and one more for moving that booking.

    Attack: the reschedule exemption let a bot book once with a number and move the
    booking to slot after slot through its manage link, one confirmation text each.
    """
    with time_machine.travel(NOW, tick=False):
        appointment = book(clinic, consenting(PHONE), NOW + timedelta(days=1))
    run_confirmations(django_capture_on_commit_callbacks, [appointment], NOW)
    for move in range(1, 6):
        appointment.start, appointment.end = (
            appointment.start + timedelta(hours=1),
            appointment.end + timedelta(hours=1),
        )
        appointment.save()
        run_confirmations(django_capture_on_commit_callbacks, [appointment], NOW + timedelta(minutes=10 * move))
    assert len(sms_outbox) == 2
    skipped = SmsMessage.objects.filter(kind=MessageKind.CONFIRMATION, status=MessageStatus.SKIPPED)
    assert skipped.count() == 4
    # The person who really moved their booking still gets its reminders.
    reminder_time = appointment.start - timedelta(hours=2)
    with time_machine.travel(reminder_time, tick=False), django_capture_on_commit_callbacks(execute=True):
        dispatch_due_reminders(now=reminder_time)
    assert SmsMessage.objects.filter(kind=MessageKind.REMINDER, appointment_start=appointment.start).exists()


def test_the_clinics_own_sending_number_typed_into_bookings_is_capped_as_never_heard_from(
    clinic, sms_outbox, django_capture_on_commit_callbacks
):
    """Only a text FROM the number proves a person holds it: the clinic's own texts sent from its number do not."""
    location = clinic[0]
    location.sms_from_number = CLINIC_NUMBER
    location.save()
    with time_machine.travel(NOW, tick=False):
        regular = book(clinic, consenting(PHONE), NOW + timedelta(days=1))
        run_confirmations(django_capture_on_commit_callbacks, [regular], NOW)
        assert SmsMessage.objects.filter(direction=Direction.OUTBOUND, from_number=CLINIC_NUMBER).exists()
        bookings = [book(clinic, consenting(CLINIC_NUMBER), NOW + timedelta(days=1, hours=h)) for h in (2, 3)]
    run_confirmations(django_capture_on_commit_callbacks, bookings, NOW)
    assert len([m for m in sms_outbox if m.to == CLINIC_NUMBER]) == 1


def test_a_text_from_another_number_does_not_uncap_a_number_never_heard_from(
    client, clinic, sms_outbox, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        text_in(client, "Hi, see you soon", sender="+14085550144")
        bookings = [book(clinic, consenting(PHONE), NOW + timedelta(days=1, hours=h)) for h in (2, 3)]
    run_confirmations(django_capture_on_commit_callbacks, bookings, NOW)
    assert len([m for m in sms_outbox if m.to == PHONE]) == 1
