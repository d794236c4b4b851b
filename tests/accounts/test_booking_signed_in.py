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


# --- Every booking path picks its record in one place (clinic.identity.client_for_booking) ----------------


def _visit_post(clinic, browser, **overrides):
    from tests.support.visits import at, visit_form, visit_url

    chosen = [clinic.consultation, clinic.facial]
    return browser.post(
        visit_url(clinic.location) + "details/",
        {**visit_form([], **overrides), "services": f"{chosen[0].pk},{chosen[1].pk}", "start": at(9).isoformat()},
    )


@pytest.mark.policy("client-account")
def test_a_visit_booked_signed_in_goes_on_the_accounts_record_with_no_new_record(ava, run_tasks, sms_outbox):
    from appointments.models import Visit
    from tests.support.visits import at, visit_clinic, visit_url

    clinic = visit_clinic()
    browser = Browser()
    sign_in_by_code(browser, run_tasks, sms_outbox, NATIONAL)
    services = f"{clinic.consultation.pk},{clinic.facial.pk}"
    page = browser.get(visit_url(clinic.location) + "details/", {"services": services, "start": at(9).isoformat()})
    assert EMAIL in page.content.decode() and "no-store" in page["Cache-Control"]
    consents_before = ConsentRecord.objects.filter(client=ava).count()
    with run_tasks():
        # What is typed does not choose the record, nor is copied onto it: the session does.
        response = _visit_post(clinic, browser, email="typed@example.com", first_name="Typed")
    assert response.status_code == 302
    assert Client.objects.count() == 1
    assert {a.client_id for a in Visit.objects.get().appointments.all()} == {ava.pk}
    ava.refresh_from_db()
    assert ava.email == EMAIL and ava.first_name == "Ava"
    assert ConsentRecord.objects.filter(client=ava).count() == consents_before


def test_a_visit_booked_signed_out_with_an_accounts_email_and_phone_goes_on_a_new_record(ava, client, run_tasks):
    from appointments.models import Visit
    from tests.support.visits import visit_clinic

    clinic = visit_clinic()
    with run_tasks():
        response = _visit_post(clinic, client, email=EMAIL, mobile_phone=NATIONAL, first_name="Ava")
    assert response.status_code == 302
    new = {a.client_id for a in Visit.objects.get().appointments.all()}
    assert len(new) == 1 and ava.pk not in new
    assert not ConsentRecord.objects.filter(client=ava).exists()


@pytest.fixture
def local_payments(settings):
    from payments.backends import local

    settings.PAYMENTS_BACKEND = "payments.backends.local.PaymentsBackend"
    local.reset()
    yield
    local.reset()


def _paid_slot():
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    la = ZoneInfo("America/Los_Angeles")
    return datetime.combine(datetime.now(la).date() + timedelta(days=10), time(10), tzinfo=la)


@pytest.mark.policy("client-account")
def test_a_booking_with_a_deposit_made_signed_in_holds_pays_and_books_on_the_accounts_record(
    ava, local_payments, run_tasks, sms_outbox
):
    from tests.support.payments import accept_policy, clinic_asking, pay_on_local_page, start_paid_booking

    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=5000)
    browser = Browser()
    sign_in_by_code(browser, run_tasks, sms_outbox, NATIONAL)
    consents_before = ConsentRecord.objects.filter(client=ava).count()
    with run_tasks():
        checkout = start_paid_booking(browser, location, service, _paid_slot(), email="typed@example.com")
    assert checkout.client_id == ava.pk and checkout.payment.client_id == ava.pk
    assert Client.objects.count() == 1
    # Only the cancellation policy, accepted on the next page, is added to the ledger.
    assert ConsentRecord.objects.filter(client=ava).count() == consents_before
    with run_tasks():
        accept_policy(browser, checkout)
        pay_on_local_page(browser, checkout)
    assert Appointment.objects.get().client_id == ava.pk
    assert Client.objects.count() == 1


def test_a_booking_with_a_deposit_made_signed_out_with_an_accounts_details_goes_on_a_new_record(
    ava, client, local_payments, run_tasks
):
    from tests.support.payments import clinic_asking, start_paid_booking

    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=5000)
    with run_tasks():
        checkout = start_paid_booking(client, location, service, _paid_slot(), email=EMAIL, mobile_phone=NATIONAL)
    assert checkout.client_id != ava.pk and Client.objects.count() == 2
    assert not ConsentRecord.objects.filter(client=ava).exists()
