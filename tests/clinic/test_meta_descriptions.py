"""Each public page a visitor may land on from a search says what it is in its own meta description."""

import html
import re

import pytest
from django.conf import settings
from django.urls import reverse

from tests.support.builders import bookable_clinic

pytestmark = pytest.mark.django_db


def _description(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(re.search(r'<meta name="description" content="([^"]*)"', response.content.decode()).group(1))


def test_every_public_entry_page_has_its_own_meta_description(client):
    location, service, _ = bookable_clinic()
    urls = [
        reverse("appointments:home"),
        reverse("appointments:choose_service", args=[location.slug]),
        reverse("appointments:choose_time", args=[location.slug, service.slug]),
        reverse("appointments:visit", args=[location.slug]),
        reverse("waitlist:join", args=[location.slug, service.slug]),
        reverse("account:sign_in"),
        reverse("privacy:policy"),
        reverse("privacy:request_form"),
        reverse("privacy:cookie_settings"),
        reverse("privacy:choices"),
        reverse("messaging:preferences_request"),
    ]
    descriptions = [_description(client, url) for url in urls]
    assert all(descriptions)
    # Only the home page may use the clinic's own description; every other page says what it is.
    others = descriptions[1:]
    assert settings.CLINIC_DESCRIPTION not in others and len(set(others)) == len(others)
