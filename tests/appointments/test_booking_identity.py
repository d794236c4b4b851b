"""Identity: a typed email or phone is not proof.

An anonymous booking never reads, changes or reveals an existing record: it
goes on a new record with exactly what was typed, and joins an older record
only after the person proves control of the email on file.
"""

import re
from datetime import time, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from appointments.links import manage_path
from appointments.models import Appointment, AppointmentSource
from appointments.services import send_pending_confirmation_emails
from clinic.hashing import contact_hash
from clinic.models import Client
from messaging.models import SmsOptOut
from privacy.links import preferences_token
from privacy.models import AuditAction, ConsentPurpose, ConsentRecord, ConsentSource, PrivacyAuditEvent
from privacy.selectors import has_consent
from privacy.services import record_consent
from tests.support.booking import MONDAY_10, SUNDAY_EVENING, post_booking
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

pytestmark = pytest.mark.django_db

NOW = SUNDAY_EVENING
VICTIM_EMAIL = "victim@example.com"
VICTIM_PHONE = "+14085550177"
BOOKER_EMAIL = "booker@example.net"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic():
    location, service, people = bookable_clinic(hours=((time(9), time(17)),))
    return location, service, people[0]


@pytest.fixture
def book(client, clinic, django_capture_on_commit_callbacks):
    """Book online as an anonymous visitor, running what the booking queues on commit."""
    location, service, _ = clinic

    def post(start=MONDAY_10, **overrides):
        mallory = {
            "first_name": "Mallory",
            "last_name": "Booker",
            "email": BOOKER_EMAIL,
            "mobile_phone": "(408) 555-0199",
        }
        with django_capture_on_commit_callbacks(execute=True):
            return post_booking(client, location, service, start, **{**mallory, **overrides})

    return post


@pytest.fixture
def victim():
    person = ClientFactory(first_name="Vera", last_name="Victim", email=VICTIM_EMAIL, mobile_phone=VICTIM_PHONE)
    record_consent(
        client=person,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    return person


def links_in(message):
    return re.findall(r"https?://\S+", message.body)


@pytest.mark.policy("security-identity")
def test_a_booking_with_a_strangers_phone_shows_back_only_what_the_booker_typed(client, book, victim):
    """Attack: the confirmation page showed the victim's email on file."""
    response = book(mobile_phone=VICTIM_PHONE)
    page = client.get(response["Location"]).content.decode()
    assert VICTIM_EMAIL not in page and "Vera" not in page
    assert "the address you gave" in page  # and no address at all: a merge may move the visit onto another record
    appointment = Appointment.objects.get()
    assert appointment.client != victim and appointment.client.email == BOOKER_EMAIL


@pytest.mark.policy("security-identity")
def test_the_bookers_preference_link_cannot_change_the_victims_consents_or_lift_their_stop(client, book, victim):
    """Attack: the preference link from the booking undid the victim's STOP and granted marketing on their record."""
    SmsOptOut.objects.create(phone_hash=contact_hash(VICTIM_PHONE), reason="STOP")
    record_consent(
        client=victim,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=False,
        notice_text="STOP",
        source=ConsentSource.SMS_KEYWORD,
    )
    book(mobile_phone=VICTIM_PHONE)
    victim_rows = ConsentRecord.objects.filter(client=victim).count()
    booked = Appointment.objects.get().client
    (confirmation,) = mail.outbox
    assert reverse("messaging:preferences", args=[preferences_token(victim)]) not in confirmation.body
    page = reverse("messaging:preferences", args=[preferences_token(booked)])
    client.post(page, {"sms_reminders": "on", "sms_marketing": "on"})
    assert ConsentRecord.objects.filter(client=victim).count() == victim_rows
    assert not has_consent(client=victim, purpose=ConsentPurpose.SMS_MARKETING)
    # Only the phone's owner lifts its STOP (START from that phone): a typed number proves nothing.
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(VICTIM_PHONE)).exists()


@pytest.mark.policy("security-identity")
def test_the_bookers_unticked_boxes_do_not_withdraw_the_victims_consent(book, victim):
    """Attack: booking with the victim's email and the boxes unticked withdrew the victim's reminder consent."""
    book(email=VICTIM_EMAIL)
    assert has_consent(client=victim, purpose=ConsentPurpose.SMS_REMINDERS)
    assert ConsentRecord.objects.filter(client=victim).count() == 1
    booked = Appointment.objects.get().client
    assert booked != victim
    assert set(ConsentRecord.objects.filter(client=booked).values_list("purpose", flat=True)) == {
        ConsentPurpose.PRIVACY_POLICY,
        ConsentPurpose.SMS_REMINDERS,
        ConsentPurpose.SMS_MARKETING,
        ConsentPurpose.EMAIL_MARKETING,
    }


@pytest.mark.policy("security-identity")
def test_no_contact_field_of_an_existing_record_is_ever_filled_in(book):
    """Attack: a phone-only client's blank email was filled with the booker's address."""
    phone_only = ClientFactory(email="", mobile_phone=VICTIM_PHONE, date_of_birth=None)
    book(mobile_phone=VICTIM_PHONE)
    phone_only.refresh_from_db()
    assert phone_only.email == "" and phone_only.date_of_birth is None
    assert Client.objects.count() == 2


