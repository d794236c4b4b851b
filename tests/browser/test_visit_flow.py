"""A new client books a visit of several services on a phone, without JavaScript, in headless Chromium."""

import pytest
from django.core import mail

from appointments.demo import seed_demo_data
from appointments.models import Appointment, Visit
from privacy.demo import seed_privacy_demo_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_clinic_with_visits():
    seed_demo_data()
    seed_privacy_demo_data()


@pytest.mark.policy("use-appointments")
def test_new_client_books_hydrafacial_then_a_chemical_peel_in_one_visit_with_javascript_off(
    chromium, live_server, settings, demo_clinic_with_visits, django_capture_on_commit_callbacks
):
    settings.SITE_URL = live_server.url
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/book/milpitas/")
        page.get_by_role("link", name="Book several services in one visit").click()
        page.get_by_label("Service 1", exact=True).select_option(label="HydraFacial")
        page.get_by_label("Service 2", exact=True).select_option(label="Chemical peel")
        page.get_by_role("button", name="Show times").click()
        for _ in range(4):
            if page.locator("a.slot").count():
                break
            page.get_by_role("link", name="Next week").click()
        page.locator("a.slot").first.click()
        assert page.get_by_role("heading", name="Your details").is_visible()
        page.get_by_label("First name").fill("Dana")
        page.get_by_label("Last name").fill("Reyes")
        page.get_by_label("Email", exact=True).fill("dana.reyes@example.com")
        page.get_by_label("Mobile phone").fill("(408) 555-0143")
        page.get_by_label("I am 18 or older").check()
        page.get_by_label("I have read and accept").check()
        page.get_by_role("button", name="Book the visit").click()
        page.get_by_role("heading", name="You're booked").wait_for()
        # The first free time may fall inside the online change cut-off: the visit's services are shown either way.
        assert page.get_by_role("cell", name="HydraFacial").is_visible()
        assert page.get_by_role("cell", name="Chemical peel").is_visible()
    finally:
        context.close()
    visit = Visit.objects.get()
    assert [a.service.name for a in Appointment.objects.filter(visit=visit).order_by("start")] == [
        "HydraFacial",
        "Chemical peel",
    ]
    (email,) = [m for m in mail.outbox if m.to == ["dana.reyes@example.com"]]
    assert email.attachments[0][0] == "visit.ics"
