"""The front desk's day calendar in headless Chromium with JavaScript off: check in, and book a gap."""

import re
from datetime import datetime, time, timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import AppointmentStatus
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk_page(chromium, live_server, settings):
    """A desktop browser with JavaScript switched off, signed in as a superuser."""
    settings.SITE_URL = live_server.url
    user = User.objects.create_superuser("desk", "desk@clinic.example", "correct-horse-battery")
    django_client = Client()
    django_client.force_login(user)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url) else route.abort()
    )
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": django_client.cookies["sessionid"].value,
                "domain": urlsplit(live_server.url).hostname,
                "path": "/",
            }
        ]
    )
    page = context.new_page()
    yield page
    context.close()


def test_the_front_desk_checks_a_client_in_and_books_a_gap_without_javascript(desk_page, live_server):
    page = desk_page
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    tz = location.tzinfo
    day = timezone.now().astimezone(tz).date() + timedelta(days=7)
    jane = ClientFactory(first_name="Jane", last_name="Blockley")
    appointment = AppointmentFactory(
        client=jane,
        location=location,
        service=service,
        practitioner=person,
        start=datetime.combine(day, time(10), tzinfo=tz),
    )
    url = reverse("admin:appointments_day_calendar") + "?" + urlencode({"location": location.pk, "date": day})

    page.goto(live_server.url + url)

    table = page.get_by_role("table")
    assert table.get_by_role("columnheader", name=person.name).is_visible()
    assert table.get_by_role("rowheader", name="10:00 AM").is_visible()
    page.get_by_role("button", name="Check in Jane Blockley, 10:00 AM").click()
    page.get_by_text("Status: Checked in").wait_for()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert page.get_by_label("Change to (status of Jane Blockley, 10:00 AM)").is_visible()

    page.get_by_role("link", name=re.compile(rf"^Free\W+book {person.name} at 11:00 AM$")).click()
    page.get_by_role("heading", name="Add appointment").wait_for()
    assert page.get_by_label("Practitioner").input_value() == str(person.pk)
    assert page.get_by_label("Location").input_value() == str(location.pk)
    assert page.locator("input[name=start_0]").input_value() == day.isoformat()
    assert page.locator("input[name=start_1]").input_value() == "11:00:00"
