"""Cancel and reschedule (manage links) are rate limited per address, as booking is."""

import pytest
from django.core.cache import cache
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tight_limits(settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "appointment_change": "3/m"}
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("action", ["cancel", "reschedule"])
def test_cancel_and_reschedule_posts_are_rate_limited(client, action):
    url = reverse(f"appointments:{action}", args=["not-a-real-token"])
    codes = [client.post(url, {"start": "2026-12-08T18:00:00Z"}).status_code for _ in range(4)]
    assert codes[:3] == [404, 404, 404] and codes[3] == 429


def test_the_limit_counts_per_address_and_reading_the_reschedule_page_is_not_limited(client):
    url = reverse("appointments:reschedule", args=["not-a-real-token"])
    for _ in range(3):
        client.post(url, {})
    assert client.post(url, {}, REMOTE_ADDR="198.51.100.9").status_code == 404  # another address
    assert client.get(url).status_code == 404
