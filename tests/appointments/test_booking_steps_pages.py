"""The booking steps as a client on a phone meets them: a strip of days, then one day's times by part of the day;
where they are in booking; what they book and what it costs, with ways back to change it, before "Book"."""

import html
import re
from datetime import time, timedelta

import pytest
import time_machine
from django.urls import reverse

from appointments import slot_cache
from tests.support.booking import MONDAY_10, SUNDAY_EVENING, booking_form_url
from tests.support.builders import bookable_clinic
from tests.support.payments import clinic_asking

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


@pytest.fixture
def clinic():
    # Open 9 AM to 8 PM on weekdays only: Sunday (today, past its hours anyway) and Saturday have no times.
    location, service, people = bookable_clinic(weekdays=range(5), hours=((time(9), time(20)),))
    service.price_text = "from $180"
    service.save()
    return location, service, people[0]


def _time_page(client, location, service, **search):
    response = client.get(reverse("appointments:choose_time", args=[location.slug, service.slug]), search)
    assert response.status_code == 200
    return response.content.decode()


def _shown_day(page):
    return re.search(r'<h2 id="shown-day">([^<]+)</h2>', page).group(1)


def _strip(page):
    return re.search(r'<nav class="day-strip".*?</nav>', page, re.S).group(0)


def test_the_time_page_opens_on_the_first_day_with_a_free_time_not_today_with_none(client, clinic):
    location, service, _ = clinic
    page = _time_page(client, location, service)
    assert _shown_day(page) == "Monday 7 December"
    strip = _strip(page)
    # Sunday and Saturday are in the strip but say they have none and are no link.
    assert re.search(r'<span class="no-times"><span class="weekday">Sun</span>.*?none free', strip)
    assert re.search(r'<span class="no-times"><span class="weekday">Sat</span>', strip)
    assert re.search(r'<a href="[^"]*day=2026-12-07[^"]*" aria-current="date"><span class="weekday">Mon', strip)


def test_the_page_shows_only_the_chosen_days_times_grouped_morning_afternoon_evening(client, clinic):
    location, service, _ = clinic
    page = _time_page(client, location, service, date="2026-12-07")
    assert 'datetime="2026-12-07T10:00:00-08:00"' in page
    assert 'datetime="2026-12-08' not in page.split('<section class="day"', 1)[1]  # Tuesday's times wait for its link
    day = page.split('<section class="day"', 1)[1]
    morning, afternoon, evening = (day.split(f"<h3>{part}</h3>", 1)[1] for part in ("Morning", "Afternoon", "Evening"))
    assert morning.index("11:45 AM") < morning.index("<h3>Afternoon</h3>")
    assert afternoon.index("12:00 PM") < afternoon.index("<h3>Evening</h3>")
    assert "5:00 PM" in evening and "4:45 PM" not in evening
    # One day of quarter-hour starts from 9 AM to 7 PM, not a week of them.
    assert page.count('class="slot"') == 41


def test_a_day_in_the_strip_opens_that_days_times_in_the_same_week(client, clinic):
    location, service, _ = clinic
    monday = _time_page(client, location, service, date="2026-12-07")
    tuesday_link = html.unescape(re.search(r'<a href="\?([^"]*day=2026-12-08[^"]*)"', _strip(monday)).group(1))
    tuesday = client.get(
        reverse("appointments:choose_time", args=[location.slug, service.slug]) + "?" + tuesday_link
    ).content.decode()
    assert _shown_day(tuesday) == "Tuesday 8 December"
    assert 'datetime="2026-12-08T10:00:00-08:00"' in tuesday and 'datetime="2026-12-07T10:00:00-08:00"' not in tuesday
    assert _strip(tuesday).count("<li>") == 7 and 'Mon</span> <span class="day-number">7 Dec' in _strip(tuesday)


def test_a_chosen_day_is_cached_like_its_week_and_an_odd_day_is_answered_but_never_kept(
    client, clinic, django_assert_num_queries, django_assert_max_num_queries
):
    location, service, _ = clinic
    search = {"date": "2026-12-07", "day": "2026-12-09", "practitioner": "any"}
    _time_page(client, location, service, **search)
    with django_assert_num_queries(0):
        assert _shown_day(_time_page(client, location, service, **search)) == "Wednesday 9 December"
    for odd in ("2031-01-01", "9-12-2026", "x" * 10):
        page = _time_page(client, location, service, date="2026-12-07", day=odd)
        assert _shown_day(page) == "Monday 7 December"  # an odd day shows the week's first day with times
        with django_assert_max_num_queries(20) as queries:
            _time_page(client, location, service, date="2026-12-07", day=odd)
        assert len(queries) > 0


