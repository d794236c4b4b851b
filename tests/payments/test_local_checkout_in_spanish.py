"""In the client's language: the local payments simulator's page (standing in for Stripe Checkout) is in
Spanish for a client booking in Spanish, down to the test cards, the buttons and the errors."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from payments.backends import local
from tests.support.payments import accept_policy, clinic_asking, pay_on_local_page, start_paid_booking
from tests.support.spanish import SPANISH, assert_no_english, form_chrome, visible_text

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")


def _slot():
    return datetime.combine(datetime.now(LA).date() + timedelta(days=10), time(10), tzinfo=LA)


@pytest.fixture
def spanish_checkout(client):
    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=5000)
    client.defaults.update(SPANISH)  # a Spanish-speaking browser, from the booking form to the payment page
    checkout = start_paid_booking(client, location, service, _slot())
    assert accept_policy(client, checkout).status_code == 302
    checkout.refresh_from_db()
    return checkout


def test_the_test_payment_page_is_in_spanish_for_a_spanish_client(client, spanish_checkout):
    page = client.get(reverse("payments:local_checkout", args=[spanish_checkout.stripe_checkout_session_id]))
    text = visible_text(page)
    assert "Página de pago de prueba" in text and "no se cobra ninguna tarjeta" in text
    assert "Depósito a pagar ahora" in text
    assert form_chrome(page) == [
        "Tarjeta de prueba",
        "Visa terminada en 4242: se paga",
        "Visa terminada en 3184: pide autenticación (3-D Secure)",
        "Visa terminada en 0002: rechazada",
        "Pagar $50.00",
    ]
    assert "Volver a la clínica (cancelar)" in text
    assert_no_english(page, "Test payment page", "Test card", "Visa ending", "Pay $50.00", "Back to the clinic")


def test_a_declined_card_and_the_authentication_step_speak_spanish(client, spanish_checkout):
    declined = pay_on_local_page(client, spanish_checkout, card=local.DECLINED)
    assert declined.status_code == 402 and "Su tarjeta fue rechazada" in visible_text(declined)
    asked = pay_on_local_page(client, spanish_checkout, card=local.NEEDS_AUTHENTICATION)
    assert "Confirme que es usted" in visible_text(asked)
    assert form_chrome(asked) == ["Completar la autenticación", "Hacer fallar la autenticación"]
    assert_no_english(asked, "Confirm it is you", "Your bank asks")


def test_an_english_client_still_gets_the_english_page(client):
    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=5000)
    checkout = start_paid_booking(client, location, service, _slot())
    accept_policy(client, checkout)
    checkout.refresh_from_db()
    page = client.get(reverse("payments:local_checkout", args=[checkout.stripe_checkout_session_id]))
    assert "Test payment page" in visible_text(page) and "Pay $50.00" in form_chrome(page)
