"""In the client's language: the forms pages' own words (sign, required, errors, states) in Spanish; the questions
the clinic wrote stay as the clinic wrote them."""

import pytest
import time_machine
from django.urls import reverse

from clinical_forms.links import forms_token
from clinical_forms.models import FormKind
from clinical_forms.selectors import current_version
from tests.support.booking import MONDAY_10, SUNDAY_EVENING
from tests.support.builders import AppointmentFactory, bookable_clinic
from tests.support.clinical_forms import CONSENT_WORDING, form_template
from tests.support.spanish import SPANISH, assert_no_english, form_chrome, visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


@pytest.fixture
def visit():
    location, service, people = bookable_clinic()
    consent = form_template(slug="neurotoxin-consent", services_=[service])
    form_template(slug="medical-history", kind=FormKind.MEDICAL_HISTORY, services_=[service])
    appointment = AppointmentFactory(location=location, service=service, practitioner=people[0], start=MONDAY_10)
    return appointment, consent


def test_the_forms_list_is_in_spanish_with_each_forms_state(client, visit):
    appointment, _ = visit
    page = client.get(reverse("clinical_forms:index", args=[forms_token(appointment)]), **SPANISH)
    text = visible_text(page)
    assert "Sus formularios" in text
    assert "Neurotoxin Consent : pendiente" in text  # the clinic's form name, the state in Spanish
    assert_no_english(page, "Your forms", "For your", ": to do")


def test_the_form_page_chrome_is_in_spanish_and_the_clinics_questions_are_kept(client, visit):
    appointment, consent = visit
    page = client.get(reverse("clinical_forms:fill", args=[forms_token(appointment), consent.slug]), **SPANISH)
    text = visible_text(page)
    assert CONSENT_WORDING in text and "Any allergies?" in text  # written by the clinic: not translated
    chrome = form_chrome(page)
    assert "Sí" in chrome and "No" in chrome
    assert "Escriba su nombre completo para firmar (obligatorio)" in chrome or any(
        c.startswith("Escriba su nombre completo para firmar") for c in chrome
    )
    assert "Firmar" in chrome and "Guardar y terminar después" in chrome
    assert "Volver a sus formularios" in text
    assert_no_english(page, "Type your full name", "Save and finish later", "Back to your forms", "(required)", "Yes")


def test_a_form_signed_with_missing_answers_shows_spanish_errors(client, visit):
    appointment, consent = visit
    data = {
        "version_id": current_version(consent).pk,
        "date_of_birth": "1990-04-12",
        "allergies": "yes",
        "skin": "Dry",
        "sign": "1",
    }
    page = client.post(reverse("clinical_forms:fill", args=[forms_token(appointment), consent.slug]), data, **SPANISH)
    text = visible_text(page)
    assert "Revise el formulario" in text
    assert "Díganos más, ya que respondió que sí." in text
    assert "Este campo es obligatorio." in text  # Django's own message for the empty signature, in Spanish
    assert_no_english(page, "Please check the form", "Please tell us more", "This field is required.")


def test_a_broken_forms_link_says_so_in_spanish(client, visit):
    appointment, _ = visit
    page = client.get(reverse("clinical_forms:index", args=[forms_token(appointment)[:-3] + "abc"]), **SPANISH)
    assert page.status_code == 404
    assert "Este enlace no funciona" in visible_text(page)
    assert_no_english(page, "This link does not work")
