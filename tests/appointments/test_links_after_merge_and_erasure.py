"""Links reach only the person they were made for.

Not after a merge moved the visit, an erasure, or a corrected address.

Attacks tried against the merged main (issue 14, audit):
- the manage page of a booking made with a stranger's phone showed, after the
  front desk merged it into the stranger's record, that record's email;
- preference and unsubscribe links kept working after the client was erased,
  writing the visitor's IP address and browser into the ledger of the erased record;
- a preference link emailed to a mistyped address kept working after the front
  desk corrected the address.
"""

from datetime import time

import pytest
import time_machine
from django.urls import reverse

from appointments.models import Appointment
from clinic import identity
from messaging.marketing import unsubscribe_token
from privacy.erasure import erase_clients
from privacy.links import preferences_token
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from privacy.services import record_consent
from tests.support.booking import MONDAY_10, SUNDAY_EVENING, post_booking
from tests.support.builders import ClientFactory, StaffFactory, bookable_clinic

pytestmark = pytest.mark.django_db

NOW = SUNDAY_EVENING
VICTIM_EMAIL = "victim@example.com"
VICTIM_PHONE = "+14085550177"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def booked(client, django_capture_on_commit_callbacks):
    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    with django_capture_on_commit_callbacks(execute=True):
        response = post_booking(
            client,
            location,
            service,
            MONDAY_10,
            first_name="Mallory",
            last_name="Booker",
            email="booker@example.net",
            mobile_phone=VICTIM_PHONE,
        )
    assert response.status_code == 302
    return Appointment.objects.get(), response["Location"]


@pytest.mark.policy("security-identity")
def test_a_manage_link_never_shows_the_email_of_the_record_a_merge_moved_the_visit_to(client, booked):
    """Rule: the manage page reveals no contact detail of a record (a merge may move the visit onto another's)."""
    appointment, manage_page = booked
    victim = ClientFactory(first_name="Vera", email=VICTIM_EMAIL, mobile_phone=VICTIM_PHONE)
    # The front desk sees a possible duplicate (same phone) and merges the booking into the older record.
    identity.merge_clients(
        keep_id=victim.pk,
        duplicate_id=appointment.client_id,
        staff_user=StaffFactory(is_superuser=True),
        reason="Same phone",
    )
    page = client.get(manage_page).content.decode()
    assert client.get(manage_page).status_code == 200
    assert VICTIM_EMAIL not in page and "Vera" not in page


@pytest.fixture
def erased():
    person = ClientFactory(first_name="Erin", email="erin@example.com", mobile_phone="+14085550123")
    record_consent(
        client=person,
        purpose=ConsentPurpose.EMAIL_MARKETING,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    links = (
        reverse("messaging:preferences", args=[preferences_token(person)]),
        reverse("messaging:unsubscribe", args=[unsubscribe_token(person)]),
    )
    erase_clients(client_ids=[person.pk])
    return person, links


@pytest.mark.policy("rights-erasure")
def test_a_preference_link_is_dead_after_erasure_and_records_nothing(client, erased):
    """Rule: after erasure no link brings new personal data (IP, browser) into the erased record's ledger."""
    person, (preferences, _) = erased
    rows = ConsentRecord.objects.filter(client=person).count()
    assert client.get(preferences).status_code == 404
    response = client.post(
        preferences,
        {"sms_reminders": "on", "email_marketing": "on"},
        REMOTE_ADDR="198.51.100.77",
        HTTP_USER_AGENT="Attacker/1.0",
    )
    assert response.status_code == 404
    assert ConsentRecord.objects.filter(client=person).count() == rows
    assert not ConsentRecord.objects.filter(ip_address="198.51.100.77").exists()


@pytest.mark.policy("rights-erasure")
def test_an_unsubscribe_link_after_erasure_records_no_ip_or_browser(client, erased):
    """Rule: after erasure no link brings new personal data into the erased record's ledger.

    The address stays suppressed by hash.
    """
    person, (_, unsubscribe) = erased
    client.post(unsubscribe, REMOTE_ADDR="198.51.100.78", HTTP_USER_AGENT="Mail/1.0")
    assert not ConsentRecord.objects.filter(ip_address="198.51.100.78").exists()
    assert not ConsentRecord.objects.filter(client=person, user_agent="Mail/1.0").exists()


@pytest.mark.policy("security-identity")
def test_a_preference_link_reaches_only_the_address_it_was_sent_to(client):
    """Rule: a preference link mailed to a mistyped address dies when the front desk corrects the address."""
    person = ClientFactory(first_name="Dana", email="dana@exampel.com", mobile_phone="+14085550143")
    link = reverse("messaging:preferences", args=[preferences_token(person)])
    assert client.get(link).status_code == 200
    person.email = "dana@example.com"
    person.save()
    response = client.get(link)
    assert response.status_code == 404 and "Dana" not in response.content.decode()
    client.post(link, {"email_marketing": "on"})
    assert not ConsentRecord.objects.filter(client=person).exists()
    # A link made for the corrected address works.
    assert client.get(reverse("messaging:preferences", args=[preferences_token(person)])).status_code == 200


@pytest.mark.policy("security-identity")
def test_an_unsubscribe_link_still_unsubscribes_the_address_after_its_record_was_merged(client):
    """Rule: an opt-out is never lost. A marketing email went to a booking's record; the front desk then merged it
    into the person's older record; the one-click unsubscribe in that email must still stop marketing to the address."""
    from messaging.permissions import Purpose, may_contact

    older = ClientFactory(email="rae@example.com", mobile_phone="+14085550161")
    newer = ClientFactory(email="rae@example.com", mobile_phone="+14085550161")
    for person in (older, newer):
        record_consent(
            client=person,
            purpose=ConsentPurpose.EMAIL_MARKETING,
            granted=True,
            notice_text="x",
            source=ConsentSource.BOOKING_FORM,
        )
    link = reverse("messaging:unsubscribe", args=[unsubscribe_token(newer)])
    identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, reason="Same person")
    response = client.post(link, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not may_contact(client=older, purpose=Purpose.EMAIL_MARKETING)
