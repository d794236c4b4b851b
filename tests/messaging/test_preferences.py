"""The preference center: signed expiring link, changes recorded at once, agreeing with STOP/START."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from clinic.hashing import contact_hash
from messaging.models import EmailOptOut, OptOutEvent, SmsOptOut
from privacy.links import preferences_token
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from privacy.selectors import has_consent
from privacy.services import record_consent
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db
PHONE = "+14085550143"


@pytest.fixture
def person():
    client = ClientFactory(mobile_phone=PHONE, email="dana@example.com")
    record_consent(
        client=client,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    return client


def page(client, person):
    return reverse("messaging:preferences", args=[preferences_token(person)])


def test_page_shows_current_choices(client, person):
    html = client.get(page(client, person)).content.decode()
    assert 'name="sms_reminders" id="id_sms_reminders" checked' in html
    assert (
        'name="sms_marketing" id="id_sms_marketing">' in html or 'name="sms_marketing" id="id_sms_marketing" >' in html
    )


@pytest.mark.policy("rights-withdraw")
def test_changes_take_effect_at_once_and_are_recorded(client, person):
    client.post(page(client, person), {"sms_reminders": "on", "email_marketing": "on"}, REMOTE_ADDR="198.51.100.7")
    assert has_consent(client=person, purpose=ConsentPurpose.EMAIL_MARKETING)
    record = ConsentRecord.objects.filter(client=person, purpose=ConsentPurpose.EMAIL_MARKETING).first()
    assert record.source == ConsentSource.PREFERENCE_CENTER and record.ip_address == "198.51.100.7"
    # Unchanged choices write nothing new.
    assert ConsentRecord.objects.filter(client=person, purpose=ConsentPurpose.SMS_REMINDERS).count() == 1


def test_turning_off_all_texts_is_a_stop(client, person):
    client.post(page(client, person), {})
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()
    assert not has_consent(client=person, purpose=ConsentPurpose.SMS_REMINDERS)


def sms(client, body, sid):
    url = "/messaging/twilio/inbound/"
    data = {"MessageSid": sid, "From": PHONE, "To": "+14088211633", "Body": body}
    signature = RequestValidator("test-auth-token").compute_signature("http://testserver" + url, data)
    return client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.mark.policy("sms-stop")
def test_stop_by_text_shows_as_off_here_and_turning_on_here_does_not_lift_it(client, person):
    """The preference link can reach someone who typed another person's number.

    It records consent, never lifts a STOP.
    """
    sms(client, "STOP", "SM" + "1" * 32)
    html = client.get(page(client, person)).content.decode()
    assert "checked" not in html
    html = client.post(page(client, person), {"sms_reminders": "on"}).content.decode()
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()
    assert "text START to" in html
    assert has_consent(client=person, purpose=ConsentPurpose.SMS_REMINDERS)  # recorded, for when START comes


def test_start_by_text_shows_as_on_here(client, person):
    client.post(page(client, person), {})
    sms(client, "START", "SM" + "2" * 32)
    assert 'id="id_sms_reminders" checked' in client.get(page(client, person)).content.decode()


def test_email_unsubscribe_shows_as_off_and_opting_in_here_mails_the_address_a_link_that_clears_it(
    client, person, django_capture_on_commit_callbacks
):
    EmailOptOut.objects.create(email_hash=contact_hash(person.email), email=person.email, reason="link")
    record_consent(
        client=person,
        purpose=ConsentPurpose.EMAIL_MARKETING,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    assert 'id="id_email_marketing" checked' not in client.get(page(client, person)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page(client, person), {"sms_reminders": "on", "email_marketing": "on"})
    assert EmailOptOut.objects.exists()  # not lifted by the page itself
    (message,) = mail.outbox
    assert message.to == [person.email]
    link = re.search(r"http://testserver(/messaging/resubscribe/[^/\s]+/)", message.body).group(1)
    assert client.get(link).status_code == 200 and EmailOptOut.objects.exists()  # a link scanner lifts nothing
    assert client.post(link).status_code == 200
    assert not EmailOptOut.objects.exists()
    event = OptOutEvent.objects.filter(channel="email", action=OptOutEvent.LIFT).get()
    assert event.source == "email_link" and event.actor == "client"


def test_expired_link_is_410_and_tampered_is_404(client, person, settings):
    settings.PREFERENCE_LINK_MAX_AGE_DAYS = 30
    url = page(client, person)
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert client.get(url).status_code == 410
    assert client.get(url[:-4] + "abc/").status_code == 404


def test_link_by_email_answers_the_same_for_unknown_addresses(client, person, django_capture_on_commit_callbacks):
    url = reverse("messaging:preferences_request")

    def page_text(email):
        html = client.post(url, {"email": email}).content.decode()
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)  # masked per response

    assert page_text("DANA@example.com") == page_text("stranger@example.com")
    assert [m.to for m in mail.outbox] == [["dana@example.com"]]
    assert "/messaging/preferences/" in mail.outbox[0].body


def test_confirmation_email_and_manage_page_link_to_preferences(client, person):
    from appointments.emails import booking_confirmation_message
    from tests.support.builders import AppointmentFactory, bookable_clinic

    location, service, (practitioner,) = bookable_clinic()
    appointment = AppointmentFactory(
        location=location,
        service=service,
        practitioner=practitioner,
        client=person,
        start=timezone.now() + timedelta(days=3),
    )
    assert "/messaging/preferences/" in booking_confirmation_message(appointment).body


@pytest.mark.policy("rights-withdraw")
def test_a_resubscribe_link_lifts_only_the_opt_out_it_was_sent_for(client, person):
    """Used once, the link is spent: after the person unsubscribes again, replaying the old link
    (from a forwarded or shared mailbox) must not lift their newer unsubscribe."""
    from messaging.marketing import unsubscribe_token
    from messaging.preferences import resubscribe_token

    EmailOptOut.objects.create(email_hash=contact_hash(person.email), email=person.email, reason="link")
    link = reverse("messaging:email_resubscribe", args=[resubscribe_token(person, person.email)])
    assert client.post(link).status_code == 200
    assert not EmailOptOut.objects.exists()
    # Later they unsubscribe again, by the link in a marketing email.
    client.post(reverse("messaging:unsubscribe", args=[unsubscribe_token(person)]))
    assert EmailOptOut.objects.filter(email_hash=contact_hash(person.email)).exists()
    response = client.post(link)
    assert response.status_code == 404
    assert EmailOptOut.objects.filter(email_hash=contact_hash(person.email)).exists()
