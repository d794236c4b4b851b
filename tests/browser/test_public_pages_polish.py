"""The pages this slice changed, in a real browser at a phone's and a desk's size: axe finds nothing,
services sit under their categories, the confirmation page shows the preparation notes and a map link,
and the admin's inbox shows its unread count."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments.demo import seed_demo_data
from appointments.links import manage_token
from appointments.models import Service
from clinic.models import Location
from privacy.demo import seed_privacy_demo_data
from tests.support.accessibility import axe_violations
from tests.support.builders import AppointmentFactory, ClientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1280, "height": 800}}


@pytest.fixture
def demo_clinic(settings, live_server):
    settings.SITE_URL = live_server.url
    seed_demo_data()
    seed_privacy_demo_data()


@pytest.fixture(params=SIZES)
def page(request, chromium, live_server):
    context = chromium.new_context(viewport=SIZES[request.param], is_mobile=request.param == "phone")
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url) else route.abort()
    )
    yield context.new_page()
    context.close()


def test_the_home_page_and_the_grouped_service_list_pass_axe(page, live_server, demo_clinic):
    page.goto(live_server.url + "/")
    assert page.locator('link[rel="icon"]').count() == 1
    assert axe_violations(page) == []
    page.goto(live_server.url + "/book/milpitas/")
    headings = page.locator(".service-group > h2").all_inner_texts()
    assert headings == ["Consultations", "Injectables", "Facials and peels", "Laser", "Skin renewal"]
    injectables = page.get_by_role("region", name="Injectables")
    assert injectables.get_by_role("link").all_inner_texts()[0].startswith("Neurotoxin")
    assert axe_violations(page) == []


def test_the_confirmation_page_with_preparation_notes_and_a_map_link_passes_axe(page, live_server, demo_clinic):
    appointment = AppointmentFactory(
        client=ClientFactory(),
        location=Location.objects.get(slug="milpitas"),
        service=Service.objects.get(slug="chemical-peel"),
        practitioner=Service.objects.get(slug="chemical-peel").practitioners.first(),
        start=timezone.now() + timedelta(days=3),
    )
    page.goto(f"{live_server.url}/appointment/{manage_token(appointment)}/")
    assert page.get_by_role("heading", name="Before your Chemical peel").is_visible()
    assert page.get_by_role("link", name="Map and directions").is_visible()
    assert axe_violations(page) == []


def test_the_front_desks_index_and_inbox_show_the_unread_count_and_pass_axe(chromium, live_server, settings):
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.test import Client as DjangoClient

    from clinic.roles import FRONT_DESK, sync_role_groups
    from messaging.models import Direction, MessageStatus, SmsMessage
    from tests.support.builders import LocationFactory, StaffFactory

    settings.SITE_URL = live_server.url
    sync_role_groups(apps)  # a transactional test before this one flushed the groups a migration made
    location = LocationFactory(name="Milpitas")
    desk = StaffFactory(locations=[location])
    desk.groups.add(Group.objects.get(name=FRONT_DESK))
    person = ClientFactory(first_name="Rosalind", last_name="Texter", preferred_location=location)
    SmsMessage.objects.create(
        direction=Direction.INBOUND,
        from_number=str(person.mobile_phone),
        to_number="+14088211633",
        body="Can I come 10 minutes late?",
        client=person,
        location=location,
        status=MessageStatus.RECEIVED,
        keyword="none",
    )
    django_client = DjangoClient()
    django_client.force_login(desk)
    session = django_client.cookies[settings.SESSION_COOKIE_NAME].value
    context = chromium.new_context(viewport=SIZES["desk"])
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()
    page.goto(live_server.url + "/admin/")
    assert page.get_by_role("link", name="Inbox (1 unread)").is_visible()
    assert page.get_by_role("link", name="Inbox: 1 unread text from clients").is_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Inbox: 1 unread text from clients").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Rosalind Texter").is_visible()
    assert page.get_by_text("None booked").is_visible()
    assert axe_violations(page) == []
    context.close()
