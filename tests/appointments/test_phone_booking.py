"""The front desk books a caller by phone: the online engine's free times, the client on file or a new
record, and the caller's spoken consent to texts recorded in the words read to them, through a named staff member."""

import re
from datetime import UTC, datetime, time
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from appointments.availability import find_free_slots
from appointments.models import Appointment, AppointmentSource
from clinic.models import Client
from messaging.models import MessageKind, MessageStatus, SmsMessage
from privacy.models import ConsentActor, ConsentPurpose, ConsentRecord, ConsentSource
from privacy.notices import phone_call_notices
from tests.support.builders import AppointmentFactory, ClientFactory, LocationFactory, bookable_clinic
from tests.support.front_desk import front_desk_user
from tests.support.sms import inbound

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
URL = reverse("admin:appointments_phone_booking")
PHONE = "+14085550143"


@pytest.fixture(autouse=True)
def frozen_time():
    # A Monday morning before opening (online notice rules apply: noon is bookable).
    with time_machine.travel(datetime(2026, 12, 7, 8, 0, tzinfo=LA), tick=False):
        yield


@pytest.fixture
def clinic():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    return location, service, person


def _search(location, service, **extra):
    return URL + "?" + urlencode({"location": location.pk, "service": service.pk, "day": "2026-12-07", **extra})


def _first_time(location, service, person, hh=12):
    # As the page offers it: the slot's start in UTC, and who is free then.
    start = datetime(2026, 12, 7, hh, 0, tzinfo=LA).astimezone(UTC)
    return f"{start.isoformat()}|{person.pk}"


def _new_caller(location, service, person, **extra):
    return {
        "time": _first_time(location, service, person),
        "first_name": "Rosa",
        "last_name": "Caller",
        "mobile_phone": PHONE,
        "email": "rosa@example.com",
        "privacy_notice_read": "on",
        **extra,
    }


def _texts_consent(client_record):
    return ConsentRecord.objects.filter(client=client_record, purpose=ConsentPurpose.SMS_REMINDERS)


def test_the_free_times_offered_are_the_online_engines(client, clinic):
    location, service, person = clinic
    client.force_login(front_desk_user(location))
    page = client.get(_search(location, service)).content.decode()
    first = find_free_slots(
        location=location,
        service=service,
        start_date=datetime(2026, 12, 7).date(),
        end_date=datetime(2026, 12, 7).date(),
    )[0]
    assert f'value="{first.start.isoformat()}|{person.pk}"' in page
    assert "with " + person.name in page


def test_a_new_caller_who_agrees_to_texts_is_booked_with_the_words_read_to_them_in_the_ledger(
    client, clinic, django_capture_on_commit_callbacks
):
    location, service, person = clinic
    staff = front_desk_user(location)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_search(location, service), _new_caller(location, service, person, texts_agreed="on"))
    assert response.status_code == 302, re.findall(r"errorlist.{0,300}", response.content.decode())
    appointment = Appointment.objects.get()
    assert (appointment.start, appointment.practitioner, appointment.source) == (
        datetime(2026, 12, 7, 12, 0, tzinfo=LA),
        person,
        AppointmentSource.FRONT_DESK,
    )
    caller = appointment.client
    assert (caller.first_name, str(caller.mobile_phone), caller.email) == ("Rosa", PHONE, "rosa@example.com")
    consent = _texts_consent(caller).get()
    assert consent.granted
    assert consent.notice_text == phone_call_notices()[ConsentPurpose.SMS_REMINDERS]
    assert (consent.source, consent.actor, consent.staff_user) == (ConsentSource.PHONE_CALL, ConsentActor.STAFF, staff)
    notice = ConsentRecord.objects.get(client=caller, purpose=ConsentPurpose.PRIVACY_POLICY)
    assert notice.notice_text == phone_call_notices()[ConsentPurpose.PRIVACY_POLICY]
    assert notice.staff_user == staff
    # The confirmation goes out at once: a text (consent given) and an email.
    assert SmsMessage.objects.filter(appointment=appointment, kind=MessageKind.CONFIRMATION).count() == 1
    assert [m.to for m in mail.outbox] == [["rosa@example.com"]]


def test_a_caller_who_did_not_agree_to_texts_gets_no_text_and_no_consent_is_recorded(
    client, clinic, django_capture_on_commit_callbacks
):
    location, service, person = clinic
    client.force_login(front_desk_user(location))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_search(location, service), _new_caller(location, service, person))
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert not _texts_consent(appointment.client).exists()
    assert not SmsMessage.objects.filter(appointment=appointment).exists()
    assert len(mail.outbox) == 1


