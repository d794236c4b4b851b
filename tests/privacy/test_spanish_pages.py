"""In the client's language: the privacy request pages, the policy page's own words and the privacy emails in
Spanish; the policy's legal text stays in English, and the page says so in Spanish."""

from datetime import date

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from privacy.models import PolicyVersion
from tests.support.privacy_requests import EMAIL, dana, run_tasks, verify_link  # noqa: F401
from tests.support.spanish import SPANISH, assert_no_english, form_chrome, visible_text

pytestmark = pytest.mark.django_db


def test_the_request_form_is_in_spanish_with_no_english_label_or_button(client):
    page = client.get(reverse("privacy:request_form"), **SPANISH)
    text = visible_text(page)
    assert "Hacer una solicitud de privacidad" in text
    chrome = form_chrome(page)
    for label in (
        "¿Qué desea que hagamos?",
        "Acceso: una copia de mis datos",
        "Eliminación de mis datos",
        "Su correo electrónico",
        "Teléfono celular (opcional)",
        "Enviar solicitud",
    ):
        assert label in chrome
    assert_no_english(page, "Make a privacy request", "What would you like us to do?", "Send request", "Deletion of")


def test_a_request_form_with_no_choice_shows_spanish_errors(client):
    page = client.post(reverse("privacy:request_form"), {"email": "dana@example.com"}, **SPANISH)
    text = visible_text(page)
    assert "Revise el formulario" in text and "Este campo es obligatorio." in text
    assert_no_english(page, "Please check the form", "This field is required.")


def test_a_request_made_in_spanish_is_answered_in_spanish_from_email_to_code_page(client, dana, run_tasks):  # noqa: F811
    with translation.override("es"), run_tasks():  # the acknowledgement is sent in the language it is sent in
        received = client.post(reverse("privacy:request_form"), {"request_type": "erasure", "email": EMAIL}, **SPANISH)
    assert "Solicitud recibida" in visible_text(received)
    message = mail.outbox[-1]
    assert message.subject.startswith("Recibimos su solicitud de privacidad ")
    assert "Eliminación de mis datos" in message.body and "Para confirmar que fue usted" in message.body
    assert "To confirm it was you" not in message.body
    link = verify_link(message)
    verify = client.get(link, **SPANISH)
    assert "Confirme su solicitud de privacidad" in visible_text(verify)
    assert form_chrome(verify) == ["Sí, esta es mi solicitud"]
    with run_tasks():
        code_page = client.post(link, follow=True, **SPANISH)
    assert "Una verificación más" in visible_text(code_page)
    assert "El código de 6 dígitos que le enviamos" in form_chrome(code_page)
    wrong = client.post(reverse("privacy:request_code"), {"code": "12"}, **SPANISH)
    assert "Escriba los 6 dígitos del mensaje de texto." in visible_text(wrong)
    assert_no_english(wrong, "One more check", "Send a new code", "Enter the 6 digits")


def test_a_broken_download_link_says_so_in_spanish(client):
    page = client.get(reverse("privacy:request_download", args=["not-a-token"]), **SPANISH)
    assert page.status_code == 410
    assert "Este enlace de descarga no es válido." in visible_text(page)
    assert_no_english(page, "We couldn't use this link", "Make a new request")


def test_the_policy_page_chrome_is_spanish_and_says_the_policy_text_is_in_english(client):
    PolicyVersion.objects.create(
        version="2026-06", effective_date=date(2026, 6, 1), body="## 1. What we collect\nYour name.", is_published=True
    )
    page = client.get(reverse("privacy:policy"), **SPANISH)
    text = visible_text(page)
    assert "Aviso de privacidad" in text and "Proveedores de servicios (subencargados)" in text
    assert "El texto vinculante de nuestro aviso de privacidad es el texto en inglés" in text
    assert '<div lang="en">' in page.content.decode()  # the legal text is marked as English for screen readers
    assert "1. What we collect" in text  # the policy's own text, as published
    assert_no_english(page, "Service providers", "Contact us", "Effective date:")
    english = client.get(reverse("privacy:policy"))
    assert "is in English" not in visible_text(english) and "inglés" not in visible_text(english)


def test_the_privacy_choices_page_is_in_spanish(client):
    page = client.get(reverse("privacy:choices"), **SPANISH)
    assert "Sus opciones de privacidad" in visible_text(page)
    assert form_chrome(page) == ["No vender ni compartir mi información personal"]
    assert_no_english(page, "Your Privacy Choices", "Do Not Sell or Share")


def test_the_export_email_and_the_erasure_email_read_in_spanish_when_rendered_in_spanish(dana):  # noqa: F811
    from django.template.loader import render_to_string

    from privacy.requests_models import DataSubjectRequest, RequestType

    dsr = DataSubjectRequest(reference="PR-2026-0001", request_type=RequestType.ACCESS, email=EMAIL)
    with translation.override("es"):
        export = render_to_string(
            "privacy/email/request_export.txt",
            {"request": dsr, "clinic_name": "Clínica", "hours": 72, "url": "https://x.example/d"},
        )
        erased = render_to_string(
            "privacy/email/request_erased.txt", {"request": dsr, "clinic_name": "Clínica", "kept_by_law": []}
        )
    assert "están listos. Descárguelos en un plazo de 72 horas" in export
    assert "eliminamos sus datos personales" in erased and "have deleted" not in erased
