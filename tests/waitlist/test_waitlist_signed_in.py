"""Joining the waitlist while signed in puts the entry on the account's own record, as a booking does
(clinic.identity.client_for_booking); signed out it stays a new record of its own."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client as Browser
from django.urls import reverse

from clinic.models import Client
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from tests.support.accounts import sign_in_by_code
from tests.support.builders import ClientFactory, bookable_clinic
from waitlist.models import WaitlistEntry

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
PHONE, NATIONAL, EMAIL = "+14085550123", "(408) 555-0123", "ava.lindqvist@example.com"


@pytest.fixture
def clinic():
    location, service, _ = bookable_clinic(hours=((time(8), time(20)),))
    return location, service


@pytest.fixture
def ava():
    return ClientFactory(first_name="Ava", last_name="Lindqvist", email=EMAIL, mobile_phone=PHONE)


def _join(browser, location, service, **typed):
    fields = {
        "practitioner": "any",
        "earliest_date": "2026-12-07",
        "latest_date": "2026-12-14",
        "first_name": "Ava",
        "last_name": "Lindqvist",
        "email": EMAIL,
        "mobile_phone": NATIONAL,
        "is_adult": "on",
        "accept_privacy_policy": "on",
        "sms_offers": "on",
        **typed,
    }
    return browser.post(reverse("waitlist:join", args=[location.slug, service.slug]), fields)


@pytest.mark.policy("client-account")
@pytest.mark.policy("security-identity")
def test_joining_the_waitlist_signed_in_attaches_the_entry_to_the_account(clinic, ava, run_tasks, sms_outbox):
    location, service = clinic
    browser = Browser()
    with time_machine.travel(NOW, tick=False):
        sign_in_by_code(browser, run_tasks, sms_outbox, NATIONAL)
        page = browser.get(reverse("waitlist:join", args=[location.slug, service.slug]))
        assert EMAIL in page.content.decode()  # prefilled from the account
        assert "no-store" in page["Cache-Control"]
        # What is typed while signed in is not copied onto the record; the entry is the account's.
        response = _join(browser, location, service, first_name="Typed", email="typed@example.com")
    assert response.status_code == 200, response.content[:500]
    entry = WaitlistEntry.objects.get()
    assert entry.client_id == ava.pk
    assert Client.objects.count() == 1
    ava.refresh_from_db()
    assert (ava.first_name, ava.email) == ("Ava", EMAIL)
    consent = ConsentRecord.objects.get(client=ava, purpose=ConsentPurpose.SMS_WAITLIST)
    assert consent.granted and consent.source == ConsentSource.WAITLIST_FORM


@pytest.mark.policy("client-account")
def test_a_signed_in_account_without_a_mobile_number_is_asked_to_add_one_and_nothing_is_written(
    clinic, run_tasks, sms_outbox
):
    from tests.support.accounts import ask_for_link, emailed_link

    location, service = clinic
    ClientFactory(first_name="Eli", email="eli@example.com", mobile_phone="")
    browser = Browser()
    with time_machine.travel(NOW, tick=False):
        ask_for_link(browser, run_tasks, "eli@example.com")
        browser.post(emailed_link())
        response = _join(browser, location, service, mobile_phone="(408) 555-0177")
    assert response.status_code == 400 and "no mobile number" in response.content.decode()
    assert not WaitlistEntry.objects.exists() and Client.objects.count() == 1


@pytest.mark.policy("security-identity")
def test_joining_signed_out_with_an_accounts_number_still_makes_a_new_record(clinic, ava, client):
    location, service = clinic
    with time_machine.travel(NOW, tick=False):
        response = _join(client, location, service)
    assert response.status_code == 200
    assert WaitlistEntry.objects.get().client_id != ava.pk
    assert not ConsentRecord.objects.filter(client=ava).exists()
