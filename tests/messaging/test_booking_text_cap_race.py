"""The one-booking-text-a-day cap holds when a bot's bookings arrive at the same moment (PostgreSQL, real threads)."""

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from appointments.models import AppointmentSource
from messaging.confirmations import queue_booking_confirmation
from messaging.models import MessageKind, MessageStatus, SmsMessage
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.environment import requires_postgres

LA = ZoneInfo("America/Los_Angeles")
PHONE = "+14085550188"
RACERS = 6


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.policy("sms-program")
def test_racing_bot_bookings_with_one_number_get_one_text_between_them():
    """Rule: a number that never texted us gets one booking text a day, even from bookings made at the same instant."""
    location, service, (practitioner,) = bookable_clinic(hours=((time(0), time(23, 59)),))
    start = datetime.now(LA).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=3)
    appointments = []
    for i in range(RACERS):
        person = ClientFactory(mobile_phone=PHONE)  # each online booking is a new record
        record_consent(
            client=person,
            purpose=ConsentPurpose.SMS_REMINDERS,
            granted=True,
            notice_text="x",
            source=ConsentSource.BOOKING_FORM,
        )
        appointments.append(
            AppointmentFactory(
                client=person,
                location=location,
                service=service,
                practitioner=practitioner,
                start=start + timedelta(hours=i),
                source=AppointmentSource.ONLINE,
            )
        )
    barrier = threading.Barrier(RACERS)

    def confirm(appointment_id):
        try:
            barrier.wait()
            queue_booking_confirmation(appointment_id=appointment_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(a.pk,)) for a in appointments]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    texts = SmsMessage.objects.filter(kind=MessageKind.CONFIRMATION, to_number=PHONE)
    assert texts.count() == RACERS
    assert texts.exclude(status=MessageStatus.SKIPPED).count() == 1
