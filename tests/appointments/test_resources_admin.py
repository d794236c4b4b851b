"""The front desk's rooms and devices in the admin: scoped to their locations, and held by front-desk bookings."""

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from appointments.models import Appointment, AssignedUnit, PractitionerService, ResourceUnit, ServiceRequirement
from tests.support.builders import AppointmentFactory, ClientFactory, ResourceUnitFactory, bookable_clinic, needs
from tests.support.front_desk import ADD_URL, add_form, editing, front_desk_user

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
MONDAY = datetime(2026, 12, 7, tzinfo=LA)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime(2026, 12, 7, 8, 0, tzinfo=LA), tick=False):
        yield


@pytest.fixture
def two_clinics():
    milpitas, laser, (m_person, m_other) = bookable_clinic(hours=((time(9), time(17)),), practitioners=2)
    made = needs(laser, milpitas, room=(1, 10), laser=(1, 15))
    glendale, g_service, _ = bookable_clinic(hours=((time(9), time(17)),))
    g_room = ResourceUnitFactory(resource_type=made["room"][0], location=glendale, name="Glendale room 1")
    return {
        "milpitas": milpitas,
        "laser_service": laser,
        "people": (m_person, m_other),
        "m_room": made["room"][1][0],
        "m_laser": made["laser"][1][0],
        "room_kind": made["room"][0],
        "glendale": glendale,
        "g_service": g_service,
        "g_room": g_room,
    }


def test_front_desk_sees_and_opens_only_their_locations_rooms_and_devices(client, two_clinics):
    client.force_login(front_desk_user(two_clinics["milpitas"]))
    listing = client.get(reverse("admin:appointments_resourceunit_changelist")).content.decode()
    assert two_clinics["m_room"].name in listing and two_clinics["m_laser"].name in listing
    assert "Glendale room 1" not in listing
    theirs = reverse("admin:appointments_resourceunit_change", args=[two_clinics["g_room"].pk])
    assert client.get(theirs).status_code == 404
    ours = reverse("admin:appointments_resourceunit_change", args=[two_clinics["m_room"].pk])
    assert client.get(ours).status_code == 200


def test_front_desk_adds_a_room_at_their_location_but_cannot_pick_another(client, two_clinics):
    client.force_login(front_desk_user(two_clinics["milpitas"]))
    url = reverse("admin:appointments_resourceunit_add")
    form = {"resource_type": two_clinics["room_kind"].pk, "name": "Treatment room 9", "is_active": "on"}
    response = client.post(url, {**form, "location": two_clinics["glendale"].pk})
    assert response.status_code == 200 and not ResourceUnit.objects.filter(name="Treatment room 9").exists()
    response = client.post(url, {**form, "location": two_clinics["milpitas"].pk})
    assert response.status_code == 302
    assert ResourceUnit.objects.get(name="Treatment room 9").location == two_clinics["milpitas"]


def test_front_desk_edits_what_their_services_need_but_not_other_locations_services(client, two_clinics):
    client.force_login(front_desk_user(two_clinics["milpitas"]))
    url = reverse("admin:appointments_servicerequirement_add")
    kind = two_clinics["room_kind"].pk
    response = client.post(url, {"service": two_clinics["g_service"].pk, "resource_type": kind})
    assert response.status_code == 200
    assert not ServiceRequirement.objects.filter(service=two_clinics["g_service"]).exists()
    milpitas_only = bookable_clinic()[1]
    milpitas_only.locations.set([two_clinics["milpitas"]])
    response = client.post(url, {"service": milpitas_only.pk, "resource_type": kind})
    assert response.status_code == 302
    assert ServiceRequirement.objects.filter(service=milpitas_only, resource_type_id=kind).exists()
    # Glendale's service's needs are not listed to Milpitas, nor opened.
    theirs = ServiceRequirement.objects.create(service=two_clinics["g_service"], resource_type_id=kind)
    listing = client.get(reverse("admin:appointments_servicerequirement_changelist")).content.decode()
    assert milpitas_only.name in listing and two_clinics["g_service"].name not in listing
    assert client.get(reverse("admin:appointments_servicerequirement_change", args=[theirs.pk])).status_code == 404


def test_front_desk_booking_holds_the_rooms_and_devices_and_the_appointment_shows_them(client, two_clinics):
    location, service = two_clinics["milpitas"], two_clinics["laser_service"]
    client.force_login(front_desk_user(location))
    response = client.post(
        ADD_URL, add_form(location, service, two_clinics["people"][0], ClientFactory(preferred_location=location), 10)
    )
    assert response.status_code == 302, re.findall(r"errorlist.*?</ul>", response.content.decode(), re.S)
    appointment = Appointment.objects.get()
    assert {h.unit for h in AssignedUnit.objects.filter(appointment=appointment)} == {
        two_clinics["m_room"],
        two_clinics["m_laser"],
    }
    page = client.get(reverse("admin:appointments_appointment_change", args=[appointment.pk])).content.decode()
    assert "Rooms and devices" in page
    assert two_clinics["m_room"].name in page and two_clinics["m_laser"].name in page


