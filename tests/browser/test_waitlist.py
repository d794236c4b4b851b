"""A new client joins the waitlist on a phone with JavaScript off, and the pages pass axe."""

import pytest

from appointments.demo import seed_demo_data
from privacy.demo import seed_privacy_demo_data
from privacy.models import ConsentPurpose, ConsentRecord
from tests.support.accessibility import axe_violations
from waitlist.models import WaitlistEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_clinic():
    seed_demo_data()
    seed_privacy_demo_data()


@pytest.fixture
def no_js_phone(chromium, live_server, settings):
    settings.SITE_URL = live_server.url
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, java_script_enabled=False
    )
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url) else route.abort()
    )
    page = context.new_page()
    yield page
    context.close()


def fill_waitlist_form(page, *, texts=True):
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Last name").fill("Reyes")
    page.get_by_label("Email", exact=True).fill("dana.reyes@example.com")
    page.get_by_label("Mobile phone").fill("(408) 555-0143")
    page.get_by_label("I am 18 or older").check()
    page.get_by_label("I have read and accept").check()
    if texts:
        page.locator("input[name=sms_offers]").check()


@pytest.mark.policy("sms-waitlist")
def test_a_new_client_joins_the_waitlist_without_javascript(no_js_phone, phone_page, live_server, demo_clinic):
    page = no_js_phone
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Book at Milpitas").click()
    page.get_by_role("link", name="HydraFacial").click()
    page.get_by_role("link", name="Join the waitlist").click()
    page.get_by_role("heading", name="Join the waitlist for HydraFacial").wait_for()
    fill_waitlist_form(page, texts=False)
    page.get_by_role("button", name="Join the waitlist").click()
    # Without the texting opt-in nothing is joined, the reason is given, and what was typed stays.
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_text("please agree to be texted").first.is_visible()
    assert page.get_by_label("First name").input_value() == "Dana"
    assert not WaitlistEntry.objects.exists()
    page.locator("input[name=sms_offers]").check()
    page.get_by_label("I am 18 or older").check()
    page.get_by_label("I have read and accept").check()
    page.get_by_role("button", name="Join the waitlist").click()
    page.get_by_role("heading", name="You're on the waitlist").wait_for()
    entry = WaitlistEntry.objects.get()
    assert entry.service.slug == "hydrafacial" and entry.location.slug == "milpitas"
    assert ConsentRecord.objects.get(client=entry.client, purpose=ConsentPurpose.SMS_WAITLIST).granted

    # The form (with its errors) and the confirmation pass axe (it runs in a page with JavaScript on).
    checker = phone_page
    checker.goto(live_server.url + "/waitlist/milpitas/hydrafacial/")
    assert axe_violations(checker) == []
    checker.get_by_role("button", name="Join the waitlist").click()
    checker.get_by_role("alert").wait_for()
    assert axe_violations(checker) == []
    fill_waitlist_form(checker)
    checker.get_by_role("button", name="Join the waitlist").click()
    checker.get_by_role("heading", name="You're on the waitlist").wait_for()
    assert axe_violations(checker) == []
