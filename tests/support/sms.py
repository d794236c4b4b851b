"""Texts from a client's phone through the signed Twilio webhook, and a client who gets texts."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from twilio.request_validator import RequestValidator

from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

INBOUND_URL = "/messaging/twilio/inbound/"
PHONE = "+14085550143"
CLINIC_NUMBER = "+14088211633"
LA = ZoneInfo("America/Los_Angeles")
SMS_NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)  # a Monday morning, inside texting hours


def inbound(client, body, sid="SM" + "1" * 32, sender=PHONE, token="test-auth-token", sign=True):
    """POST a text from `sender` to the clinic's number, signed as Twilio signs it (unless sign=False)."""
    data = {
        "MessageSid": sid,
        "From": sender,
        "To": CLINIC_NUMBER,
        "Body": body,
        "AccountSid": "AC" + "0" * 32,
        "NumMedia": "0",
    }
    headers = {}
    if sign:
        headers["HTTP_X_TWILIO_SIGNATURE"] = RequestValidator(token).compute_signature(
            "http://testserver" + INBOUND_URL, data
        )
    return client.post(INBOUND_URL, data, **headers)


def twiml_message(response):
    """The text of the TwiML reply, or "" when no reply is due."""
    html = response.content.decode()
    assert response["Content-Type"].startswith("application/xml")
    if "<Message>" not in html:
        return ""
    return html.split("<Message>")[1].split("</Message>")[0]


@pytest.fixture
def frozen_at_sms_now():
    with time_machine.travel(SMS_NOW, tick=False):
        yield


@pytest.fixture
def texting_client(db):
    """(client, appointment): a client at PHONE who asked for texts, booked the day after SMS_NOW."""
    location, service, (person,) = bookable_clinic(hours=((time(8), time(20)),))
    location.sms_from_number = CLINIC_NUMBER
    location.save()
    person_client = ClientFactory(mobile_phone=PHONE)
    for purpose in (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_MARKETING):
        record_consent(
            client=person_client, purpose=purpose, granted=True, notice_text="Texts", source=ConsentSource.BOOKING_FORM
        )
    with time_machine.travel(SMS_NOW - timedelta(days=3), tick=False):
        appointment = AppointmentFactory(
            location=location,
            service=service,
            practitioner=person,
            client=person_client,
            start=SMS_NOW + timedelta(days=1, hours=2),
        )
    return person_client, appointment


DELIVERY_NOW = datetime(2026, 12, 7, 14, 0, tzinfo=LA)  # a Monday afternoon, inside texting hours


@pytest.fixture
def queued_reminder(db):
    """One reminder queued for a client who agreed to texts, due at DELIVERY_NOW."""
    from messaging.models import SmsMessage
    from messaging.reminders import dispatch_due_reminders

    location, service, (person,) = bookable_clinic(hours=((time(8), time(20)),))
    client = ClientFactory(mobile_phone="+14085550143")
    record_consent(
        client=client,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="Texts",
        source=ConsentSource.BOOKING_FORM,
    )
    with time_machine.travel(DELIVERY_NOW - timedelta(days=3), tick=False):
        AppointmentFactory(
            location=location,
            service=service,
            practitioner=person,
            client=client,
            start=DELIVERY_NOW + timedelta(hours=24),
        )
    with time_machine.travel(DELIVERY_NOW, tick=False):
        dispatch_due_reminders(now=DELIVERY_NOW)
    return SmsMessage.objects.get()


def deliver(message, now=DELIVERY_NOW):
    """One delivery attempt of a queued text, as the send task makes it, at `now`."""
    from messaging.sending import deliver_sms

    with time_machine.travel(now, tick=False):
        return deliver_sms(message_id=message.pk)
