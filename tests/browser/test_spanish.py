"""Spanish in a real browser, at a phone's and a desk's size: the chooser (a plain form, no script of
ours) switches the site to Spanish, <html lang> follows, and axe finds nothing on the booking steps."""

import pytest

from appointments.demo import seed_demo_data
from privacy.demo import seed_privacy_demo_data
from tests.support.accessibility import axe_violations

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


def test_the_chooser_switches_the_booking_steps_to_spanish(page, live_server, demo_clinic):
    page.goto(live_server.url + "/book/milpitas/")
    chooser = page.get_by_label("Language")
    assert chooser.bounding_box()["height"] >= 44
    chooser.select_option("es")
    page.get_by_role("button", name="Change").click()
    assert page.url == live_server.url + "/book/milpitas/"
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", name="Elija un servicio en Milpitas").is_visible()
    assert axe_violations(page) == []
    page.locator(".service-group a").first.click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Elija un horario para")
    assert axe_violations(page) == []
    page.locator("a.slot").first.click()
    assert page.get_by_role("heading", name="Sus datos").is_visible()
    assert page.get_by_label("Tengo 18 años o más").count() == 1
    assert axe_violations(page) == []
