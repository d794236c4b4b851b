"""Privacy requests: a client with data in every table they touch, and the request-and-verify steps."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from messaging.models import SmsMessage
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

LA = ZoneInfo("America/Los_Angeles")
EMAIL, PHONE = "dana.reyes@example.com", "+14085550143"


@pytest.fixture
def dana():
    """Dana Reyesworth: consents with evidence, an appointment with notes, texts both ways."""
    client = ClientFactory(first_name="Dana", last_name="Reyesworth", email=EMAIL, mobile_phone=PHONE)
    for purpose in (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_MARKETING, ConsentPurpose.EMAIL_MARKETING):
        record_consent(
            client=client,
            purpose=purpose,
            granted=True,
            notice_text="x",
            source=ConsentSource.BOOKING_FORM,
            ip_address="203.0.113.5",
            user_agent="DanaPhone",
        )
    location, service, (person,) = bookable_clinic()
    AppointmentFactory(
        client=client,
        location=location,
        service=service,
        practitioner=person,
        start=datetime(2026, 12, 8, 10, tzinfo=LA),
        notes="Dana prefers mornings",
    )
    SmsMessage.objects.create(to_number=PHONE, body="Hi Dana, see you Tuesday", client=client, location=location)
    SmsMessage.objects.create(
        direction="in",
        from_number=PHONE,
        to_number="+14088211633",
        body="Thanks! Dana",
        client=client,
        location=location,
        status="received",
    )
    return client


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """A context manager that runs what the block queues on commit (emails, texts)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def submit(client, run_tasks, request_type, email=EMAIL, **extra):
    with run_tasks():
        response = client.post(reverse("privacy:request_form"), {"request_type": request_type, "email": email, **extra})
    return response


def verify_link(email_message):
    return re.search(r"http://testserver(/privacy/requests/verify/\S+)", email_message.body).group(1)


def sent_code(sms_outbox):
    return re.search(r"code is (\d{6})", sms_outbox[-1].body).group(1)


class Person:
    """Dana Quillfeather, whom the erasure and export tests put in every table (privacy/conftest.py)."""

    first_name, last_name = "Dana", "Quillfeather"
    email = "dana.quillfeather@example.com"
    phone, national = "+14085550199", "4085550199"
    ip, user_agent = "198.51.100.23", "QuillBrowser/7.1 (Dana's phone)"

    @classmethod
    def needles(cls):
        """What must not be found anywhere after the erasure."""
        return [cls.last_name, cls.email, cls.phone, cls.national, cls.ip, "QuillBrowser"]
