"""The layout rendered once per visitor state (clinic.layout): the same page as rendering it, every time."""

import re

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.shortcuts import render
from django.test import Client
from django.urls import reverse, set_script_prefix
from django.utils.safestring import mark_safe

from clinic.layout import render_in_layout
from tests.support.builders import bookable_clinic

pytestmark = pytest.mark.django_db

PAGE = "appointments/choose_time.html"
# Values that need escaping, and a path that needs both the banner's escapings.
CONTEXT = {"title": 'Choose a time - Peel & "Glow" <Plus>', "body": mark_safe("<p>A week &amp; its times</p>")}
PATH = "/book/a/b/?date=2026-12-07&practitioner=any&note=%22%3C'&x=1 2"
CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")([A-Za-z0-9]{64})(")')


def consent_cookie(choice):
    browser = Client()
    browser.post("/privacy/cookies/", {"choice": choice, "next": "/"})
    return "; ".join(f"{name}={morsel.value}" for name, morsel in browser.cookies.items())


def both_ways(rf, *, cookie="", headers=None, add_message=None, path=PATH):
    """(rendered once per state and filled in, rendered in full), for one request."""
    request = rf.get(path, HTTP_COOKIE=cookie, headers=headers or {})
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    if add_message:
        messages.info(request, add_message)
    filled = render_in_layout(request, PAGE, CONTEXT).content.decode()
    rendered = render(request, PAGE, CONTEXT).content.decode()
    return filled, rendered


def same_page(filled, rendered):
    # CSRF tokens are masked afresh for every render; the unmasked secret is the same.
    return CSRF_INPUT.sub(r"\1TOKEN\3", filled) == CSRF_INPUT.sub(r"\1TOKEN\3", rendered)


def test_the_layout_filled_in_is_the_page_rendering_gives_in_every_visitor_state(rf):
    states = {  # (cookie, headers, banner shown)
        "first visit": ("", {}, True),
        "GPC": ("", {"Sec-GPC": "1"}, True),
        "rejected": (consent_cookie("reject_all"), {}, False),
        "accepted, no tag ids": (consent_cookie("accept_all"), {}, False),
        "accepted, GPC": (consent_cookie("accept_all"), {"Sec-GPC": "1"}, False),
    }
    for _ in range(2):  # each state's layout is rendered first, then reused beside the others
        for state, (cookie, headers, banner) in states.items():
            filled, rendered = both_ways(rf, cookie=cookie, headers=headers)
            assert same_page(filled, rendered), state
            assert ("cookie-banner" in filled) is banner, state
            assert "Peel &amp; &quot;Glow&quot; &lt;Plus&gt;" in filled and "<p>A week &amp; its times</p>" in filled


def test_the_banners_next_is_this_requests_address_escaped_for_each_place(rf):
    both_ways(rf)
    filled, rendered = both_ways(rf)
    assert same_page(filled, rendered)
    assert (
        'name="next" value="/book/a/b/?date=2026-12-07&amp;practitioner=any&amp;note=%22%3C&#x27;&amp;x=1%202"'
        in filled
    )
    assert "?next=/book/a/b/%3Fdate%3D2026-12-07%26practitioner%3Dany%26note%3D%2522%253C%27%26x%3D1%25202" in filled


def test_under_a_script_prefix_the_layout_links_carry_it(rf):
    both_ways(rf)  # static files' address is fixed on first use (Django's), so use it before the prefix
    set_script_prefix("/clinic/")
    try:
        filled, rendered = both_ways(rf)
    finally:
        set_script_prefix("/")
    assert same_page(filled, rendered)
    assert 'href="/clinic/privacy/' in re.search(r"<footer.*</footer>", filled, re.S).group(0)
    assert same_page(*both_ways(rf))  # and without it again, not the prefixed layout
    assert "/clinic/" not in both_ways(rf)[0]


def test_waiting_messages_are_shown(rf):
    both_ways(rf)
    filled, _ = both_ways(rf, add_message="Your appointment has been moved.")
    assert '<ul class="messages" role="status"><li>Your appointment has been moved.</li></ul>' in filled


