"""A client signs in to their account on a phone by a texted code, sees their visits and changes a consent."""

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from appointments.demo import seed_demo_data
from appointments.models import Location, Practitioner, Service
from privacy.demo import seed_privacy_demo_data
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from tests.support.builders import AppointmentFactory, ClientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_accessibility_violations(page):
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


@pytest.fixture
def ava_with_a_visit():
    seed_demo_data()
    seed_privacy_demo_data()
    location = Location.objects.get(slug="milpitas")
    service = Service.objects.get(name="HydraFacial")
    practitioner = Practitioner.objects.filter(locations=location).first() or Practitioner.objects.first()
    ava = ClientFactory(first_name="Ava", last_name="Lindqvist", email="ava@example.com", mobile_phone="+14085550123")
    AppointmentFactory(
        client=ava,
        location=location,
        service=service,
        practitioner=practitioner,
        start=(timezone.now() + timedelta(days=6)).replace(minute=0, second=0, microsecond=0),
    )
    return ava


@pytest.mark.policy("client-account")
def test_a_client_signs_in_by_code_sees_their_visits_and_changes_a_consent(
    phone_page, live_server, ava_with_a_visit, sms_outbox
):
    page = phone_page
    page.goto(live_server.url + "/account/")
    page.get_by_role("heading", name="Sign in to your account").wait_for()
    no_accessibility_violations(page)
    page.get_by_label("Your mobile phone number").fill("(408) 555-0123")
    page.get_by_role("button", name="Text me a code").click()
    page.get_by_role("heading", name="Enter your code").wait_for()
    no_accessibility_violations(page)
    code = re.search(r"sign-in code is (\d{6})", sms_outbox[-1].body).group(1)
    page.get_by_label("The 6-digit code we texted you").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Hello Ava").wait_for()
    assert page.get_by_role("heading", name="HydraFacial").is_visible()
    no_accessibility_violations(page)
    page.get_by_role("link", name="My consents").click()
    page.get_by_role("heading", name="My consents").wait_for()
    no_accessibility_violations(page)
    page.get_by_label("Text me appointment confirmations and reminders").check()
    page.get_by_role("button", name="Save my choices").click()
    page.get_by_text("Saved. Your choices apply from now on.").wait_for()
    record = ConsentRecord.objects.filter(client=ava_with_a_visit, purpose=ConsentPurpose.SMS_REMINDERS).first()
    assert record.granted and record.source == ConsentSource.ACCOUNT
    page.get_by_role("link", name="My data").click()
    no_accessibility_violations(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.get_by_text("You are signed out.").wait_for()
