"""A new client books an appointment on a phone, end to end, in headless Chromium."""

import pytest
from django.core import mail

from appointments.demo import seed_demo_data
from appointments.models import Appointment
from privacy.demo import seed_privacy_demo_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_clinic():
    seed_demo_data()
    seed_privacy_demo_data()


def open_first_free_time(page, live_server):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Book at Milpitas").click()
    page.get_by_role("link", name="HydraFacial").click()
    # The week shown may start on a day off: walk forward a week at a time.
    for _ in range(4):
        if page.locator("a.slot").count():
            break
        page.get_by_role("link", name="Next week").click()
    page.locator("a.slot").first.click()


def fill_details(page, phone):
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Last name").fill("Reyes")
    page.get_by_label("Email (required)", exact=True).fill("dana.reyes@example.com")
    page.get_by_label("Mobile phone").fill(phone)
    page.get_by_label("I am 18 or older").check()
    page.get_by_label("I have read and accept").check()


@pytest.mark.policy("use-appointments")
def test_new_client_books_on_a_phone(phone_page, live_server, demo_clinic, django_capture_on_commit_callbacks):
    page = phone_page
    open_first_free_time(page, live_server)
    assert page.get_by_role("heading", name="Your details").is_visible()
    fill_details(page, "(408) 555-0143")
    assert not page.get_by_label("Text me occasional offers").is_checked()
    page.get_by_role("button", name="Book appointment").click()
    page.get_by_role("heading", name="You're booked").wait_for()
    assert page.get_by_text("HydraFacial").first.is_visible()
    appointment = Appointment.objects.get(client__email="dana.reyes@example.com")
    assert appointment.service.name == "HydraFacial" and appointment.location.slug == "milpitas"
    (email,) = [m for m in mail.outbox if m.to == ["dana.reyes@example.com"]]
    assert email.attachments[0][0] == "appointment.ics"


def test_invalid_phone_is_explained_and_nothing_is_booked(phone_page, live_server, demo_clinic):
    page = phone_page
    open_first_free_time(page, live_server)
    fill_details(page, "123")
    page.get_by_role("button", name="Book appointment").click()
    assert page.get_by_text("Enter a valid mobile number").is_visible()
    assert page.get_by_label("First name").input_value() == "Dana"
    assert not Appointment.objects.exists()
