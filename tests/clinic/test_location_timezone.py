"""A location's time zone is checked against the time-zone database, not a list frozen into a migration."""

import zoneinfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from clinic.models import Location, timezone_choices

NEW_ZONE = "America/Nuevo_Puerto"  # not (yet) in any time-zone database


@pytest.fixture
def zone_database_gains_a_zone(monkeypatch):
    """The machine's time-zone database is updated and now holds NEW_ZONE."""
    known = zoneinfo.available_timezones()
    monkeypatch.setattr(zoneinfo, "available_timezones", lambda: known | {NEW_ZONE})
    timezone_choices.cache_clear()
    yield
    monkeypatch.undo()
    timezone_choices.cache_clear()


def location_form(**fields):
    return {
        "name": "Pasadena",
        "slug": "pasadena",
        "address": "1 Colorado Blvd",
        "phone": "+16265550100",
        "email": "",
        "timezone": "America/Los_Angeles",
        "is_active": "on",
        "sms_from_number": "",
        **fields,
    }


@pytest.mark.django_db
def test_a_zone_added_to_the_time_zone_database_needs_no_migration_and_is_accepted(zone_database_gains_a_zone):
    _, _, _, kwargs = Location._meta.get_field("timezone").deconstruct()
    assert kwargs["choices"] is timezone_choices  # a reference in the migration, never the list itself
    call_command("makemigrations", "clinic", "--check", "--dry-run", verbosity=0)  # SystemExit(1) if one were due
    Location(name="New", slug="new", address="x", phone="+16265550100", timezone=NEW_ZONE).full_clean()


@pytest.mark.django_db
def test_the_admin_offers_the_zone_list_and_refuses_an_unknown_zone(admin_client):
    add = reverse("admin:clinic_location_add")
    page = admin_client.get(add)
    assert b'<option value="Europe/Paris">' in page.content

    refused = admin_client.post(add, location_form(timezone="Mars/Olympus_Mons"))
    assert refused.status_code == 200 and "Mars/Olympus_Mons is not one of the available choices" in (
        refused.content.decode()
    )
    assert not Location.objects.filter(slug="pasadena").exists()

    admin_client.post(add, location_form(timezone="Europe/Paris"))
    pasadena = Location.objects.get(slug="pasadena")
    assert pasadena.timezone == "Europe/Paris" and pasadena.tzinfo == zoneinfo.ZoneInfo("Europe/Paris")
