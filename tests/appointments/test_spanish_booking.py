"""Booking in Spanish (issue 20, "In the client's language"): the pages, the cached week, the client's
remembered language, the confirmation email, and the consent ledger's words in the language shown."""

import hashlib
from datetime import time

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import translation

from appointments import slot_cache
from clinic.models import Client
from privacy.models import ConsentPurpose, ConsentRecord
from privacy.notices import booking_notices
from tests.support.booking import MONDAY_10, SUNDAY_EVENING, booking_form, booking_form_url, details_url
from tests.support.builders import bookable_clinic

pytestmark = pytest.mark.django_db

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es"}


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


@pytest.fixture
def clinic():
    location, service, people = bookable_clinic(hours=((time(9), time(17)),))
    return location, service, people[0]


@pytest.fixture
def book(client, django_capture_on_commit_callbacks):
    def post(url, data, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, **extra)

    return post


def page(client, url, **extra):
    response = client.get(url, **extra)
    assert response.status_code == 200
    return response.content.decode()


def spanish_notices():
    with translation.override("es"):
        return booking_notices()


def test_the_booking_pages_follow_the_browsers_spanish(client, clinic):
    location, service, _ = clinic
    home = page(client, "/", **SPANISH)
    assert '<html lang="es">' in home and "Reservar una cita" in home
    assert "Book an appointment" not in home and "Privacy policy" not in home
    services = page(client, reverse("appointments:choose_service", args=[location.slug]), **SPANISH)
    assert "Elija un servicio en" in services and "Choose a service" not in services
    week = page(client, reverse("appointments:choose_time", args=[location.slug, service.slug]), **SPANISH)
    assert "Elija un horario para" in week and "Semana siguiente" in week and "Next week" not in week
    details = page(client, booking_form_url(location, service, MONDAY_10), **SPANISH)
    assert "Tengo 18 años o más" in details and "Reservar cita" in details
    assert spanish_notices()[ConsentPurpose.SMS_REMINDERS] in details
    assert "I am 18 or older" not in details and "Text me appointment confirmations" not in details


def test_english_stays_the_default(client, clinic):
    home = page(client, "/")
    assert '<html lang="en">' in home and "Book an appointment" in home


def test_the_language_chooser_is_a_plain_form_and_its_choice_is_kept(client, clinic):
    home = page(client, "/")
    assert 'action="/i18n/setlang/"' in home and '<label for="language-choice">Language</label>' in home
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert response.cookies["language"].value == "es"
    # Whatever the browser says, the choice made on the page wins.
    assert "Reservar una cita" in page(client, "/", HTTP_ACCEPT_LANGUAGE="en")


def test_a_spanish_visitor_after_an_english_one_gets_the_week_in_spanish(client, clinic):
    location, service, _ = clinic
    url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    english = page(client, url)
    assert "Next week" in english
    spanish = page(client, url, **SPANISH)
    assert "Semana siguiente" in spanish and "Next week" not in spanish
    assert "Next week" in page(client, url)  # and the English copy is still the English one


def test_a_cached_spanish_week_costs_no_query(client, clinic, django_assert_max_num_queries):
    location, service, _ = clinic
    url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    slot_cache.forget_process_copies()
    page(client, url, **SPANISH)
    with django_assert_max_num_queries(0):
        assert "Semana siguiente" in page(client, url, **SPANISH)


@pytest.mark.policy("collect-consent-evidence")
def test_booking_in_spanish_records_the_spanish_words_shown_and_their_language(book, clinic):
    location, service, _ = clinic
    response = book(details_url(location, service), booking_form(sms_reminders="on"), **SPANISH)
    assert response.status_code == 302
    person = Client.objects.get()
    shown = spanish_notices()
    for purpose in (ConsentPurpose.PRIVACY_POLICY, ConsentPurpose.SMS_REMINDERS):
        record = ConsentRecord.objects.get(client=person, purpose=purpose)
        assert record.notice_text == shown[purpose] and record.language == "es"
        assert record.notice_sha256 == hashlib.sha256(shown[purpose].encode()).hexdigest()
    assert (
        "Envíenme por mensaje de texto" in ConsentRecord.objects.get(purpose=ConsentPurpose.SMS_REMINDERS).notice_text
    )


def test_booking_in_english_records_english(book, clinic):
    location, service, _ = clinic
    book(details_url(location, service), booking_form(sms_reminders="on"))
    record = ConsentRecord.objects.get(purpose=ConsentPurpose.SMS_REMINDERS)
    assert record.language == "en" and record.notice_text == booking_notices()[ConsentPurpose.SMS_REMINDERS]
    assert Client.objects.get().language == "en"


def test_the_client_booked_in_spanish_gets_the_confirmation_email_in_spanish(book, clinic):
    location, service, _ = clinic
    book(details_url(location, service), booking_form(), **SPANISH)
    assert Client.objects.get().language == "es"
    (email,) = mail.outbox
    assert email.subject.startswith("Su cita de")
    assert "Su cita está reservada." in email.body and "Your appointment is booked" not in email.body
    html = email.alternatives[0][0]
    assert '<html lang="es">' in html and "Ver, cambiar o cancelar su cita" in html


def test_the_confirmation_page_after_a_spanish_booking_is_spanish(book, client, clinic):
    location, service, _ = clinic
    response = book(details_url(location, service), booking_form(), **SPANISH)
    manage = page(client, response["Location"], **SPANISH)
    assert "Su cita está reservada" in manage and "Agregar a Google Calendar" in manage
    assert "You're booked" not in manage


def test_form_errors_are_spanish(client, clinic):
    location, service, _ = clinic
    response = client.post(details_url(location, service), booking_form(is_adult=None), **SPANISH)
    text = response.content.decode()
    assert response.status_code == 200 and "confirme que tiene 18 años o más" in text
    assert "please confirm you are 18" not in text


def test_emails_sent_away_from_the_visitors_page_follow_the_clients_language(clinic):
    """A change made by the front desk (in English) or a worker's email: in the language the client booked in."""
    from appointments.emails import booking_confirmation_message, change_message
    from tests.support.builders import AppointmentFactory, ClientFactory

    location, service, person = clinic
    appointment = AppointmentFactory(
        location=location, service=service, practitioner=person, client=ClientFactory(language="es"), start=MONDAY_10
    )
    with translation.override("en"):
        moved = change_message(appointment, change="moved")
        confirmation = booking_confirmation_message(appointment)
    assert "Su cita cambió de horario" in moved.body and moved.subject.endswith("cambió de horario")
    assert "lunes 7 de diciembre de 2026" in confirmation.body and "Monday" not in confirmation.body


def test_a_spanish_visitor_after_an_english_one_gets_the_booking_form_in_spanish(client, clinic):
    """The blank form's fields are kept per process (a template fragment): one copy per language."""
    location, service, _ = clinic
    url = booking_form_url(location, service, MONDAY_10)
    assert "I am 18 or older" in page(client, url)
    spanish = page(client, url, **SPANISH)
    assert "Tengo 18 años o más" in spanish and "I am 18 or older" not in spanish
    assert spanish_notices()[ConsentPurpose.SMS_REMINDERS] in spanish
    assert "I am 18 or older" in page(client, url)
