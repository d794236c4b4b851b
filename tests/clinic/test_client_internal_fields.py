"""The client form shows the internal fields (restriction of processing, phone problems) only to users
with the privacy officer's permission; the front desk's saves leave them as they were."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clinic.roles import CLINIC_MANAGER, PRIVACY_OFFICER
from tests.support.builders import ClientFactory, LocationFactory, StaffFactory
from tests.support.front_desk import front_desk_user

pytestmark = pytest.mark.django_db

INTERNAL = ("processing_restricted", "mobile_phone_problem")


def with_role(role):
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def record():
    location = LocationFactory()
    person = ClientFactory(
        preferred_location=location,
        processing_restricted=True,
        mobile_phone_problem="Twilio 30006: landline; please check with the client.",
    )
    return location, person


def form_html(client, person):
    return client.get(reverse("admin:clinic_client_change", args=[person.pk])).content.decode()


@pytest.mark.parametrize("who", ["front desk", "clinic manager"])
def test_the_front_desk_and_managers_do_not_see_the_internal_fields(client, record, who):
    location, person = record
    client.force_login(front_desk_user(location) if who == "front desk" else with_role(CLINIC_MANAGER))
    html = form_html(client, person)
    assert person.last_name in html
    for field in INTERNAL:
        assert f"field-{field}" not in html and f'name="{field}"' not in html
    assert "landline" not in html


def test_the_privacy_officer_sees_them(client, record):
    _, person = record
    client.force_login(with_role(PRIVACY_OFFICER))
    html = form_html(client, person)
    assert "field-processing_restricted" in html and 'name="mobile_phone_problem"' in html and "landline" in html


def test_a_front_desk_save_keeps_the_hidden_values(client, record):
    location, person = record
    client.force_login(front_desk_user(location))
    response = client.post(
        reverse("admin:clinic_client_change", args=[person.pk]),
        {
            "first_name": "Renamed",
            "last_name": person.last_name,
            "email": person.email,
            "mobile_phone": str(person.mobile_phone),
            "preferred_location": location.pk,
            "notes": "",
            "mobile_phone_problem": "",  # forged fields the form does not have: ignored
            "processing_restricted": "",
            **{
                f"{inline}-{part}": value
                for inline in ("appointments", "consent_records", "sms_messages")
                for part, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
            },
        },
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.first_name == "Renamed"
    assert person.processing_restricted and "landline" in person.mobile_phone_problem
