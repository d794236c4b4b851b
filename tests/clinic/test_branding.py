"""Branding from settings on every public page: name, logo, favicon, colours and a meta description."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from tests.support.builders import LocationFactory

pytestmark = pytest.mark.django_db


def public_pages():
    location = LocationFactory()
    return [
        reverse("appointments:home"),
        reverse("appointments:choose_service", args=[location.slug]),
        reverse("privacy:policy"),
        reverse("privacy:request_form"),
        reverse("privacy:choices"),
        reverse("privacy:cookie_settings"),
        reverse("messaging:preferences_request"),
    ]


def test_every_public_page_has_a_meta_description_a_favicon_and_the_clinics_logo_and_name(client, settings):
    settings.CLINIC_NAME = "Glow Studio"
    for url in public_pages():
        html = client.get(url).content.decode()
        description = re.search(r'<meta name="description" content="([^"]*)">', html)
        assert description and len(description.group(1).strip()) > 20, url
        assert '<link rel="icon" href="/static/img/favicon.svg">' in html, url
        assert re.search(r'<a class="brand"[^>]*><img src="/static/img/logo.svg" alt=""[^>]*> Glow Studio</a>', html)


def test_the_service_list_and_home_have_their_own_descriptions(client, settings):
    location = LocationFactory()
    home = client.get(reverse("appointments:home")).content.decode()
    services = client.get(reverse("appointments:choose_service", args=[location.slug])).content.decode()
    assert 'content="Book a treatment online at' in home
    assert f'content="Book a treatment at {settings.CLINIC_NAME} {location.name} online' in services


def test_colours_come_from_settings(client, settings):
    settings.CLINIC_ACCENT_COLOR, settings.CLINIC_ACCENT_TEXT_COLOR = "#123456", "#ffffff"
    html = client.get("/").content.decode()
    assert "<style>:root { --accent: #123456; --accent-ink: #ffffff; }</style>" in html


def test_a_colour_that_is_not_hex_never_reaches_the_page_and_fails_the_check(client, settings):
    settings.CLINIC_ACCENT_COLOR = "red;}</style><script>alert(1)</script>"
    html = client.get("/").content.decode()
    assert "<script>alert(1)" not in html and "--accent:" not in html
    with pytest.raises(SystemCheckError, match="is not a #rrggbb colour"):
        call_command("check")


def test_unreadable_button_text_fails_the_check(settings):
    settings.CLINIC_ACCENT_COLOR, settings.CLINIC_ACCENT_TEXT_COLOR = "#f0e0f0", "#ffffff"
    with pytest.raises(SystemCheckError, match="contrast"):
        call_command("check")


def test_a_missing_logo_fails_the_check_and_no_logo_means_none_shown(client, settings):
    settings.CLINIC_LOGO = "img/nope.png"
    with pytest.raises(SystemCheckError, match="CLINIC_LOGO 'img/nope.png' is not among the static files"):
        call_command("check")
    settings.CLINIC_LOGO = ""
    assert "<img" not in client.get("/").content.decode().split("</header>")[0]
