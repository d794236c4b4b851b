"""The booking steps on a phone (390 x 844) in headless Chromium: a strip of days, one day's times by part of the day,
the progress line and the summary, every control big enough to tap (16 px text, 44 px tall), axe 0 on each step."""

import pytest

from appointments.demo import seed_demo_data
from privacy.demo import seed_privacy_demo_data
from tests.support.accessibility import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What a thumb taps on these pages: links styled as buttons, buttons, text boxes and menus.
CONTROLS = (
    "a.slot, .day-strip a, button, .button, details.search summary, "
    ".field input:not([type=checkbox]), .field select, .search input, .search select"
)


@pytest.fixture
def demo_clinic():
    seed_demo_data()
    seed_privacy_demo_data()


def too_small(page):
    """Each visible control under 16 px text or 44 px tall, as "tag.class text: size"."""
    return page.eval_on_selector_all(
        CONTROLS,
        """els => els.filter(e => e.offsetParent !== null).map(e => {
            const box = e.getBoundingClientRect(), font = parseFloat(getComputedStyle(e).fontSize);
            return (box.height < 44 || font < 16)
                ? `${e.tagName}.${e.className} ${e.textContent.trim().slice(0, 20)}: ${box.height}px, ${font}px` : null;
        }).filter(Boolean)""",
    )


def test_choosing_a_time_on_a_phone_is_a_strip_of_days_then_that_days_times(phone_page, live_server, demo_clinic):
    page = phone_page
    page.goto(f"{live_server.url}/book/milpitas/hydrafacial/")
    strip = page.get_by_role("navigation", name="Days of the week")
    assert strip.get_by_role("listitem").count() == 7
    current = strip.locator("[aria-current=date]")
    assert current.evaluate("e => e.tagName") == "A"  # opens on a day with free times
    assert page.locator("a.slot").count() > 0
    parts = page.locator("section.day h3").all_inner_texts()
    assert parts and set(parts) <= {"Morning", "Afternoon", "Evening"}
    assert axe_violations(page) == []
    page.locator("details.search summary").click()  # the date and practitioner search, folded away
    assert too_small(page) == []
    # Another day with times: its times replace the first day's, the strip stays.
    other = strip.locator("a:not([aria-current])").first
    day_name = other.locator(".weekday").inner_text()
    other.click()
    page.wait_for_load_state()
    assert (
        page.locator("#shown-day")
        .inner_text()
        .startswith(
            {
                "Mon": "Monday",
                "Tue": "Tuesday",
                "Wed": "Wednesday",
                "Thu": "Thursday",
                "Fri": "Friday",
                "Sat": "Saturday",
                "Sun": "Sunday",
            }[day_name]
        )
    )
    assert (
        page.get_by_role("navigation", name="Days of the week").locator("[aria-current=date] .weekday").inner_text()
        == day_name
    )


def test_the_details_step_sums_up_the_booking_before_book_and_its_controls_fit_a_thumb(
    phone_page, live_server, demo_clinic
):
    page = phone_page
    page.goto(f"{live_server.url}/book/milpitas/hydrafacial/")
    page.locator("a.slot").first.click()
    page.wait_for_load_state()
    progress = page.get_by_role("list", name="Booking steps")
    assert progress.get_by_role("listitem").all_inner_texts() == ["Service", "Time", "Details", "Done"]
    summary = page.locator("dl.summary").inner_text()
    assert "HydraFacial" in summary and "Duration" in summary and "Price" in summary
    before = page.get_by_role("region", name="Before you book")
    book = page.get_by_role("button", name="Book appointment")
    assert before.bounding_box()["y"] < book.bounding_box()["y"]
    assert "hours before your appointment" in before.inner_text()
    assert axe_violations(page) == []
    assert too_small(page) == []
    page.get_by_role("link", name="Change day and time").click()
    page.wait_for_load_state()
    assert page.locator("a.slot").count() > 0  # back on that day's times


def test_the_confirmation_on_a_phone_offers_the_calendar_the_map_and_a_plain_manage_link(
    phone_page, live_server, demo_clinic
):
    page = phone_page
    page.goto(f"{live_server.url}/book/milpitas/hydrafacial/?date=" + _a_week_ahead())
    page.locator("a.slot").first.click()
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Last name").fill("Reyes")
    page.get_by_label("Email (required)", exact=True).fill("dana.reyes@example.com")
    page.get_by_label("Mobile phone").fill("(408) 555-0143")
    page.get_by_label("I am 18 or older").check()
    page.get_by_label("I have read and accept").check()
    page.get_by_role("button", name="Book appointment").click()
    page.get_by_role("heading", name="You're booked").wait_for()
    assert page.get_by_role("link", name="Add to your calendar (.ics file)").is_visible()
    assert page.get_by_role("link", name="Add to Google Calendar").is_visible()
    assert page.get_by_role("link", name="Map and directions").is_visible()
    assert page.get_by_role("link", name="Reschedule or cancel this appointment").is_visible()
    assert axe_violations(page) == []


def _a_week_ahead():
    from datetime import date, timedelta

    return (date.today() + timedelta(days=7)).isoformat()


def test_a_visits_times_get_the_same_strip_of_days_on_a_phone(phone_page, live_server, demo_clinic):
    page = phone_page
    page.goto(live_server.url + "/book/milpitas/visit/")
    page.get_by_label("Service 1", exact=True).select_option(label="HydraFacial")
    page.get_by_label("Service 2", exact=True).select_option(label="Chemical peel")
    page.get_by_role("button", name="Show times").click()
    page.wait_for_load_state()
    strip = page.get_by_role("navigation", name="Days of the week")
    assert strip.get_by_role("listitem").count() == 7
    assert strip.locator("[aria-current=date]").evaluate("e => e.tagName") == "A"
    assert page.locator("a.slot").count() > 0
    assert axe_violations(page) == []
    assert too_small(page) == []
