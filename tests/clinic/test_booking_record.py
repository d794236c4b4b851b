"""The record a booking goes on (`clinic.identity.client_for_booking`): a signed-in client's own, in the language
they booked in."""

from datetime import date

import pytest
from django.utils import timezone, translation

from clinic import identity
from clinic.models import Client
from tests.support.builders import ClientFactory, LocationFactory

pytestmark = pytest.mark.django_db


def book_signed_in(client):
    return identity.client_for_booking(
        signed_in=client,
        first_name="Typed",
        last_name="Name",
        email="typed@example.com",
        mobile_phone="",
        location=None,
    )


def test_a_signed_in_client_who_books_in_spanish_is_written_to_in_spanish_from_then_on():
    """Only the language is written: the rest of a record read earlier (here, a note staff added since) stays."""
    dana = ClientFactory(language="en", email="dana@example.com")
    Client.objects.filter(pk=dana.pk).update(notes="Prefers afternoons")  # after the request read the record
    with translation.override("es"):
        record, created = book_signed_in(dana)
    assert (record.pk, created) == (dana.pk, False)
    dana.refresh_from_db()
    assert dana.language == "es" and dana.notes == "Prefers afternoons" and dana.email == "dana@example.com"


def test_booking_again_in_the_same_language_writes_nothing():
    dana = ClientFactory(language="es")
    Client.objects.filter(pk=dana.pk).update(notes="Prefers afternoons")
    before = Client.objects.get(pk=dana.pk).updated_at
    with translation.override("es"):
        book_signed_in(dana)
    after = Client.objects.get(pk=dana.pk)
    assert after.updated_at == before and after.notes == "Prefers afternoons"


def test_signed_out_a_booking_goes_on_a_new_record_holding_exactly_what_was_typed():
    """Date of birth (the age rule), the location booked at (which desk's staff see the client) and the adult
    attestation are kept; names trimmed, the email in lower case; the older record with that email is untouched."""
    older = ClientFactory(email="dana@example.com", first_name="Dana", date_of_birth=date(1970, 1, 1))
    location = LocationFactory()
    attested = timezone.now()
    record, created = identity.client_for_booking(
        signed_in=None,
        first_name=" Dana ",
        last_name=" Reyes ",
        email=" Dana@Example.com ",
        mobile_phone="+14085550143",
        location=location,
        date_of_birth=date(1990, 5, 17),
        adult_attested_at=attested,
    )
    record.refresh_from_db()
    assert created and record.pk != older.pk
    assert (record.first_name, record.last_name, record.email, str(record.mobile_phone)) == (
        "Dana",
        "Reyes",
        "dana@example.com",
        "+14085550143",
    )
    assert (record.date_of_birth, record.preferred_location, record.adult_attested_at) == (
        date(1990, 5, 17),
        location,
        attested,
    )
    older.refresh_from_db()
    assert older.date_of_birth == date(1970, 1, 1) and older.preferred_location is None


def test_signed_out_a_booking_in_spanish_without_email_or_phone_keeps_the_language_and_no_contact():
    with translation.override("es"):
        record, created = identity.client_for_booking(
            signed_in=None, first_name="Ana", last_name="Ruiz", email="", mobile_phone=None, location=None
        )
    record.refresh_from_db()
    assert created and record.language == "es"
    assert record.email == "" and not record.mobile_phone
