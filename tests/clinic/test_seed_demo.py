"""`manage.py seed_demo`: the clinic's two real locations and menu, safe to run twice."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from appointments.models import Practitioner, Service, WorkingHours
from clinic.models import Location

pytestmark = pytest.mark.django_db


def counts():
    return (
        Location.objects.count(),
        Service.objects.count(),
        Practitioner.objects.count(),
        WorkingHours.objects.count(),
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


def test_admin_login_only_when_debug(settings, capsys):
    settings.DEBUG = False
    call_command("seed_demo")
    assert "password" not in capsys.readouterr().out and not User.objects.exists()
    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    password = out.split("user admin  password ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
