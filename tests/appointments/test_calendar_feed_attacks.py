"""Attacks on the practitioner feed: a client's first name cannot add lines or properties to it."""

import pytest
from django.urls import reverse
from icalendar import Calendar

from appointments.feeds import SALT
from tests.appointments.test_calendar_feeds import NOW, feed_path
from tests.support.builders import AppointmentFactory, ClientFactory

pytest_plugins = ["tests.appointments.test_calendar_feeds"]  # the clinic fixture and frozen time

pytestmark = pytest.mark.django_db


@pytest.mark.policy("security")
@pytest.mark.parametrize(
    "first_name",
    [
        "Ana\r\nDESCRIPTION:Quintanilla +14085550199\r\nATTENDEE:mailto:ana@example.com",
        "Ana\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:Quintanilla",
        "Ana;DESCRIPTION=Quintanilla,\\n",
    ],
    ids=["crlf-properties", "lf-new-event", "semicolon-comma-backslash"],
)
def test_a_first_name_with_newlines_or_separators_stays_inside_the_summary(client, clinic, first_name):
    location, service, person = clinic
    AppointmentFactory(
        client=ClientFactory(first_name=first_name, last_name="Quintanilla"),
        location=location,
        service=service,
        practitioner=person,
        start=NOW.replace(hour=10),
    )
    response = client.get(feed_path(person))
    assert response.status_code == 200
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    # The name stays one escaped text value (a CR is dropped: TEXT values carry line breaks as \n).
    assert str(event["summary"]) == f"{first_name}: HydraFacial".replace("\r", "")
    assert "DESCRIPTION" not in event and "ATTENDEE" not in event
    lines = response.content.decode().replace("\r\n ", "").split("\r\n")  # unfold, then one property a line
    assert not any(line.startswith(("DESCRIPTION", "ATTENDEE", "SUMMARY:Quintanilla")) for line in lines)


@pytest.mark.parametrize("payload", [["1" * 30, "key"], {"a": 1}, "text", None, [1, 2, 3], [1e300, "k"]])
def test_a_validly_signed_token_with_odd_contents_is_a_404_not_a_500(client, clinic, payload):
    from django.core import signing

    token = signing.dumps(payload, salt=SALT, compress=False)
    assert client.get(reverse("appointments:practitioner_feed", args=[token])).status_code == 404