def test_a_new_caller_is_not_added_before_the_privacy_notice_is_read_to_them(client, clinic):
    location, service, person = clinic
    client.force_login(front_desk_user(location))
    data = _new_caller(location, service, person)
    del data["privacy_notice_read"]
    response = client.post(_search(location, service), data)
    assert response.status_code == 200
    assert "Read the caller how we use their details" in response.content.decode()
    assert not Appointment.objects.exists() and not Client.objects.exists()


def test_consent_for_a_client_on_file_needs_to_say_how_staff_knew_the_caller_is_them(
    client, clinic, django_capture_on_commit_callbacks
):
    location, service, person = clinic
    on_file = ClientFactory(preferred_location=location, mobile_phone=PHONE)
    client.force_login(front_desk_user(location))
    data = {"time": _first_time(location, service, person), "client": on_file.pk, "texts_agreed": "on"}
    response = client.post(_search(location, service), data)
    assert response.status_code == 200
    assert "Say how you know the caller is this client" in response.content.decode()
    assert not Appointment.objects.exists() and not _texts_consent(on_file).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_search(location, service), {**data, "identity_check": "date of birth on file"})
    assert response.status_code == 302
    assert Appointment.objects.get().client == on_file
    consent = _texts_consent(on_file).get()
    assert consent.source == ConsentSource.PHONE_CALL
    assert "date of birth on file" in consent.evidence
    # No new record, and the privacy notice row is only for new records.
    assert Client.objects.count() == 1


def test_a_client_of_another_location_cannot_be_booked_or_given_consent_by_phone(client, clinic):
    location, service, person = clinic
    elsewhere = ClientFactory(preferred_location=LocationFactory(), mobile_phone=PHONE)
    client.force_login(front_desk_user(location))
    data = {
        "time": _first_time(location, service, person),
        "client": elsewhere.pk,
        "texts_agreed": "on",
        "identity_check": "date of birth on file",
    }
    response = client.post(_search(location, service), data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Appointment.objects.exists() and not _texts_consent(elsewhere).exists()


def test_another_locations_times_cannot_be_searched(client, clinic):
    location, service, person = clinic
    client.force_login(front_desk_user(LocationFactory()))
    page = client.get(_search(location, service)).content.decode()
    assert "Select a valid choice" in page
    assert 'name="time"' not in page


def test_a_new_caller_with_the_phone_of_a_client_on_file_is_asked_to_pick_them_first(
    client, clinic, django_capture_on_commit_callbacks
):
    location, service, person = clinic
    ClientFactory(preferred_location=location, mobile_phone=PHONE, first_name="Dana", last_name="Onfile")
    client.force_login(front_desk_user(location))
    response = client.post(_search(location, service), _new_caller(location, service, person))
    assert response.status_code == 200
    assert "A client on file has this phone or email (Dana Onfile)" in response.content.decode()
    assert not Appointment.objects.exists() and Client.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_search(location, service), _new_caller(location, service, person, create_anyway="on"))
    assert response.status_code == 302
    assert Client.objects.count() == 2


def test_a_time_taken_since_the_search_books_nothing_and_adds_no_client(client, clinic):
    location, service, person = clinic
    client.force_login(front_desk_user(location))
    AppointmentFactory(
        location=location, service=service, practitioner=person, start=datetime(2026, 12, 7, 12, tzinfo=LA)
    )
    response = client.post(_search(location, service), _new_caller(location, service, person, texts_agreed="on"))
    assert response.status_code == 200
    # The time is no longer among the choices: the form says to choose another; nothing half-written.
    assert "Select a valid choice" in response.content.decode() or "Choose another time" in response.content.decode()
    assert Appointment.objects.count() == 1
    assert not Client.objects.filter(first_name="Rosa").exists()
    assert not ConsentRecord.objects.filter(source=ConsentSource.PHONE_CALL).exists()


def test_a_booking_refused_under_the_lock_rolls_back_the_new_client_and_its_consents(clinic):
    from appointments import services

    location, service, person = clinic
    AppointmentFactory(
        location=location, service=service, practitioner=person, start=datetime(2026, 12, 7, 12, tzinfo=LA)
    )
    with pytest.raises(services.FrontDeskBookingRefused):
        services.book_phone_call(
            staff_user=front_desk_user(location),
            location=location,
            service=service,
            practitioner=person,
            start=datetime(2026, 12, 7, 12, tzinfo=LA),
            new_client=services.ClientDetails(first_name="Rosa", last_name="Caller", email="", mobile_phone=PHONE),
            texts_agreed=True,
        )
    assert not Client.objects.filter(first_name="Rosa").exists()
    assert not ConsentRecord.objects.filter(source=ConsentSource.PHONE_CALL).exists()