@pytest.mark.policy("security-identity")
def test_the_sweeper_never_mails_the_victims_front_desk_appointment_links_to_the_booker(book, clinic):
    """Attack: after the fill-in, the confirmation sweeper mailed the booker manage links for the victim's visits."""
    location, service, person = clinic
    phone_only = ClientFactory(email="", mobile_phone=VICTIM_PHONE)
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        front_desk = AppointmentFactory(
            client=phone_only,
            location=location,
            service=service,
            practitioner=person,
            start=MONDAY_10 + timedelta(hours=3),
            source=AppointmentSource.FRONT_DESK,
        )
    book(mobile_phone=VICTIM_PHONE)
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        send_pending_confirmation_emails()
    assert [m.to for m in mail.outbox] == [[BOOKER_EMAIL]]  # the booker's own confirmation only
    assert manage_path(front_desk) not in mail.outbox[0].body
    front_desk.refresh_from_db()
    assert front_desk.confirmation_emailed_at is None


def test_the_confirmation_goes_only_to_the_address_on_the_appointments_own_record(book, victim):
    book(mobile_phone=VICTIM_PHONE)
    assert [m.to for m in mail.outbox] == [[BOOKER_EMAIL]]


# --- Proof of control, then match ------------------------------------------------


def claim_link(message):
    found = [link for link in links_in(message) if "/visits/keep-together/" in link]
    return found[0] if found else None


def test_a_booking_with_the_email_on_file_emails_a_keep_together_link_to_that_address_only(client, book, victim):
    response = book(email=VICTIM_EMAIL, mobile_phone=VICTIM_PHONE)
    (confirmation,) = mail.outbox
    assert confirmation.to == [VICTIM_EMAIL] and claim_link(confirmation)
    # The booker holding the manage link has proved nothing: the page right after booking does not offer it.
    page = client.get(response["Location"]).content.decode()
    assert "keep-together" not in page and "keep my visits together" not in page.lower()


def test_a_booking_with_a_new_email_carries_no_keep_together_link(book, victim):
    book()
    (confirmation,) = mail.outbox
    assert claim_link(confirmation) is None


def test_the_keep_together_page_shows_nothing_of_the_older_record_and_a_get_changes_nothing(client, book, victim):
    book(email=VICTIM_EMAIL, mobile_phone=VICTIM_PHONE)
    url = claim_link(mail.outbox[0])
    path = url[url.index("/visits/") :]
    page = client.get(path)
    html = page.content.decode()
    assert page.status_code == 200 and 'method="post"' in html
    for secret in ("Vera", "Victim", VICTIM_EMAIL):
        assert secret not in html
    assert Client.objects.count() == 2  # a mail scanner's GET merges nothing


@pytest.mark.policy("security-identity")
def test_confirming_the_keep_together_link_merges_the_booking_into_the_older_record_once(client, book, victim):
    Client.objects.filter(pk=victim.pk).update(phone_verified_at=NOW)  # a proven phone on file is kept
    book(email=VICTIM_EMAIL, sms_marketing="on")
    booked = Appointment.objects.get().client
    url = claim_link(mail.outbox[0])
    path = url[url.index("/visits/") :]
    response = client.post(path)
    assert response.status_code == 200
    appointment = Appointment.objects.get()
    victim.refresh_from_db()
    assert appointment.client == victim and not Client.objects.filter(pk=booked.pk).exists()
    assert victim.email_verified_at is not None
    # The older record keeps its own contact details; the booking's differing ones are a note for the front desk.
    assert str(victim.mobile_phone) == VICTIM_PHONE and "+14085550199" in victim.notes
    # The person's own choices at booking now count on their record.
    assert has_consent(client=victim, purpose=ConsentPurpose.SMS_MARKETING)
    event = PrivacyAuditEvent.objects.get(action=AuditAction.CLIENTS_MERGED)
    assert event.client == victim and "emailed link" in event.actor_label
    # Single use.
    assert client.post(path).status_code == 404


def test_a_tampered_keep_together_link_is_404(client, book, victim):
    book(email=VICTIM_EMAIL, mobile_phone=VICTIM_PHONE)
    url = claim_link(mail.outbox[0])
    path = url[url.index("/visits/") :]
    assert client.post(path[:-3] + "xyz/").status_code == 404
    assert Client.objects.count() == 2


@pytest.mark.policy("security-identity")
def test_no_keep_together_link_into_an_older_record_whose_differing_phone_was_never_proven(book, clinic):
    """A stranger's earlier booking with this email (and their own phone) must not gain the person's visits
    and texts."""
    strangers = ClientFactory(email=VICTIM_EMAIL, mobile_phone="+14085550100")
    book(first_name="Vera", email=VICTIM_EMAIL, mobile_phone=VICTIM_PHONE)
    (confirmation,) = mail.outbox
    assert claim_link(confirmation) is None
    # Once that older phone is proven the person's (a code to it), the link is offered.
    Client.objects.filter(pk=strangers.pk).update(phone_verified_at=NOW)
    book(start=MONDAY_10 + timedelta(hours=2), email=VICTIM_EMAIL, mobile_phone=VICTIM_PHONE)
    assert claim_link(mail.outbox[-1])


def test_a_keep_together_link_stops_working_if_the_older_phone_no_longer_fits(client, book, victim):
    book(email=VICTIM_EMAIL, mobile_phone=VICTIM_PHONE)
    url = claim_link(mail.outbox[0])
    Client.objects.filter(pk=victim.pk).update(mobile_phone="+14085550100")
    assert client.post(url[url.index("/visits/") :]).status_code == 404
    assert Client.objects.count() == 2


@pytest.mark.policy("security-identity")
def test_the_manage_page_carries_no_signed_preference_link(client, book, victim):
    """Whoever holds a manage link proved nothing, and a merge may move the visit onto an older record."""
    response = book(email=VICTIM_EMAIL, mobile_phone=VICTIM_PHONE)
    booked = Appointment.objects.get().client
    page = client.get(response["Location"]).content.decode()
    assert preferences_token(booked) not in page and preferences_token(victim) not in page
    assert not re.search(r"/messaging/preferences/[^\"/]+/", page)
    assert reverse("messaging:preferences_request") in page
