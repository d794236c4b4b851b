"""A booking made while signed in goes on the account's record; signed out, the usual trust rules apply."""

from datetime import time

import pytest
import time_machine
from django.test import Client as Browser
from django.urls import reverse

from appointments.models import Appointment
from clinic.models import Client
from privacy.models import ConsentRecord
from tests.support.accounts import sign_in_by_code
from tests.support.booking import MONDAY_10, SUNDAY_EVENING, booking_form_url, post_booking
from tests.support.builders import ClientFactory, bookable_clinic

pytestmark = pytest.mark.django_db
PHONE, NATIONAL, EMAIL = "+14085550123", "(408) 555-0123", "ava.lindqvist@example.com"


@pytest.fixture
def clinic():
    location, service, people = bookable_clinic(hours=((time(9), time(17)),))
    return location, service


@pytest.fixture
def ava():
    return ClientFactory(first_name="Ava", last_name="Lindqvist", email=EMAIL, mobile_phone=PHONE)


@pytest.mark.policy("client-account")
def test_a_booking_made_signed_in_attaches_to_the_account_without_further_check(clinic, ava, run_tasks, sms_outbox):
    location, service = clinic
    browser = Browser()
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        sign_in_by_code(browser, run_tasks, sms_outbox, NATIONAL)
        page = browser.get(booking_form_url(location, service, MONDAY_10))
        assert EMAIL in page.content.decode()  # prefilled from the account
        assert "no-store" in page["Cache-Control"]
        consents_before = ConsentRecord.objects.filter(client=ava).count()
        with run_tasks():
            response = post_booking(
                browser,
                location,
                service,
                MONDAY_10,
                first_name="Ava",
                last_name="Lindqvist",
                email=EMAIL,
                mobile_phone=NATIONAL,
            )
        assert response.status_code == 302
        assert Client.objects.count() == 1
        assert Appointment.objects.get().client_id == ava.pk
        assert ConsentRecord.objects.filter(client=ava).count() == consents_before
        assert Appointment.objects.get().service.name in browser.get(reverse("account:home")).content.decode()


def test_a_booking_made_signed_out_goes_on_a_new_record_as_before(clinic, ava, client, run_tasks):
    location, service = clinic
    with time_machine.travel(SUNDAY_EVENING, tick=False), run_tasks():
        post_booking(client, location, service, MONDAY_10, email=EMAIL, mobile_phone=NATIONAL)
    assert Appointment.objects.get().client_id != ava.pk
    assert Client.objects.count() == 2


def test_a_booking_after_signing_out_goes_on_a_new_record(clinic, ava, run_tasks, sms_outbox):
    location, service = clinic
    browser = Browser()
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        sign_in_by_code(browser, run_tasks, sms_outbox, NATIONAL)
        browser.post(reverse("account:sign_out"))
        with run_tasks():
            post_booking(browser, location, service, MONDAY_10)
    assert Appointment.objects.get().client_id != ava.pk
