"""Spanish keywords work like the English ones: ALTO and PARAR are STOP, AYUDA is HELP, answered in Spanish."""

import pytest

from messaging.keywords import Keyword, classify
from messaging.opt_outs import is_sms_opted_out
from privacy.models import ConsentPurpose, ConsentRecord
from tests.support.sms import PHONE, inbound, twiml_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_at_sms_now")]


@pytest.mark.policy("sms-stop")
@pytest.mark.parametrize("body", ["ALTO", "alto", "Parar", " PARAR! "])
def test_alto_and_parar_opt_out_like_stop_with_a_spanish_confirmation(client, texting_client, body):
    person, _ = texting_client
    reply = twiml_message(inbound(client, body))
    assert is_sms_opted_out(PHONE)
    assert "Ha cancelado su suscripción" in reply and "START" in reply
    withdrawn = ConsentRecord.objects.filter(client=person, granted=False, purpose=ConsentPurpose.SMS_REMINDERS)
    assert withdrawn.exists()
    # Nothing more to a number that said ALTO: a second one gets no second confirmation.
    assert twiml_message(inbound(client, "ALTO", sid="SM" + "2" * 32)) == ""


def test_ayuda_answers_in_spanish_with_the_clinic_contact(client, texting_client):
    reply = twiml_message(inbound(client, "Ayuda"))
    assert "Ayuda: (408) 821-1633" in reply and "Responda ALTO para cancelar" in reply
    assert not is_sms_opted_out(PHONE)


def test_english_keywords_still_answer_in_english(client, texting_client):
    assert "You are unsubscribed" in twiml_message(inbound(client, "STOP"))


@pytest.mark.parametrize("body", ["Alto ahí, ¿a qué hora abren?", "Necesito ayuda con mi cita"])
def test_the_words_inside_a_sentence_are_for_the_front_desk(body):
    assert classify(body) == Keyword.NONE


def test_no_app_may_register_the_spanish_carrier_words():
    from django.core.exceptions import ImproperlyConfigured

    from messaging.keywords import register_keyword

    with pytest.raises(ImproperlyConfigured, match="carrier keywords"):
        register_keyword(name="test-alto", words=["ALTO"], handler=lambda text: "")
