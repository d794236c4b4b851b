"""In the client's language: the waitlist pages in Spanish (their own labels, buttons and errors; the client's
details fields and the consent wording are the booking form's, translated with it)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from tests.support.builders import bookable_clinic
from tests.support.spanish import SPANISH, assert_no_english, form_chrome, visible_text

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


@pytest.fixture
def clinic():
    with time_machine.travel(NOW, tick=False):
        location, service, _ = bookable_clinic()
        yield reverse("waitlist:join", args=[location.slug, service.slug]), service


def test_the_join_page_is_in_spanish(client, clinic):
    url, service = clinic
    page = client.get(url, **SPANISH)
    text = visible_text(page)
    assert f"Inscribirse en la lista de espera de {service.name}" in text
    assert "Volver a los horarios" in text
    chrome = form_chrome(page)
    for label in ("Profesional", "Primer día que le conviene", "Último día que le conviene"):
        assert label in chrome
    assert "Inscribirse en la lista de espera" in chrome  # the button
    assert "Cualquier profesional" in page.content.decode()
    assert_no_english(page, "Join the waitlist", "Back to the times", "First day that suits", "Any practitioner")


def test_days_in_the_wrong_order_get_a_spanish_error(client, clinic):
    url, _ = clinic
    today = NOW.date()
    with time_machine.travel(NOW, tick=False):
        page = client.post(
            url,
            {"practitioner": "any", "earliest_date": today + timedelta(days=5), "latest_date": today},
            **SPANISH,
        )
    text = visible_text(page)
    assert page.status_code == 400
    assert "Revise el formulario" in text
    assert "El último día no puede ser anterior al primero." in text
    assert "Acepte el aviso de privacidad para inscribirse en la lista de espera." in text
    assert_no_english(page, "Please check the form", "The last day must not", "Please accept the privacy policy")
