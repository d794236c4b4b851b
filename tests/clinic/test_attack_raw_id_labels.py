"""A raw id box names only records the staff member may pick (location scoping, issue 14).

Django's raw id widget looks the typed id up among every record and prints that record's name (and a
link) beside the box. The health change report's add form is opened as `?client=<id>` from a client's
page, the good-faith exam's and check-in override's as `?appointment=<id>`: with another location's id
typed into the query string, or posted and refused, Milpitas staff read a Glendale client's name, and
the appointment's service and time.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from appointments.models import Appointment
from clinic.models import Client
from clinic.roles import CLINIC_MANAGER, FRONT_DESK, PRACTITIONER, PRIVACY_OFFICER
from tests.support.builders import AppointmentFactory, ClientFactory, StaffFactory, bookable_clinic

pytestmark = pytest.mark.django_db

SECRET_NAME = "Hiddenmoor"


def staff(role, *locations):
    user = StaffFactory(locations=list(locations))
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def two_locations():
    milpitas, m_service, (m_person,) = bookable_clinic()
    glendale, g_service, (g_person,) = bookable_clinic()
    start = timezone.now() + timedelta(days=3)
    glenna = ClientFactory(first_name="Glennabeth", last_name=SECRET_NAME, preferred_location=glendale)
    theirs = AppointmentFactory(client=glenna, location=glendale, service=g_service, practitioner=g_person, start=start)
    milo = ClientFactory(first_name="Milo", last_name="Visiblesen", preferred_location=milpitas)
    mine = AppointmentFactory(client=milo, location=milpitas, service=m_service, practitioner=m_person, start=start)
    return {"milpitas": milpitas, "glenna": glenna, "theirs": theirs, "milo": milo, "mine": mine}


def raw_id_add_forms():
    """(add URL, the raw id fields pointing at a client or an appointment) of every admin with such fields."""
    forms = []
    for model, model_admin in admin.site._registry.items():
        fields = [
            field.name
            for field in model._meta.concrete_fields
            if field.name in model_admin.raw_id_fields and field.related_model in (Client, Appointment)
        ]
        if not fields:
            continue
        try:
            forms.append((reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add"), fields))
        except NoReverseMatch:
            continue
    return forms


def ids_for(fields, clinic, *, theirs):
    record = clinic["theirs"] if theirs else clinic["mine"]
    return {name: (record.client_id if name == "client" else record.pk) for name in fields}


def test_the_crawl_finds_the_raw_id_forms():
    urls = [url for url, _ in raw_id_add_forms()]
    assert reverse("admin:clinical_forms_healthchangereport_add") in urls
    assert reverse("admin:clinical_forms_goodfaithexam_add") in urls


@pytest.mark.parametrize("role", [FRONT_DESK, PRACTITIONER, CLINIC_MANAGER, PRIVACY_OFFICER])
@pytest.mark.policy("security")
def test_a_raw_id_box_never_names_another_locations_client(client, two_locations, role):
    client.force_login(staff(role, two_locations["milpitas"]))
    checked = 0
    for url, fields in raw_id_add_forms():
        theirs = ids_for(fields, two_locations, theirs=True)
        query = "&".join(f"{name}={value}" for name, value in theirs.items())
        for response in (client.get(f"{url}?{query}"), client.post(url, theirs)):
            if response.status_code == 403:
                continue  # this role may not add such a record at all
            assert response.status_code == 200, f"{url} answered {response.status_code}"
            assert SECRET_NAME not in response.content.decode(), f"{url} names another location's client"
            checked += 1
    if role in (FRONT_DESK, PRACTITIONER):
        assert checked >= 2  # at least the health change report's form, opened and posted


def test_a_raw_id_box_still_names_the_users_own_client(client, two_locations):
    client.force_login(staff(PRACTITIONER, two_locations["milpitas"]))
    url = reverse("admin:clinical_forms_healthchangereport_add")
    page = client.get(f"{url}?client={two_locations['milo'].pk}").content.decode()
    assert "Visiblesen" in page
    for odd in ("abc", "１２", "99999999999999999999", "1%00", "-1"):
        assert client.get(f"{url}?client={odd}").status_code == 200