def test_a_week_ahead_links_back_to_the_week_before_and_this_week_does_not(client, clinic):
    location, service, _ = clinic
    assert "Previous week" not in _time_page(client, location, service)
    later = _time_page(client, location, service, date="2026-12-14")
    assert "date=2026-12-07" in later.split("Previous week")[0].rsplit("<a", 1)[1]


def test_the_details_step_shows_where_the_client_is_and_what_they_book_with_links_to_change_it(client, clinic):
    location, service, person = clinic
    page = client.get(booking_form_url(location, service, MONDAY_10)).content.decode()
    progress = re.search(r'<ol class="progress".*?</ol>', page, re.S).group(0)
    assert re.findall(r"<li[^>]*>(?:<a [^>]*>)?(\w+)", progress) == ["Service", "Time", "Details", "Done"]
    assert '<li aria-current="step">Details</li>' in progress
    summary = re.search(r'<dl class="summary">.*?</dl>', page, re.S).group(0)
    for shown in (service.name, "Any available practitioner", location.name, "Monday 7 December 2026, 10:00 AM PST"):
        assert shown in summary
    assert "60 minutes" in summary and "from $180" in summary
    time_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    assert f'href="{time_url}?date=2026-12-07&amp;practitioner=any&amp;day=2026-12-07"' in summary
    assert f'href="{reverse("appointments:choose_service", args=[location.slug])}"' in summary


def test_a_chosen_practitioner_is_kept_by_the_change_time_link(client, clinic):
    location, service, person = clinic
    url = booking_form_url(location, service, MONDAY_10) + f"&practitioner={person.pk}"
    page = client.get(url).content.decode()
    assert f"practitioner={person.pk}&amp;day=2026-12-07" in page and person.name in page


def test_required_text_fields_are_marked_like_the_required_boxes(client, clinic):
    location, service, _ = clinic
    page = client.get(booking_form_url(location, service, MONDAY_10)).content.decode()
    for field in ("first_name", "last_name", "email", "mobile_phone", "is_adult", "accept_privacy_policy"):
        label = re.search(rf'<label for="id_{field}">.*?</label>', page, re.S).group(0)
        assert '<span class="required">(required)</span>' in label, field
    for optional in ("sms_reminders", "email_marketing"):
        assert "(required)" not in re.search(rf'<label for="id_{optional}">.*?</label>', page, re.S).group(0)


def test_the_price_and_the_change_rule_come_before_the_book_button(client, clinic, settings):
    location, service, _ = clinic
    page = client.get(booking_form_url(location, service, MONDAY_10)).content.decode()
    before = page.split("Book appointment</button>")[0].split('<section class="before-booking"')[1]
    assert "Price: from $180." in before
    assert f"until {settings.BOOKING_CHANGE_CUTOFF_HOURS} hours before your appointment" in before


@pytest.mark.policy("use-payments")
def test_where_booking_asks_a_deposit_the_amount_and_the_cancellation_policy_come_before_the_book_button(client):
    location, service, _, policy = clinic_asking(deposit_amount=5000)
    page = client.get(booking_form_url(location, service, MONDAY_10)).content.decode()
    before = html.unescape(page.split("Book appointment</button>")[0].split('<section class="before-booking"')[1])
    assert "a deposit of $50.00" in before
    assert policy.wording in before


def test_where_it_asks_a_card_on_file_the_page_says_nothing_is_charged_now(client):
    location, service, _, policy = clinic_asking("card_on_file")
    page = html.unescape(client.get(booking_form_url(location, service, MONDAY_10)).content.decode())
    assert "save a card (nothing is charged now)" in page and policy.wording in page


def test_the_confirmation_shows_the_last_step_and_manage_as_a_plain_link(client, clinic):
    from tests.support.booking import booking_form, details_url

    location, service, _ = clinic
    done = client.post(details_url(location, service), booking_form(start=MONDAY_10 + timedelta(days=7)))
    page = client.get(done["Location"]).content.decode()
    assert '<li aria-current="step">Done</li>' in page
    assert "Reschedule or cancel this appointment</a>" in page and ">Reschedule</a>" not in page
    assert "appointment.ics" in page and "calendar.google.com" in page and "Map and directions" in page
    manage = client.get(done["Location"].split("?")[0]).content.decode()
    assert ">Reschedule</a>" in manage  # the manage page itself keeps its buttons


def test_every_booking_step_has_its_own_meta_description(client, clinic):
    location, service, _ = clinic
    slot_cache.forget_process_copies()
    pages = [
        reverse("appointments:choose_service", args=[location.slug]),
        reverse("appointments:choose_time", args=[location.slug, service.slug]),
        booking_form_url(location, service, MONDAY_10),
    ]
    pattern = r'<meta name="description" content="([^"]*)"'
    descriptions = {re.search(pattern, client.get(p).content.decode()).group(1) for p in pages}
    assert len(descriptions) == 3 and all(descriptions)
