"""Texts in the client's language (issue 20): written in the language they booked in; Spanish keywords
(accents or not) work like the English ones whatever the client's language, answered in Spanish."""

from datetime import timedelta

import pytest
import time_machine

from messaging import texts
from messaging.confirmations import queue_booking_confirmation
from messaging.keywords import Keyword, classify, normalise, registered_handler
from messaging.models import SmsMessage
from messaging.opt_outs import is_sms_opted_out
from messaging.reminders import dispatch_due_reminders
from tests.support.sms import PHONE, inbound, twiml_message

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def spanish_client(texting_client):
    person, appointment = texting_client
    person.language = "es"
    person.save(update_fields=["language"])
    return person, appointment


@pytest.mark.usefixtures("frozen_at_sms_now")
def test_the_booking_confirmation_text_is_in_the_clients_language(spanish_client):
    _, appointment = spanish_client
    sms = queue_booking_confirmation(appointment_id=appointment.pk)
    assert "Responda AYUDA para ayuda, ALTO para cancelar." in sms.body and "Reply HELP" not in sms.body
    assert "su cita de" in sms.body


@pytest.mark.usefixtures("frozen_at_sms_now")
def test_an_english_clients_confirmation_stays_english(texting_client):
    _, appointment = texting_client
    sms = queue_booking_confirmation(appointment_id=appointment.pk)
    assert "Reply HELP for help, STOP to opt out." in sms.body


def test_the_reminder_is_in_the_clients_language_with_spanish_day_names(spanish_client):
    _, appointment = spanish_client
    with time_machine.travel(appointment.start - timedelta(hours=23), tick=False):
        dispatch_due_reminders()
    body = SmsMessage.objects.get(appointment=appointment, kind="reminder").body
    assert body.startswith("Recordatorio de") and "Responda C para confirmar." in body
    assert "mar 8 dic, 12:00 PM PST" in body  # Tuesday 8 December, on the location's clock


@pytest.mark.policy("sms-stop")
@pytest.mark.usefixtures("frozen_at_sms_now")
def test_stop_from_a_spanish_client_opts_out_and_is_answered_in_spanish(client, spanish_client):
    reply = twiml_message(inbound(client, "STOP"))
    assert is_sms_opted_out(PHONE)
    assert "Ha cancelado su suscripción" in reply


@pytest.mark.policy("sms-stop")
@pytest.mark.usefixtures("frozen_at_sms_now")
@pytest.mark.parametrize("body", ["ALTO", "Párar", "ＡＬＴＯ"])
def test_spanish_stop_words_work_for_an_english_client_too(client, texting_client, body):
    reply = twiml_message(inbound(client, body))
    assert is_sms_opted_out(PHONE) and "Ha cancelado su suscripción" in reply


@pytest.mark.usefixtures("frozen_at_sms_now")
def test_iniciar_lifts_a_stop_like_start_and_is_answered_in_spanish(client, texting_client):
    twiml_message(inbound(client, "STOP"))
    reply = twiml_message(inbound(client, "Iniciar", sid="SM" + "2" * 32))
    assert not is_sms_opted_out(PHONE) and reply.startswith("Le volveremos a enviar mensajes")


def test_accents_and_case_do_not_matter():
    assert normalise("sí") == "SI" and normalise("¡Ayúda!") == "AYUDA"
    assert classify("ayúda") == Keyword.HELP and classify("Alto") == Keyword.OPT_OUT
    assert registered_handler("Sí").name == "waitlist_yes" and registered_handler("unirme").name == "join"


# GSM-7's letters: a text with any other (á í ó ú) goes as UCS-2, 67 characters a segment instead of 153.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)


@pytest.mark.usefixtures("frozen_at_sms_now")
def test_the_spanish_appointment_texts_stay_gsm7_and_as_short_as_the_english(spanish_client):
    """The wording keeps to GSM-7 (é and ñ are in it), so a Spanish text costs what the English one does."""
    person, appointment = spanish_client
    spanish = [
        texts.booking_confirmation(appointment),
        texts.reminder(appointment),
        texts.cancelled_by_clinic(appointment),
    ]
    person.language = "en"
    english = [
        texts.booking_confirmation(appointment),
        texts.reminder(appointment),
        texts.cancelled_by_clinic(appointment),
    ]
    for es, en in zip(spanish, english, strict=True):
        assert set(es) <= GSM7, set(es) - GSM7
        assert -(-len(es) // 153) <= -(-len(en) // 153) + 1, (len(es), len(en))