def test_front_desk_cannot_book_over_a_taken_device_even_with_override(client, two_clinics):
    location, service = two_clinics["milpitas"], two_clinics["laser_service"]
    first, second = two_clinics["people"]
    client.force_login(front_desk_user(location))
    assert (
        client.post(
            ADD_URL, add_form(location, service, first, ClientFactory(preferred_location=location), 10)
        ).status_code
        == 302
    )
    # The second practitioner is free at 10:45, but the laser is held until 11:15 (clean-up).
    response = client.post(
        ADD_URL,
        add_form(
            location, service, second, ClientFactory(preferred_location=location), 10, 45, override_working_hours="on"
        ),
    )
    assert response.status_code == 200
    assert "is free from 10:45 to 12:00" in response.content.decode()
    assert Appointment.objects.count() == 1
    response = client.post(
        ADD_URL, add_form(location, service, second, ClientFactory(preferred_location=location), 11, 15)
    )
    assert response.status_code == 302 and Appointment.objects.count() == 2


def test_front_desk_moving_an_appointment_moves_its_holds(client, two_clinics):
    location, service = two_clinics["milpitas"], two_clinics["laser_service"]
    first, _ = two_clinics["people"]
    client.force_login(front_desk_user(location))
    client.post(ADD_URL, add_form(location, service, first, ClientFactory(preferred_location=location), 10))
    appointment = Appointment.objects.get()
    url = reverse("admin:appointments_appointment_change", args=[appointment.pk])
    inline_management = editing(appointment)
    response = client.post(url, {**add_form(location, service, first, appointment.client, 14), **inline_management})
    assert response.status_code == 302, re.findall(r"errorlist.*?</ul>", response.content.decode(), re.S)
    assert {h.start for h in AssignedUnit.objects.filter(appointment=appointment)} == {MONDAY.replace(hour=14)}
    assert AssignedUnit.objects.count() == 2


def test_erasing_a_client_with_held_rooms_keeps_working(two_clinics):
    from privacy.erasure import erase_clients

    location, service = two_clinics["milpitas"], two_clinics["laser_service"]
    appointment = AppointmentFactory(
        location=location,
        service=service,
        practitioner=two_clinics["people"][0],
        start=MONDAY.replace(hour=10),
        notes="Sensitive skin",
    )
    AssignedUnit.objects.create(
        appointment=appointment, unit=two_clinics["m_laser"], start=appointment.start, occupied_until=appointment.end
    )
    erase_clients(client_ids=[appointment.client_id])
    appointment.refresh_from_db()
    assert appointment.notes == "" and appointment.client.erased_at is not None
    assert AssignedUnit.objects.filter(appointment=appointment).count() == 1


@pytest.mark.policy("rights-access-portability")
def test_the_data_export_names_the_rooms_and_devices_held_for_each_appointment(two_clinics):
    from privacy import registry

    location, service = two_clinics["milpitas"], two_clinics["laser_service"]
    appointment = AppointmentFactory(
        location=location, service=service, practitioner=two_clinics["people"][0], start=MONDAY.replace(hour=10)
    )
    for unit in (two_clinics["m_room"], two_clinics["m_laser"]):
        AssignedUnit.objects.create(
            appointment=appointment, unit=unit, start=appointment.start, occupied_until=appointment.end
        )
    (exported,) = registry.export_subject([appointment.client_id])["appointments"]
    assert sorted(exported["rooms_and_devices"]) == sorted(
        f"{unit.resource_type.name}: {unit.name}" for unit in (two_clinics["m_room"], two_clinics["m_laser"])
    )


def test_front_desk_booking_uses_the_practitioners_own_duration(client, two_clinics):
    location, service = two_clinics["milpitas"], two_clinics["laser_service"]
    senior, _ = two_clinics["people"]
    PractitionerService.objects.filter(practitioner=senior, service=service).update(duration_minutes=20)
    client.force_login(front_desk_user(location))
    response = client.post(ADD_URL, add_form(location, service, senior, ClientFactory(preferred_location=location), 10))
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.end == MONDAY.replace(hour=10, minute=20)
    # The laser is held for the 20 minutes and its 15-minute clean-up.
    laser_hold = AssignedUnit.objects.get(appointment=appointment, unit=two_clinics["m_laser"])
    assert laser_hold.occupied_until == MONDAY.replace(hour=10, minute=35)
