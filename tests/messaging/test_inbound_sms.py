"""Two-way SMS: STOP, START, HELP and C through the signed inbound webhook."""

from datetime import timedelta

import pytest
import time_machine
from twilio.request_validator import RequestValidator

from appointments.models import AppointmentStatus
from clinic.hashing import contact_hash
from messaging.keywords import Keyword, classify
from messaging.models import Direction, MessageKind, MessageStatus, SmsMessage, SmsOptOut
from messaging.reminders import dispatch_due_reminders
from messaging.sending import deliver_sms
from privacy.models import ConsentPurpose, ConsentRecord
from privacy.selectors import has_consent
from tests.support.builders import ClientFactory
from tests.support.sms import INBOUND_URL, PHONE, SMS_NOW, inbound, twiml_message

pytestmark = pytest.mark.usefixtures("frozen_at_sms_now")


# --- Keyword matching (pure) ------------------------------------------------


@pytest.mark.policy("sms-stop")
@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOP!!!",
        "StopAll",
        "unsubscribe",
        "CANCEL",
        "end",
        "Quit",
        "revoke",
        "optout",
        "opt out",
        "Opt-Out",
        "please stop texting me",
        "Stop texting me!",
        "stop it",
        "Please STOP",
        "don't text me",
        "Do not text me anymore",
        "No more texts please",
        "remove me from your list",
        "take me off this list",
        "unsubscribe me",
        "stop sending me messages",
        "leave me alone",
    ],
)
def test_opt_out_words_and_plain_revocations(body):
    assert classify(body) == Keyword.OPT_OUT


@pytest.mark.parametrize(
    "body",
    [
        "Can I stop by at 3?",
        "I need to cancel my appointment on Friday",
        "What time does it end?",
        "Thanks! See you then",
        "yes",
        "YES",
        "Is the stop on Main St near you?",
        "",
        "   ",
    ],
)
def test_other_messages_are_not_opt_outs(body):
    assert classify(body) != Keyword.OPT_OUT


@pytest.mark.parametrize(
    "body, keyword",
    [
        ("START", Keyword.OPT_IN),
        ("unstop", Keyword.OPT_IN),
        ("Start.", Keyword.OPT_IN),
        ("HELP", Keyword.HELP),
        ("info?", Keyword.HELP),
        ("help!", Keyword.HELP),
        ("C", Keyword.NONE),  # C and JOIN are registered keywords (below), not carrier ones
        ("YES", Keyword.NONE),
        ("Y", Keyword.NONE),
        ("Hello, can I move my appointment?", Keyword.NONE),
    ],
)
def test_keywords_are_case_and_punctuation_insensitive(body, keyword):
    assert classify(body) == keyword


@pytest.mark.policy("sms-stop")
@pytest.mark.parametrize(
    "body, name",
    [("C", "confirm"), ("c", "confirm"), ("Confirm", "confirm"), ("CONFIRM.", "confirm"), (" Join! ", "join")],
)
def test_c_and_join_are_keywords_messaging_registers_in_the_registry_and_carrier_words_still_win(body, name):
    from django.core.exceptions import ImproperlyConfigured

    from messaging.keywords import register_keyword, registered_handler

    assert registered_handler(body).name == name
    with pytest.raises(ImproperlyConfigured):  # taken: no other app may claim them
        register_keyword(name="hijack", words=[body], handler=lambda text: "mine")
    for carrier in ("STOP", "Start", "help", "Stop texting me"):
        assert classify(carrier) != Keyword.NONE and registered_handler(carrier) is None


# --- Through the webhook ----------------------------------------------------


@pytest.mark.policy("sms-stop")
@pytest.mark.django_db
def test_stop_suppresses_the_number_withdraws_consent_and_confirms_once(client, texting_client):
    person, _ = texting_client
    response = inbound(client, "Stop")
    assert response.status_code == 200
    assert "You are unsubscribed from California Aesthetics texts" in twiml_message(response)
    assert "Reply START to resubscribe" in twiml_message(response)
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()
    withdrawals = ConsentRecord.objects.filter(client=person, granted=False, evidence="SM" + "1" * 32)
    assert set(withdrawals.values_list("purpose", flat=True)) == {
        ConsentPurpose.SMS_REMINDERS,
        ConsentPurpose.SMS_MARKETING,
        ConsentPurpose.SMS_WAITLIST,
    }
    # A second STOP gets no second confirmation.
    assert twiml_message(inbound(client, "STOP", sid="SM" + "2" * 32)) == ""


@pytest.mark.django_db
def test_cancel_opts_out_and_says_how_to_cancel_the_appointment(client, texting_client):
    reply = twiml_message(inbound(client, "CANCEL"))
    assert "unsubscribed" in reply and "To cancel an appointment, call (408) 821-1633" in reply
    assert SmsOptOut.objects.exists()


@pytest.mark.policy("sms-stop")
@pytest.mark.django_db
def test_after_stop_nothing_else_is_sent_of_any_kind(client, texting_client, sms_outbox):
    inbound(client, "STOP")
    assert twiml_message(inbound(client, "HELP", sid="SM" + "3" * 32)) == ""
    assert twiml_message(inbound(client, "C", sid="SM" + "4" * 32)) == ""
    with time_machine.travel(SMS_NOW + timedelta(hours=2), tick=False):
        dispatch_due_reminders(now=SMS_NOW + timedelta(hours=2))
    assert sms_outbox == [] and not SmsMessage.objects.filter(kind=MessageKind.REMINDER).exists()