def test_spoken_consent_does_not_outrank_a_stop_the_number_texted(client, clinic, django_capture_on_commit_callbacks):
    location, service, person = clinic
    on_file = ClientFactory(preferred_location=location, mobile_phone=PHONE, email="dana@example.com")
    assert inbound(client, "STOP", sender=PHONE).status_code == 200
    client.force_login(front_desk_user(location))
    data = {
        "time": _first_time(location, service, person),
        "client": on_file.pk,
        "texts_agreed": "on",
        "identity_check": "date of birth on file",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_search(location, service), data)
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert _texts_consent(on_file).get(source=ConsentSource.PHONE_CALL).granted
    assert not SmsMessage.objects.filter(
        appointment=appointment, status__in=[MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DELIVERED]
    ).exists()
    assert len(mail.outbox) == 1


def test_the_book_by_phone_page_is_linked_from_the_appointments_list(client, clinic):
    location, _, _ = clinic
    client.force_login(front_desk_user(location))
    assert URL in client.get(reverse("admin:appointments_appointment_changelist")).content.decode()


@pytest.mark.parametrize("day", ["9999-12-31", "9999-12-26", "0001-01-01", "2026-12-06"])
def test_a_search_from_a_day_in_the_past_or_beyond_any_calendar_is_refused_not_a_server_error(client, clinic, day):
    location, service, _ = clinic
    client.force_login(front_desk_user(location))
    page = client.get(_search(location, service, day=day))
    assert page.status_code == 200
    assert page.context["search"].errors["day"] and page.context["booking"] is None


def test_a_spanish_caller_hears_the_spanish_words_and_the_ledger_and_confirmation_are_in_spanish(
    client, clinic, django_capture_on_commit_callbacks
):
    location, service, person = clinic
    staff = front_desk_user(location)
    client.force_login(staff)
    with translation.override("es"):
        spanish = phone_call_notices()
    page = client.get(_search(location, service, language="es")).content.decode()
    # The words to read are shown in Spanish (marked as Spanish for a screen reader); the admin stays English.
    assert f'<span lang="es">{spanish[ConsentPurpose.SMS_REMINDERS]}</span>' in page.replace("&quot;", '"')
    assert "¿Puede" in page and "May " + settings.CLINIC_NAME not in page and "Book a caller by phone" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _search(location, service, language="es"), _new_caller(location, service, person, texts_agreed="on")
        )
    assert response.status_code == 302
    caller = Appointment.objects.get().client
    assert caller.language == "es"  # later reminders and emails are written in Spanish too
    for purpose in (ConsentPurpose.PRIVACY_POLICY, ConsentPurpose.SMS_REMINDERS):
        record = ConsentRecord.objects.get(client=caller, purpose=purpose)
        assert (record.notice_text, record.language, record.staff_user) == (spanish[purpose], "es", staff)
    assert mail.outbox[0].subject.startswith("Su cita de")
    text = SmsMessage.objects.get(kind=MessageKind.CONFIRMATION).body
    assert ": su cita de " in text and "ALTO para cancelar." in text


def test_a_client_on_file_booked_in_the_language_the_desk_chose_is_written_to_in_it_from_now_on(
    client, clinic, django_capture_on_commit_callbacks
):
    location, service, person = clinic
    on_file = ClientFactory(preferred_location=location, mobile_phone=PHONE, language="en", email="ana@example.com")
    client.force_login(front_desk_user(location))
    data = {"time": _first_time(location, service, person), "client": on_file.pk}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(_search(location, service, language="es"), data).status_code == 302
    on_file.refresh_from_db()
    assert on_file.language == "es" and mail.outbox[0].subject.startswith("Su cita de")


def test_without_a_language_chosen_the_words_and_the_ledger_are_english(client, clinic):
    location, service, person = clinic
    client.force_login(front_desk_user(location))
    assert client.post(_search(location, service), _new_caller(location, service, person)).status_code == 302
    record = ConsentRecord.objects.get(purpose=ConsentPurpose.PRIVACY_POLICY)
    assert record.language == "en" and record.notice_text == phone_call_notices()[ConsentPurpose.PRIVACY_POLICY]


def test_the_book_by_phone_page_has_one_heading_of_its_own_and_says_what_the_callers_language_does(client, clinic):
    location, service, _ = clinic
    client.force_login(front_desk_user(location))
    page = client.get(_search(location, service)).content.decode()
    assert page.count("Book a caller by phone</h1>") == 1
    assert "The words to read, the confirmation and later texts and emails are in it." in page
