"""A phone on file for two people (a household sharing one number): a texted code proves control of the phone,
not which of them is typing. It never signs in to, shows or joins the other person's record."""

import re
from datetime import timedelta

import pytest
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountSession, SignInChallenge
from appointments.models import Appointment
from clinic.models import Client
from tests.support.accounts import ask_for_code, ask_for_link, emailed_link, enter_code, sign_in_by_code
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic, prove_contacts

pytestmark = pytest.mark.django_db
PHONE, NATIONAL = "+14085550123", "(408) 555-0123"
HOME = reverse("account:home")


@pytest.fixture
def household():
    mother = ClientFactory(first_name="Maria", last_name="Ortiz", email="maria@example.com", mobile_phone=PHONE)
    daughter = ClientFactory(first_name="Lucia", last_name="Ortiz", email="lucia@example.com", mobile_phone=PHONE)
    return mother, daughter


def _problem(response):
    return re.search(r'<p class="error" role="alert">([^<]*)</p>', response.content.decode()).group(1)


def _visit(client, name):
    location, service, (practitioner,) = bookable_clinic()
    service.name = name
    service.save()
    return AppointmentFactory(
        client=client,
        location=location,
        service=service,
        practitioner=practitioner,
        start=(timezone.now() + timedelta(days=3)).replace(microsecond=0),
    )


@pytest.mark.policy("client-account")
@pytest.mark.policy("security-identity")
def test_a_shared_number_gets_no_code_and_the_page_reads_as_for_any_number(household, run_tasks, sms_outbox):
    browser = Browser()
    asked = ask_for_code(browser, run_tasks, NATIONAL)
    unknown = ask_for_code(Browser(), run_tasks, "(408) 555-0999")
    assert (asked.status_code, asked["Location"]) == (unknown.status_code, unknown["Location"])
    assert not SignInChallenge.objects.exists()  # no code: it would not tell Maria from Lucia
    (notice,) = sms_outbox
    assert notice.to == PHONE and "more than one person" in notice.body and "email" in notice.body
    assert not any(ch.isdigit() for ch in notice.body.split(":", 1)[1])  # no code in it
    # Any code typed reads exactly as for a number not on file; nobody is signed in.
    shared = enter_code(browser, run_tasks, "123456")
    not_on_file = Browser()
    ask_for_code(not_on_file, run_tasks, "(408) 555-0999")
    other = enter_code(not_on_file, run_tasks, "123456")
    assert (shared.status_code, _problem(shared)) == (other.status_code, _problem(other))
    assert "not right" in _problem(shared)
    assert not AccountSession.objects.exists()


@pytest.mark.policy("client-account")
def test_each_person_sharing_the_number_signs_in_by_their_emailed_link_to_their_own_record(
    household, run_tasks, sms_outbox
):
    mother, daughter = household
    _visit(mother, "Mother Peel")
    _visit(daughter, "Daughter Laser")
    browser = Browser()
    ask_for_link(browser, run_tasks, "lucia@example.com")
    assert browser.post(emailed_link()).status_code == 302
    home = browser.get(HOME).content.decode()
    assert "Daughter Laser" in home
    assert "Mother Peel" not in home and "Maria" not in home


@pytest.mark.policy("client-account")
@pytest.mark.policy("security-identity")
def test_the_proven_owner_of_the_number_never_sees_nor_joins_a_household_members_record(
    household, run_tasks, sms_outbox
):
    mother, daughter = household
    prove_contacts(mother, email=False)  # Maria signed in by code before Lucia booked with her number
    visit = _visit(daughter, "Daughter Laser")
    browser = Browser()
    sign_in_by_code(browser, run_tasks, sms_outbox, NATIONAL)
    home = browser.get(HOME).content.decode()
    assert "Hello Maria" in home
    assert "Daughter Laser" not in home and "Lucia" not in home
    assert browser.post(reverse("account:join_record", args=[daughter.pk])).status_code == 404
    assert Appointment.objects.get(pk=visit.pk).client_id == daughter.pk
    assert Client.objects.filter(pk=daughter.pk).exists()


def test_two_records_of_one_person_with_the_number_still_sign_in_by_code_and_can_be_joined(run_tasks, sms_outbox):
    first = ClientFactory(first_name="Ava", email="ava@example.com", mobile_phone=PHONE)
    again = ClientFactory(first_name=" ava ", email="ava.other@example.com", mobile_phone=PHONE)
    visit = _visit(again, "Signed-out Peel")
    browser = Browser()
    sign_in_by_code(browser, run_tasks, sms_outbox, NATIONAL)
    assert "Signed-out Peel" in browser.get(HOME).content.decode()
    assert browser.post(reverse("account:join_record", args=[again.pk])).status_code == 302
    assert Appointment.objects.get(pk=visit.pk).client_id == first.pk
