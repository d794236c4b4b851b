"""A number on the STOP list gets a privacy-request code only as an exception, not as a channel anyone can open.

Attack tried: book online with your own email and a stranger's phone (a new
record holding the typed number), then file privacy requests for your email
and confirm them: each one texts a code to the stranger's number, even after
that number texted STOP. At 5 codes an hour per number that was 120 texts a day
to a person who asked for none.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from messaging.inbound import handle_inbound_sms
from messaging.models import MessageKind, SmsMessage
from messaging.verification_codes import VERIFICATION_CODES_PER_DAY_AFTER_STOP
from privacy.requests_models import DataSubjectRequest, RequestType
from privacy.subject_requests import confirm_email, resend_sms_code, submit_request, verification_url
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 12, 7, 9, 0, tzinfo=LA)
STRANGERS_PHONE = "+14085550166"


def codes_to(phone):
    return SmsMessage.objects.filter(kind=MessageKind.VERIFICATION, to_number=phone).count()


def request_and_confirm():
    dsr = submit_request(request_type=RequestType.ACCESS, email="mallory@example.net")
    token = verification_url(dsr).rstrip("/").rsplit("/", 1)[-1]
    dsr, needed = confirm_email(token=token)
    for _ in range(4 if needed == "code" else 0):
        dsr = resend_sms_code(request_id=dsr.pk)
        if dsr.identity_check_needed:
            break
    return DataSubjectRequest.objects.get(pk=dsr.pk)


@pytest.mark.policy("sms-program")
def test_a_stopped_number_gets_a_few_codes_a_day_at_most_whoever_asks(django_capture_on_commit_callbacks):
    """Rule: the STOP list wins; a code to a STOP'd number is a rare exception.

    At most VERIFICATION_CODES_PER_DAY_AFTER_STOP a day.
    """
    ClientFactory(email="mallory@example.net", mobile_phone=STRANGERS_PHONE)  # the booking with a typed number
    handle_inbound_sms(message_sid="SM" + "7" * 32, from_number=STRANGERS_PHONE, to_number="+14088211633", body="STOP")
    last = None
    for hour in range(0, 24, 2):
        with time_machine.travel(START + timedelta(hours=hour), tick=False):
            last = request_and_confirm()
    assert codes_to(STRANGERS_PHONE) == VERIFICATION_CODES_PER_DAY_AFTER_STOP
    # Past the cap the requester is not stuck: staff check identity another way.
    assert last.identity_check_needed
    # A new day, a new allowance: the person who really texted STOP can still verify their own request.
    with time_machine.travel(START + timedelta(days=1, hours=1), tick=False):
        request_and_confirm()
    assert codes_to(STRANGERS_PHONE) == 2 * VERIFICATION_CODES_PER_DAY_AFTER_STOP


def test_a_number_not_on_the_stop_list_keeps_the_hourly_cap_only():
    ClientFactory(email="mallory@example.net", mobile_phone=STRANGERS_PHONE)
    with time_machine.travel(START, tick=False):
        request_and_confirm()
    assert codes_to(STRANGERS_PHONE) == 5
