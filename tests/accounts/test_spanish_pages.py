"""In the client's language: the account pages and the account emails in Spanish for a Spanish-speaking browser,
with no English left on their labels and buttons (the clinic's own data, such as service names, stays as written)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone, translation

from accounts import services
from accounts.models import AccountSession, ChallengePurpose, Channel
from tests.support.accounts import sign_in_by_code
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.spanish import SPANISH, assert_no_english, form_chrome, visible_text

pytestmark = pytest.mark.django_db

PHONE = "+14085550177"


@pytest.fixture
def signed_in(run_tasks, sms_outbox):
    location, service, (practitioner,) = bookable_clinic()
    person = ClientFactory(first_name="Lucía", last_name="Ortega", email="lucia.ortega@example.com", mobile_phone=PHONE)
    AppointmentFactory(
        client=person,
        location=location,
        service=service,
        practitioner=practitioner,
        start=(timezone.now() + timedelta(days=6)).replace(microsecond=0),
    )
    browser = Browser()
    sign_in_by_code(browser, run_tasks, sms_outbox, PHONE)
    return browser, person


def test_the_sign_in_page_is_in_spanish_with_no_english_label_or_button(client):
    page = client.get(reverse("account:sign_in"), **SPANISH)
    text = visible_text(page)
    assert "Inicie sesión en su cuenta" in text
    assert "Por correo electrónico" in text and "Por mensaje de texto" in text
    assert "Su correo electrónico" in form_chrome(page)
    assert "Envíenme un enlace para iniciar sesión" in form_chrome(page)
    assert "Envíenme un código por mensaje de texto" in form_chrome(page)
    assert_no_english(
        page, "Sign in to your account", "Email me a sign-in link", "Your email address", "Text me a code"
    )


def test_a_bad_email_on_the_sign_in_page_gets_a_spanish_error(client):
    page = client.post(reverse("account:sign_in"), {"email": "not-an-address"}, **SPANISH)
    assert page.status_code == 400
    assert "Introduzca una dirección de correo electrónico válida" in visible_text(page)


def test_the_sign_in_code_page_and_a_wrong_code_are_in_spanish(client, run_tasks):
    with run_tasks():
        client.post(reverse("account:sign_in"), {"mobile_phone": "+14085550999"}, **SPANISH)
    page = client.get(reverse("account:sign_in_code"), **SPANISH)
    assert "Escriba su código" in visible_text(page)
    assert form_chrome(page) == ["El código de 6 dígitos que le enviamos", "Iniciar sesión"]
    wrong = client.post(reverse("account:sign_in_code"), {"code": "000000"}, **SPANISH)
    assert "Ese código no es correcto" in visible_text(wrong)
    short = client.post(reverse("account:sign_in_code"), {"code": "12"}, **SPANISH)
    assert "Escriba los 6 dígitos del código." in visible_text(short)


@pytest.mark.parametrize(
    ("name", "spanish", "english"),
    [
        (
            "account:home",
            ["Hola, Lucía", "Próximas citas", "Citas anteriores", "Cambiar la fecha"],
            ["Upcoming visits"],
        ),
        ("account:consents", ["Mis consentimientos", "Qué podemos enviarle", "Guardar mis preferencias"], ["Save my"]),
        (
            "account:forms",
            ["Mis formularios", "Para completar antes de una cita", "Formularios firmados"],
            ["Signed forms"],
        ),
        ("account:payments", ["Mis pagos", "No hay pagos."], ["No payments."]),
        ("account:data", ["Confirme que es usted", "Descargar mis datos", "Corregir mis datos"], ["Download my data"]),
        (
            "account:delete",
            ["Eliminar mi cuenta", "Lo que borramos", "Lo que conservamos, y por qué"],
            ["What we erase"],
        ),
    ],
)
def test_each_account_page_is_in_spanish(signed_in, name, spanish, english):
    browser, _ = signed_in
    page = browser.get(reverse(name), **SPANISH)
    assert page.status_code == 200
    text = visible_text(page)
    for phrase in spanish:
        assert phrase in text, phrase
    # The account menu and the sign-out buttons, on every page.
    for phrase in ("Mis citas", "Mis datos", "Cerrar sesión en todos los dispositivos"):
        assert phrase in text
    assert_no_english(page, "My visits", "Sign out everywhere", *english)


def test_the_my_data_forms_have_spanish_labels_and_buttons(signed_in):
    browser, _ = signed_in
    page = browser.get(reverse("account:data"), **SPANISH)
    chrome = form_chrome(page)
    for label in (
        "Nombre",
        "Apellido",
        "Su nuevo correo electrónico",
        "Su nuevo número de celular",
        "Guardar mi nombre",
    ):
        assert label in chrome
    assert not {"First name", "Last name", "Save my name", "Sign out", "Send me a code"} & set(chrome)


def test_the_sign_in_link_email_is_in_spanish_when_sent_in_spanish(signed_in):
    _, person = signed_in
    challenge_nonce = "a-nonce"
    challenge = services._new_challenge(
        client=person,
        channel=Channel.EMAIL,
        purpose=ChallengePurpose.SIGN_IN,
        secret=challenge_nonce,
        minutes=15,
        now=timezone.now(),
    )
    with translation.override("es"):
        assert services.email_sign_in_link(challenge_id=challenge.pk, nonce=challenge_nonce)
    message = mail.outbox[-1]
    assert message.subject.startswith("Su enlace para iniciar sesión en ")
    assert message.body.startswith("Hola:")
    assert "Abra este enlace para iniciar sesión" in message.body
    assert "Open this link" not in message.body


def test_the_fresh_code_email_is_in_spanish_when_sent_in_spanish(signed_in, django_capture_on_commit_callbacks):
    _, person = signed_in
    person.mobile_phone = ""
    person.save()
    session = AccountSession.objects.filter(client=person).latest("pk")
    with translation.override("es"), django_capture_on_commit_callbacks(execute=True):
        assert services.send_fresh_code(session=session) == "email"
    message = mail.outbox[-1]
    assert message.subject.startswith("Su código de ")
    assert "para confirmar un paso en su cuenta" in message.body
