"""The site's languages: the admin stays in English, a client's language is theirs to keep and is exported."""

import pytest
from django.utils import translation

from clinic.languages import current_language, language_of, supported
from clinic.personal_data import export_client_records
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db


def test_the_admin_stays_in_english_for_a_spanish_browser(client):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="es")
    text = response.content.decode()
    assert response.status_code == 200 and "Username" in text and "Nombre de usuario" not in text


def test_a_regional_variant_is_the_language_the_site_speaks():
    assert supported("es-MX") == "es" and supported("hy") == "en" and supported(None) == "en"
    with translation.override("es-us"):
        assert current_language() == "es"


def test_a_client_is_written_to_in_their_language_while_the_site_still_speaks_it():
    assert language_of(ClientFactory(language="es")) == "es"
    assert language_of(ClientFactory(language="hy")) == "en"  # a language since removed: the default


def test_the_clients_language_is_in_their_data_export():
    person = ClientFactory(language="es")
    assert export_client_records([person.pk])["client"][0]["language"] == "es"
