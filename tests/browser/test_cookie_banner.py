"""The cookie banner in a real browser: no tracking before a choice; reject as easy as accept; GPC honored."""

import pytest

from tests.support.accessibility import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def tag_ids(settings):
    settings.GA_MEASUREMENT_ID, settings.GTM_CONTAINER_ID, settings.META_PIXEL_ID = (
        "G-BROWSER1",
        "GTM-BROWSER",
        "123456789",
    )


def loaded_tags(page):
    return {tag for tag in ("ga", "gtm", "meta") if page.locator(f'script[data-tag="{tag}"]').count()}


def cookie_names(page):
    return {c["name"] for c in page.context.cookies()}


@pytest.mark.policy("cookies-groups")
def test_nothing_loads_before_a_choice_and_accepting_analytics_loads_only_ga_gtm(phone_page, live_server):
    page = phone_page
    page.goto(live_server.url + "/")
    assert loaded_tags(page) == set()
    assert cookie_names(page) <= {"csrftoken"}
    banner = page.get_by_role("region", name="Cookies")
    for name in ("Accept all", "Reject all", "Manage"):
        assert banner.get_by_role("button", name=name).or_(banner.get_by_role("link", name=name)).is_visible()
    banner.get_by_role("link", name="Manage").click()
    page.get_by_label("Analytics").check()
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_load_state()
    assert loaded_tags(page) == {"ga", "gtm"}
    assert "_fbp" not in cookie_names(page)


@pytest.mark.policy("cookies-choice")
def test_reject_all_loads_nothing_and_hides_the_banner(phone_page, live_server):
    page = phone_page
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Reject all").click()
    page.wait_for_load_state()
    assert loaded_tags(page) == set()
    assert page.get_by_role("region", name="Cookies").count() == 0
    # The footer link reopens the choices.
    page.get_by_role("link", name="Cookie settings").click()
    assert not page.get_by_label("Marketing").is_checked()


@pytest.mark.policy("cookies-gpc")
def test_with_gpc_the_marketing_tag_never_appears(chromium, live_server, settings):
    settings.SITE_URL = live_server.url
    context = chromium.new_context(extra_http_headers={"Sec-GPC": "1"})
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url) else route.abort()
    )
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Accept all").click()
    page.wait_for_load_state()
    assert loaded_tags(page) == {"ga", "gtm"}
    assert page.get_by_text("Global Privacy Control signal honored").first.is_visible()
    context.close()


# A small phone's first screen (360x640, the common Android size): a taller phone only has more room.
# Both languages, with and without the GPC notice; the longer Spanish words plus the notice are the tallest.
@pytest.mark.parametrize(
    "headers",
    [{}, {"Sec-GPC": "1"}, {"Accept-Language": "es"}, {"Accept-Language": "es", "Sec-GPC": "1"}],
    ids=["english", "english-gpc", "spanish", "spanish-gpc"],
)
def test_the_banner_covers_at_most_a_third_of_a_phones_first_screen(phone_page, live_server, headers):
    page = phone_page
    page.set_viewport_size({"width": 360, "height": 640})
    page.set_extra_http_headers(headers)
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == headers.get("Accept-Language", "en")
    banner = page.locator("section.cookie-banner")
    assert banner.locator(".notice").count() == (1 if "Sec-GPC" in headers else 0)
    box = banner.bounding_box()
    assert box is not None
    print(f"cookie banner at 360x640 {headers or 'english'}: {box['height']:.0f} px tall")
    assert box["height"] <= 640 / 3
    # Still 16 px text and 44 px tall choices, all three alike.
    assert banner.locator("p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
    heights = {round(banner.locator(".cookie-actions .button").nth(i).bounding_box()["height"]) for i in range(3)}
    assert len(heights) == 1 and heights.pop() >= 44


def test_with_no_tag_configured_no_banner_appears(phone_page, live_server, settings):
    settings.GA_MEASUREMENT_ID = settings.GTM_CONTAINER_ID = settings.META_PIXEL_ID = ""
    phone_page.goto(live_server.url + "/")
    assert phone_page.get_by_role("region", name="Cookies").count() == 0
    assert phone_page.get_by_role("link", name="Cookie settings").is_visible()


def test_the_page_with_the_banner_has_no_axe_violations_on_a_phone_and_a_desk(chromium, phone_page, live_server):
    phone_page.goto(live_server.url + "/")
    assert axe_violations(phone_page) == []
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.get_by_role("region", name="Cookies").is_visible()
    assert axe_violations(page) == []
    context.close()
