"""Shared by the fault tests: the fake Twilio, and a clinic open around the clock where it is midday."""

from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from tests.messaging.conftest import fake_twilio  # noqa: F401 - the fixture, for this directory too
from tests.workers import midday_clinic


@pytest.fixture
def open_clinic():
    """(location, service, start): one practitioner, open all day, and a free slot 3 to 4 hours ahead."""
    location, service, _ = midday_clinic()
    local_now = datetime.now(location.tzinfo)
    start = (local_now + timedelta(hours=4)).replace(minute=0, second=0, microsecond=0)
    return location, service, start


def booking_form_url(location, service, start):
    return (
        reverse("appointments:details", args=[location.slug, service.slug])
        + "?"
        + urlencode({"start": start.isoformat()})
    )


def post_booking(client, location, service, start, *, email="ana@example.com", phone="+14085550188"):
    return client.post(
        reverse("appointments:details", args=[location.slug, service.slug]),
        {
            "start": start.isoformat(),
            "practitioner": "any",
            "first_name": "Ana",
            "last_name": "Lopez",
            "email": email,
            "mobile_phone": phone,
            "is_adult": "on",
            "accept_privacy_policy": "on",
            "sms_reminders": "on",
        },
    )
