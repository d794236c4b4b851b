"""`manage.py seed_demo`: the clinic's two real locations and menu, safe to run twice."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from appointments.models import (
    Practitioner,
    PractitionerService,
    ResourceType,
    ResourceUnit,
    Service,
    ServiceRequirement,
    WorkingHours,
)
from clinic.models import Location

pytestmark = pytest.mark.django_db


def counts():
    return (
        Location.objects.count(),
        Service.objects.count(),
        Practitioner.objects.count(),
        WorkingHours.objects.count(),
        PractitionerService.objects.count(),
        ResourceType.objects.count(),
        ResourceUnit.objects.count(),
        ServiceRequirement.objects.count(),
    )


@pytest.mark.policy("contact")
def test_seed_creates_both_policy_locations_and_is_idempotent(settings, capsys):
    settings.DEBUG = False
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    milpitas, glendale = Location.objects.get(slug="milpitas"), Location.objects.get(slug="glendale")
    assert "980 Larkin Rd" in milpitas.address and str(milpitas.phone) == "+14088211633"
    assert "1305 S Central Ave #B00" in glendale.address and str(glendale.phone) == "+17472211816"
    assert {milpitas.timezone, glendale.timezone} == {"America/Los_Angeles"}
    names = set(Service.objects.values_list("name", flat=True))
    for expected in [
        "Consultation",
        "Dermal filler",
        "HydraFacial",
        "Chemical peel",
        "Laser hair removal",
        "Microneedling",
    ]:
        assert expected in names
    assert any("Neurotoxin" in name for name in names)


def test_seed_gives_both_locations_rooms_and_devices_and_the_laser_and_hydrafacial_their_needs(settings):
    settings.DEBUG = False
    call_command("seed_demo")
    call_command("seed_demo")
    for location in Location.objects.all():
        kinds = sorted(location.resource_units.values_list("resource_type__name", flat=True))
        assert kinds == ["GentleMax laser", "HydraFacial machine", "Treatment room", "Treatment room"]
    needs = lambda slug: set(  # noqa: E731
        ServiceRequirement.objects.filter(service__slug=slug).values_list("resource_type__name", flat=True)
    )
    assert needs("laser-hair-removal") == {"Treatment room", "GentleMax laser"}
    assert needs("hydrafacial") == {"HydraFacial machine"}
    senior = PractitionerService.objects.get(practitioner__name="Dr. Priya Raman", service__slug="neurotoxin")
    assert senior.duration_minutes == 20


def test_admin_login_only_when_debug(settings, capsys):
    settings.DEBUG = False
    call_command("seed_demo")
    assert "password" not in capsys.readouterr().out and not User.objects.exists()
    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    password = out.split("user admin  password ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)


def test_seed_adds_two_waitlist_entries_and_offers_a_held_time_to_the_first_once(settings):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    from waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer

    settings.DEBUG = False
    with time_machine.travel(datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles")), tick=False):
        call_command("seed_demo")
        call_command("seed_demo")
    entries = list(WaitlistEntry.objects.order_by("created_at", "pk"))
    assert [e.client.first_name for e in entries] == ["Maria", "Tom"]
    assert all(e.status == EntryStatus.WAITING and e.service.slug == "hydrafacial" for e in entries)
    offer = WaitlistOffer.objects.get()
    assert offer.entry == entries[0] and offer.status == OfferStatus.PENDING and offer.hold is not None
