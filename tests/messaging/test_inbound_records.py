"""What the clinic keeps of a two-way text: every inbound text and every reply is logged, filed under the
location texted and the client, so the front desk's scoped inbox, the export and erasure all reach it.

These pin the rows that mutation testing showed nothing read (docs/mutation.md, messaging/inbound.py).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from messaging.inbound import ReplyRefused, handle_inbound_sms, mark_read, send_staff_reply
from messaging.keywords import Keyword
from messaging.models import Direction, MessageKind, MessageStatus, SmsMessage
from privacy.models import ConsentPurpose, ConsentRecord
from tests.support.builders import AppointmentFactory, ClientFactory, LocationFactory, StaffFactory, bookable_clinic

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
MILPITAS_NUMBER = "+14088211633"
GLENDALE_NUMBER = "+18185550100"
PHONE = "+14085550143"


@pytest.fixture
def two_locations():
    milpitas, service, (practitioner,) = bookable_clinic()
    milpitas.sms_from_number = MILPITAS_NUMBER
    milpitas.save()
    glendale = LocationFactory(name="Glendale", phone="+18185550199", sms_from_number=GLENDALE_NUMBER)
    return milpitas, glendale, service, practitioner


def _client_with_visit_at(milpitas, service, practitioner):
    client = ClientFactory(mobile_phone=PHONE)
    visit = AppointmentFactory(
        client=client,
        location=milpitas,
        service=service,
        practitioner=practitioner,
        start=NOW + timedelta(days=1),
    )
    return client, visit


def test_a_text_to_one_locations_number_is_filed_and_answered_by_that_location(two_locations):
    milpitas, glendale, service, practitioner = two_locations
    client, visit = _client_with_visit_at(milpitas, service, practitioner)

    result = handle_inbound_sms(
        message_sid="SM" + "1" * 32, from_number=PHONE, to_number=GLENDALE_NUMBER, body="HELP", now=NOW
    )

    inbound = SmsMessage.objects.get(twilio_sid="SM" + "1" * 32)
    reply = SmsMessage.objects.get(in_reply_to=inbound)
    # Texted Glendale: Glendale's inbox holds it, and Glendale answers, whatever the client's next visit.
    assert inbound.location == glendale and reply.location == glendale
    assert "Glendale" in result.reply and "(818) 555-0199" in result.reply
    assert visit.location == milpitas


def test_a_text_to_a_number_no_location_sends_from_is_filed_under_the_next_visits_location(two_locations):
    milpitas, glendale, service, practitioner = two_locations
    _client_with_visit_at(milpitas, service, practitioner)

    handle_inbound_sms(message_sid="SM" + "2" * 32, from_number=PHONE, to_number="+14155550000", body="HELP", now=NOW)

    assert SmsMessage.objects.get(twilio_sid="SM" + "2" * 32).location == milpitas


def test_every_inbound_text_is_logged_with_its_numbers_client_visit_and_unread_for_the_front_desk(two_locations):
    milpitas, glendale, service, practitioner = two_locations
    client, visit = _client_with_visit_at(milpitas, service, practitioner)

    result = handle_inbound_sms(
        message_sid="SM" + "3" * 32,
        from_number=PHONE,
        to_number=MILPITAS_NUMBER,
        body="Can I bring my sister?",
        now=NOW,
    )

    assert result.keyword == Keyword.NONE and result.reply == ""
    row = SmsMessage.objects.get(twilio_sid="SM" + "3" * 32)
    assert row.direction == Direction.INBOUND
    assert str(row.from_number) == PHONE and str(row.to_number) == MILPITAS_NUMBER
    assert row.body == "Can I bring my sister?"
    assert row.client == client and row.appointment == visit and row.location == milpitas
    assert row.kind == MessageKind.OTHER and row.status == MessageStatus.RECEIVED
    assert row.read_at is None  # waits in the inbox
    assert not SmsMessage.objects.filter(in_reply_to=row).exists()


def test_a_keyword_text_is_handled_so_it_does_not_wait_in_the_inbox(two_locations):
    milpitas, glendale, service, practitioner = two_locations
    _client_with_visit_at(milpitas, service, practitioner)

    handle_inbound_sms(message_sid="SM" + "4" * 32, from_number=PHONE, to_number=MILPITAS_NUMBER, body="HELP", now=NOW)

    assert SmsMessage.objects.get(twilio_sid="SM" + "4" * 32).read_at == NOW


def test_every_reply_is_logged_as_sent_to_the_texter_with_its_client_visit_and_location(two_locations):
    milpitas, glendale, service, practitioner = two_locations
    client, visit = _client_with_visit_at(milpitas, service, practitioner)

    result = handle_inbound_sms(
        message_sid="SM" + "5" * 32, from_number=PHONE, to_number=MILPITAS_NUMBER, body="HELP", now=NOW
    )

    inbound = SmsMessage.objects.get(twilio_sid="SM" + "5" * 32)
    reply = SmsMessage.objects.get(in_reply_to=inbound)
    assert reply.direction == Direction.OUTBOUND
    assert str(reply.from_number) == MILPITAS_NUMBER and str(reply.to_number) == PHONE
    assert reply.body == result.reply
    assert reply.client == client and reply.appointment == visit and reply.location == milpitas
    assert reply.kind == MessageKind.KEYWORD_REPLY
    assert reply.status == MessageStatus.SENT and reply.sent_at == NOW


def test_start_records_the_text_that_asked_as_the_consents_evidence(two_locations):
    client = ClientFactory(mobile_phone=PHONE)

    handle_inbound_sms(message_sid="SM" + "6" * 32, from_number=PHONE, to_number=MILPITAS_NUMBER, body="STOP", now=NOW)
    handle_inbound_sms(message_sid="SM" + "7" * 32, from_number=PHONE, to_number=MILPITAS_NUMBER, body="START", now=NOW)

    row = ConsentRecord.objects.filter(client=client, purpose=ConsentPurpose.SMS_REMINDERS).latest("id")
    assert row.granted is True
    assert row.evidence == "SM" + "7" * 32


def _inbound(client, location, sid, body="Hello", number=PHONE):
    return handle_inbound_sms(
        message_sid=sid, from_number=number, to_number=str(location.sms_from_number), body=body, now=NOW
    )


def test_marking_texts_read_marks_only_those_texts(two_locations):
    milpitas, glendale, service, practitioner = two_locations
    client = ClientFactory(mobile_phone=PHONE)
    _inbound(client, milpitas, "SM" + "8" * 32)
    _inbound(client, glendale, "SM" + "9" * 32)
    first = SmsMessage.objects.get(twilio_sid="SM" + "8" * 32)
    other = SmsMessage.objects.get(twilio_sid="SM" + "9" * 32)

    assert mark_read(message_ids=[first.pk], now=NOW) == 1

    first.refresh_from_db()
    other.refresh_from_db()
    assert first.read_at == NOW
    assert other.read_at is None  # another location's unread text stays unread


def test_the_front_desks_reply_goes_to_the_number_of_the_text_it_answers_and_marks_it_read(two_locations):
    milpitas, glendale, service, practitioner = two_locations
    first = ClientFactory(mobile_phone=PHONE)
    second = ClientFactory(mobile_phone="+14085550199")
    _inbound(first, milpitas, "SM" + "a" * 32, number=PHONE)
    _inbound(second, milpitas, "SM" + "b" * 32, number="+14085550199")
    answered = SmsMessage.objects.get(twilio_sid="SM" + "b" * 32)
    staff = StaffFactory()

    queued = send_staff_reply(inbound_id=answered.pk, body="Yes, see you then.", staff_user=staff, now=NOW)

    queued.refresh_from_db()
    assert str(queued.to_number) == "+14085550199"
    assert queued.client == second  # the client's history, export and erasure reach the reply
    assert queued.in_reply_to == answered and queued.location == milpitas
    answered.refresh_from_db()
    assert answered.read_at == NOW
    assert SmsMessage.objects.get(twilio_sid="SM" + "a" * 32).read_at is None


def test_the_front_desk_can_only_answer_an_inbound_text(two_locations):
    milpitas, glendale, service, practitioner = two_locations
    client = ClientFactory(mobile_phone=PHONE)
    _inbound(client, milpitas, "SM" + "c" * 32, body="HELP")
    our_reply = SmsMessage.objects.get(direction=Direction.OUTBOUND, client=client)

    with pytest.raises(SmsMessage.DoesNotExist):
        send_staff_reply(inbound_id=our_reply.pk, body="Hello", staff_user=StaffFactory(), now=NOW)


def test_no_reply_is_queued_to_a_number_that_texted_stop(two_locations):
    milpitas, glendale, service, practitioner = two_locations
    client = ClientFactory(mobile_phone=PHONE)
    _inbound(client, milpitas, "SM" + "d" * 32, body="Is parking free?")
    _inbound(client, milpitas, "SM" + "e" * 32, body="STOP")
    question = SmsMessage.objects.get(twilio_sid="SM" + "d" * 32)

    with pytest.raises(ReplyRefused, match="opted out"):
        send_staff_reply(inbound_id=question.pk, body="Yes", staff_user=StaffFactory(), now=NOW)
    assert not SmsMessage.objects.filter(in_reply_to=question).exists()
