"""In the client's language: the preference center, unsubscribe and resubscribe pages, and the preference-link
email, in Spanish (the consent wording of each choice is the consent ledger's, translated with the consents)."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from messaging import preferences
from privacy.links import preferences_token
from tests.support.builders import ClientFactory
from tests.support.spanish import SPANISH, assert_no_english, form_chrome, visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    return ClientFactory(first_name="Lucía", mobile_phone="+14085550143", email="lucia@example.com")


def test_the_preference_center_is_in_spanish(client, person):
    page = client.get(reverse("messaging:preferences", args=[preferences_token(person)]), **SPANISH)
    text = visible_text(page)
    assert "Sus preferencias de mensajes" in text and "puede enviarle a Lucía" in text
    chrome = form_chrome(page)
    assert "Mensajes" in chrome and "Guardar mis preferencias" in chrome
    assert_no_english(page, "Your message preferences", "Save my choices", "are always sent")
    saved = client.post(reverse("messaging:preferences", args=[preferences_token(person)]), {}, **SPANISH)
    assert "Guardado. Sus preferencias se aplican a partir de ahora." in visible_text(saved)


def test_asking_for_a_preferences_link_is_in_spanish(client):
    page = client.get(reverse("messaging:preferences_request"), **SPANISH)
    assert form_chrome(page) == ["Su correo electrónico", "Envíenme un enlace por correo"]
    bad = client.post(reverse("messaging:preferences_request"), {"email": "nope"}, **SPANISH)
    assert "Introduzca una dirección de correo electrónico válida" in visible_text(bad)
    assert_no_english(page, "Change what we send you", "Email me a link", "Your email address")


def test_an_expired_or_broken_link_says_so_in_spanish(client):
    page = client.get(reverse("messaging:preferences", args=["broken"]), **SPANISH)
    assert "Este enlace no es válido" in visible_text(page) and "Recibir un enlace nuevo" in visible_text(page)
    unsubscribe = client.get(reverse("messaging:unsubscribe", args=["broken"]), **SPANISH)
    assert "Este enlace para darse de baja no es válido" in visible_text(unsubscribe)
    resubscribe = client.get(reverse("messaging:email_resubscribe", args=["broken"]), **SPANISH)
    assert "¿Desea volver a recibir ofertas y novedades por correo electrónico?" in visible_text(resubscribe)
    assert form_chrome(resubscribe) == ["Sí, envíenme ofertas y novedades por correo"]
    assert_no_english(unsubscribe, "This unsubscribe link is not valid")


def test_the_preferences_link_email_is_in_spanish_when_sent_in_spanish(person):
    with translation.override("es"):
        preferences.email_preferences_link(email=person.email)
    body = mail.outbox[-1].body
    assert body.startswith("Hola, Lucía:")
    assert "Use este enlace privado" in body and "Use this private link" not in body
