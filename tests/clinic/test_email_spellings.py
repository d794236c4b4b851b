"""One address, one spelling: an email that the mail system delivers to the same mailbox is the same email here.

Attack tried: Django's email check accepts a domain with a zero-width or
full-width character ("vera@exam\u200bple.com", "vera@ｅxample.com"); mail to it
is delivered to vera@example.com (the domain goes through IDNA), but as a
different string it escaped the email opt-out list, possible duplicates and a
privacy request for the plain address.
"""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from appointments.models import Appointment
from clinic import identity
from clinic.hashing import contact_hash
from messaging.models import EmailOptOut
from messaging.permissions import EMAIL_OPTED_OUT, Purpose, may_contact
from tests.support.builders import ClientFactory, bookable_clinic

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 6, 18, 0, tzinfo=LA)
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=LA)


@pytest.mark.policy("security-identity")
@pytest.mark.parametrize("spelling", ["vera@exam\u200bple.com", "vera@ｅxample.com", "Vera@EXAMPLE.com"])
def test_an_address_spelled_differently_is_the_same_address_for_the_opt_out_list_and_duplicates(
    client, spelling, django_capture_on_commit_callbacks
):
    """Rule: the email opt-out list wins over any booking's consent, whatever spelling of the address was typed."""
    EmailOptOut.objects.create(email_hash=contact_hash("vera@example.com"), reason="Unsubscribe link")
    vera = ClientFactory(email="vera@example.com")
    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    data = {
        "start": MONDAY_10.isoformat(),
        "practitioner": "any",
        "first_name": "Mallory",
        "last_name": "Booker",
        "email": spelling,
        "mobile_phone": "(408) 555-0199",
        "is_adult": "on",
        "accept_privacy_policy": "on",
        "email_marketing": "on",
    }
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("appointments:details", args=[location.slug, service.slug]), data)
    assert response.status_code == 302
    booked = Appointment.objects.get().client
    assert booked.email == "vera@example.com"
    assert may_contact(client=booked, purpose=Purpose.EMAIL_MARKETING).reason == EMAIL_OPTED_OUT
    assert vera in identity.possible_duplicates(booked)
    assert list(identity.clients_with_email(spelling).order_by("pk")) == [vera, booked]
    assert contact_hash(spelling) == contact_hash("vera@example.com")