@pytest.mark.django_db
def test_stop_after_a_reminder_was_queued_stops_it(client, texting_client, sms_outbox):
    at_reminder = SMS_NOW + timedelta(hours=2)
    with time_machine.travel(at_reminder, tick=False):
        dispatch_due_reminders(now=at_reminder)
        inbound(client, "stop please")
        message = SmsMessage.objects.get(kind=MessageKind.REMINDER)
        assert deliver_sms(message_id=message.pk).outcome == "skipped"
    assert sms_outbox == []


@pytest.mark.policy("sms-stop")
@pytest.mark.django_db
def test_start_lifts_the_suppression_and_reminders_resume(client, texting_client, sms_outbox):
    person, _ = texting_client
    inbound(client, "STOP")
    reply = twiml_message(inbound(client, "Start", sid="SM" + "5" * 32))
    assert "resubscribed" in reply and "Reply HELP for help, STOP to opt out" in reply
    assert not SmsOptOut.objects.exists()
    assert has_consent(client=person, purpose=ConsentPurpose.SMS_REMINDERS)
    # Marketing needs its own fresh opt-in; START only restores appointment texts.
    assert not has_consent(client=person, purpose=ConsentPurpose.SMS_MARKETING)
    at_reminder = SMS_NOW + timedelta(hours=2)
    with time_machine.travel(at_reminder, tick=False):
        dispatch_due_reminders(now=at_reminder)
        deliver_sms(message_id=SmsMessage.objects.get(kind=MessageKind.REMINDER).pk)
    assert len(sms_outbox) == 1


@pytest.mark.policy("sms-help")
@pytest.mark.django_db
def test_help_answers_with_the_clinic_contact_and_program_terms(client, texting_client):
    reply = twiml_message(inbound(client, "help"))
    for phrase in [
        "California Aesthetics",
        "(408) 821-1633",
        "Msg frequency varies",
        "Msg &amp; data rates may apply",
        "Reply STOP to opt out",
    ]:
        assert phrase in reply


@pytest.mark.policy("sms-help")
@pytest.mark.django_db
def test_c_confirms_the_next_appointment_and_replies_with_its_details(client, texting_client):
    _, appointment = texting_client
    reply = twiml_message(inbound(client, "c"))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert "is confirmed" in reply and "Tue Dec 8 at 12:00 PM PST" in reply


@pytest.mark.django_db
def test_c_without_an_upcoming_appointment_says_so(client, db):
    ClientFactory(mobile_phone=PHONE)
    assert "couldn't find an upcoming appointment" in twiml_message(inbound(client, "CONFIRM"))


@pytest.mark.django_db
def test_other_text_is_stored_unread_for_the_front_desk_with_no_reply(client, texting_client):
    person, _ = texting_client
    response = inbound(client, "Can I bring my sister?")
    assert twiml_message(response) == ""
    message = SmsMessage.objects.get(direction=Direction.INBOUND)
    assert message.client == person and message.read_at is None and message.keyword == "none"


@pytest.mark.policy("collect-appointments-messages")
@pytest.mark.django_db
def test_every_inbound_and_reply_is_logged(client, texting_client):
    inbound(client, "HELP")
    inbound_row = SmsMessage.objects.get(direction=Direction.INBOUND)
    reply_row = SmsMessage.objects.get(direction=Direction.OUTBOUND)
    assert inbound_row.status == MessageStatus.RECEIVED and inbound_row.body == "HELP"
    assert (
        reply_row.kind == MessageKind.KEYWORD_REPLY
        and reply_row.in_reply_to == inbound_row
        and reply_row.to_number == PHONE
    )


@pytest.mark.django_db
def test_twilio_retry_with_the_same_sid_is_handled_once(client, texting_client):
    first = inbound(client, "STOP")
    second = inbound(client, "STOP")
    assert "unsubscribed" in twiml_message(first) and twiml_message(second) == ""
    assert SmsMessage.objects.filter(direction=Direction.INBOUND).count() == 1
    assert ConsentRecord.objects.filter(granted=False).count() == 3  # one per SMS purpose, not six


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["unsigned", "wrong-token"])
def test_forged_requests_are_403_and_change_nothing(client, texting_client, how):
    response = inbound(client, "STOP", sign=how != "unsigned", token="forger")
    assert response.status_code == 403
    assert not SmsOptOut.objects.exists() and not SmsMessage.objects.filter(direction=Direction.INBOUND).exists()


@pytest.mark.django_db
def test_missing_fields_get_400(client, texting_client):
    data = {"Body": "STOP"}
    signature = RequestValidator("test-auth-token").compute_signature("http://testserver" + INBOUND_URL, data)
    assert client.post(INBOUND_URL, data, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 400


@pytest.mark.django_db
def test_with_advanced_opt_out_state_is_recorded_but_no_second_reply(client, texting_client, settings):
    settings.TWILIO_ADVANCED_OPT_OUT = True
    assert twiml_message(inbound(client, "STOP")) == ""
    assert SmsOptOut.objects.exists()
    # C is ours, not a carrier keyword: still answered.
    inbound(client, "START", sid="SM" + "6" * 32)
    assert "confirmed" in twiml_message(inbound(client, "C", sid="SM" + "7" * 32))
