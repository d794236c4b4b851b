"""C confirms the visit whose texts went to the number, not another record's that merely holds it.

Attack tried: someone booked with a number that is not theirs (typed by mistake
or on purpose) and ticked no texts. When the number's owner replied C to their
own reminder, the earliest visit of any record holding the number was
confirmed: the stranger's, and its treatment, place and time were texted to a
number its client never agreed to be texted at, while the owner's own visit
stayed unconfirmed.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appointments.models import AppointmentStatus
from messaging.inbound import handle_inbound_sms
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
PHONE = "+14085550143"


@pytest.mark.policy("sms-program")
def test_c_confirms_only_a_visit_whose_client_gets_texts_at_this_number():
    location, service, (practitioner,) = bookable_clinic(hours=((time(8), time(20)),))
    owner = ClientFactory(mobile_phone=PHONE)
    record_consent(
        client=owner,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    stranger = ClientFactory(mobile_phone=PHONE)
    record_consent(
        client=stranger,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=False,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    with time_machine.travel(NOW, tick=False):
        strangers = AppointmentFactory(
            client=stranger,
            location=location,
            service=service,
            practitioner=practitioner,
            start=NOW + timedelta(days=1),
        )
        owners = AppointmentFactory(
            client=owner, location=location, service=service, practitioner=practitioner, start=NOW + timedelta(days=2)
        )
        result = handle_inbound_sms(message_sid="SM" + "3" * 32, from_number=PHONE, to_number="+14088211633", body="C")
    strangers.refresh_from_db()
    owners.refresh_from_db()
    assert strangers.status == AppointmentStatus.BOOKED
    assert owners.status == AppointmentStatus.CONFIRMED
    assert (NOW + timedelta(days=1)).strftime("%b %-d") not in result.reply


@pytest.mark.policy("security-identity")
def test_a_text_from_a_number_is_filed_under_its_proven_or_oldest_record_not_a_later_booking_that_typed_it():
    """Rule: a typed phone is not proof. The owner's texts were filed under the newest record holding the number (a
    stranger's booking), so that stranger's data export held the owner's own words."""
    from privacy import registry

    owner = ClientFactory(first_name="Vera", mobile_phone=PHONE)
    stranger = ClientFactory(first_name="Mallory", mobile_phone=PHONE)  # a later online booking that typed the number
    with time_machine.travel(NOW, tick=False):
        handle_inbound_sms(
            message_sid="SM" + "4" * 32,
            from_number=PHONE,
            to_number="+14088211633",
            body="Vera here: I did not book that, and my lab results are in",
        )
    exported = registry.export_subject([stranger.pk])
    assert "lab results" not in str(exported)
    assert "lab results" in str(registry.export_subject([owner.pk]))