def test_accepted_tags_are_rendered_on_a_page_that_names_no_treatment(rf, settings):
    settings.GA_MEASUREMENT_ID = "G-TEST123"
    filled, rendered = both_ways(rf, cookie=consent_cookie("accept_all"), path="/book/a/")
    assert same_page(filled, rendered)
    assert 'data-tag="ga"' in filled and 'name="referrer"' not in filled


@pytest.mark.policy("use-analytics-advertising")
def test_the_availability_page_names_a_treatment_so_no_tag_and_no_referrer_in_either_render(rf, settings):
    settings.GA_MEASUREMENT_ID, settings.META_PIXEL_ID = "G-TEST123", "1234567890"
    cookie = consent_cookie("accept_all")
    both_ways(rf, cookie=cookie, path="/book/a/")  # a public page's layout (with tags) first, beside it
    for _ in range(2):  # the layout rendered, then reused
        filled, rendered = both_ways(rf, cookie=cookie)
        assert same_page(filled, rendered)
        assert "data-tag" not in filled and "googletagmanager" not in filled and "facebook" not in filled
        assert '<meta name="referrer" content="same-origin">' in filled


def test_a_layout_rendered_for_a_public_page_is_not_reused_for_a_private_one(rf):
    for path in ("/book/a/", PATH, "/book/a/"):  # same template and banner state, different page kinds
        filled, rendered = both_ways(rf, path=path)
        assert same_page(filled, rendered), path


@pytest.mark.policy("use-analytics-advertising")
def test_on_the_availability_page_no_tag_host_is_allowed_whatever_was_accepted(client, settings):
    settings.GA_MEASUREMENT_ID, settings.META_PIXEL_ID = "G-TEST123", "1234567890"
    location, service, _ = bookable_clinic()
    client.post("/privacy/cookies/", {"choice": "accept_all", "next": "/"})
    url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    for _ in range(2):  # the second from the cache and the pre-rendered layout
        response = client.get(url, {"date": "2026-12-07", "practitioner": "any"})
        html = response.content.decode()
        assert "data-tag" not in html and service.name not in response["Content-Security-Policy"]
        assert (
            "google" not in response["Content-Security-Policy"]
            and "facebook" not in response["Content-Security-Policy"]
        )
        assert response["Referrer-Policy"] == "same-origin"


def test_the_cached_availability_pages_banner_posts_with_its_token():
    location, service, _ = bookable_clinic()
    browser = Client(enforce_csrf_checks=True)
    url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    for _ in range(2):  # a cached page and its layout, the second time
        html = browser.get(url, {"date": "2026-12-07", "practitioner": "any"}).content.decode()
    token = CSRF_INPUT.search(html).group(2)
    next_path = re.search(r'name="next" value="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert next_path == f"{url}?date=2026-12-07&practitioner=any"
    response = browser.post(
        "/privacy/cookies/", {"choice": "reject_all", "next": next_path, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302 and response["Location"] == next_path
    assert "cookie-banner" not in browser.get(url, {"date": "2026-12-07", "practitioner": "any"}).content.decode()


def test_values_printed_side_by_side_are_filled_in_each(rf, settings, tmp_path, caplog):
    (tmp_path / "side_by_side.html").write_text(
        "{% extends 'base.html' %}{% block content %}{{ title }}{{ body }}{% endblock %}"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    request = rf.get(PATH)
    html = render_in_layout(request, "side_by_side.html", CONTEXT).content.decode()
    assert "Choose a time - Peel &amp; &quot;Glow&quot; &lt;Plus&gt;<p>A week &amp; its times</p>" in html
    assert "prints a page value" not in caplog.text  # filled in, not rendered in full


def test_a_page_value_printed_through_a_filter_is_rendered_in_full_not_left_as_a_marker(rf, settings, tmp_path, caplog):
    (tmp_path / "filtered.html").write_text(
        "{% extends 'base.html' %}{% block content %}{{ title|upper }}{{ body }}{% endblock %}"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    for _ in range(2):
        html = render_in_layout(rf.get(PATH), "filtered.html", CONTEXT).content.decode()
        assert "CHOOSE A TIME - PEEL &amp; &quot;GLOW&quot; &lt;PLUS&gt;" in html
    assert caplog.text.count("prints a page value other than as it is") == 1
