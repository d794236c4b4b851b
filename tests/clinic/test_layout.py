"""The site layout (templates/base.html) around the cached availability page: rendered for each request.

The page's body comes from a cache (appointments/slot_cache.py); the layout
around it is rendered by Django for every visitor, so whatever in it belongs
to one visitor (the cookie banner, the CSRF token, messages, a signed-in
name) is never served to another.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.support.builders import bookable_clinic

pytestmark = pytest.mark.django_db

SEARCH = {"date": "2026-12-07", "practitioner": "any"}
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"')


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime(2026, 12, 6, 18, 0, tzinfo=ZoneInfo("America/Los_Angeles")), tick=False):
        yield


@pytest.fixture
def week_url():
    location, service, _ = bookable_clinic()
    return reverse("appointments:choose_time", args=[location.slug, service.slug])


@pytest.fixture
def layout_naming_the_visitor(settings, tmp_path):
    """base.html as it is, plus a per-visitor value (as the client account will add)."""
    base = (settings.BASE_DIR / "templates" / "base.html").read_text()
    (tmp_path / "base.html").write_text(
        base.replace("</header>", '<p class="visitor">Signed in as {{ user.get_username }}</p></header>')
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]


def test_a_per_visitor_value_in_the_layout_is_never_served_to_another_visitor(week_url, layout_naming_the_visitor):
    users = get_user_model().objects
    seen = {}
    for name in ("ana", "ben", "ana"):  # the second and third pages' bodies come from the cache
        browser = Client()
        browser.force_login(users.get_or_create(username=name)[0])
        seen[name] = browser.get(week_url, SEARCH).content.decode()
        assert f"Signed in as {name}<" in seen[name]
    assert "Signed in as ana" not in seen["ben"] and "Signed in as ben" not in seen["ana"]
    assert 'datetime="2026-12-07T10:00:00-08:00"' in seen["ben"]  # the same cached week for both


def test_each_visitor_gets_their_own_cookie_banner_state_on_the_cached_page(week_url, settings):
    settings.GA_MEASUREMENT_ID = "G-TEST123"  # with no tag configured there is no banner at all
    undecided, decided = Client(), Client()
    decided.post("/privacy/cookies/", {"choice": "reject_all", "next": "/"})
    pages = [browser.get(week_url, SEARCH).content.decode() for browser in (undecided, decided, undecided)]
    assert "cookie-banner" in pages[0] and "cookie-banner" not in pages[1] and "cookie-banner" in pages[2]


@pytest.mark.policy("use-analytics-advertising")
def test_on_the_availability_page_no_tag_host_is_allowed_whatever_was_accepted(client, settings, week_url):
    settings.GA_MEASUREMENT_ID, settings.META_PIXEL_ID = "G-TEST123", "1234567890"
    client.post("/privacy/cookies/", {"choice": "accept_all", "next": "/"})
    for _ in range(2):  # the second from the cache
        response = client.get(week_url, SEARCH)
        html = response.content.decode()
        assert "data-tag" not in html and "googletagmanager" not in html and "facebook" not in html
        assert '<meta name="referrer" content="same-origin">' in html
        assert "google" not in response["Content-Security-Policy"]
        assert "facebook" not in response["Content-Security-Policy"]
        assert response["Referrer-Policy"] == "same-origin"


def test_the_cached_availability_pages_banner_posts_with_its_token(week_url, settings):
    settings.GA_MEASUREMENT_ID = "G-TEST123"
    browser = Client(enforce_csrf_checks=True)
    for _ in range(2):  # a cached page the second time
        html = browser.get(week_url, SEARCH).content.decode()
    token = CSRF_INPUT.search(html).group(1)
    next_path = re.search(r'name="next" value="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert next_path == f"{week_url}?date=2026-12-07&practitioner=any"
    response = browser.post(
        "/privacy/cookies/", {"choice": "reject_all", "next": next_path, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302 and response["Location"] == next_path
    assert "cookie-banner" not in browser.get(week_url, SEARCH).content.decode()
