"""In the client's language: the error pages (not found, too many tries, down, broken) in Spanish."""

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from tests.support.spanish import SPANISH, assert_no_english, visible_text

pytestmark = pytest.mark.django_db


def test_a_missing_page_says_so_in_spanish(client):
    page = client.get("/no-such-page/", **SPANISH)
    assert page.status_code == 404
    assert "No encontramos esa página" in visible_text(page) and "Ir a reservar una cita" in visible_text(page)
    assert_no_english(page, "We couldn't find that page", "Go to booking")


@pytest.mark.parametrize(
    ("template", "spanish", "english"),
    [
        ("429.html", "Demasiados intentos", "Too many tries"),
        ("503.html", "No podemos recibir reservas en este momento", "We can't take bookings"),
        ("500.html", "Algo salió mal", "Something went wrong"),
    ],
)
def test_the_other_error_pages_read_in_spanish(template, spanish, english):
    with translation.override("es"):
        html = render_to_string(template, request=RequestFactory().get("/", **SPANISH))
    assert spanish in html and english not in html
    if template == "500.html":  # a page of its own (no base template): its language is still declared
        assert '<html lang="es">' in html
