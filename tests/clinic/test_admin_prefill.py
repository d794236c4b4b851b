"""Admin forms opened with a prefill in the query string (the day calendar's "book here" links do) never 500.

Any value a person can type after `?` (not a number for a relation, a date that does not parse, year 1,
NUL bytes, full-width digits, a number past the database's range) opens the form with that field empty.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from clinic.roles import CLINIC_MANAGER
from tests.support.builders import AppointmentFactory, StaffFactory, bookable_clinic

pytestmark = pytest.mark.django_db

ODD_VALUES = ["abc", "99999999999999999999", "１２", "1,x"]


def staff(role, *locations):
    user = StaffFactory(locations=list(locations))
    user.groups.add(Group.objects.get(name=role))
    return user


def add_urls():
    urls = [reverse("admin:appointments_book_visit"), reverse("admin:appointments_phone_booking")]
    # Every registered admin, third-party ones included (Celery beat's schedules, cookie groups, axes,
    # two-step devices: superusers open them, and they are our admin site all the same).
    for model in admin.site._registry:
        urls.append((reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add"), model))
    return urls


@pytest.mark.policy("security")
@pytest.mark.parametrize("who", ["superuser", "location manager"])
def test_no_prefill_in_the_query_string_gives_a_500_on_any_admin_form(client, who):
    location, service, (person,) = bookable_clinic()
    AppointmentFactory(
        location=location, service=service, practitioner=person, start=timezone.now() + timedelta(days=2)
    )
    user = StaffFactory(is_superuser=True, locations=[]) if who == "superuser" else staff(CLINIC_MANAGER, location)
    client.force_login(user)
    client.raise_request_exception = True
    checked = 0
    for entry in add_urls():
        url, model = entry if isinstance(entry, tuple) else (entry, Appointment)
        prefilled = [f for f in model._meta.get_fields() if f.is_relation or "Date" in f.get_internal_type()]
        names = {f.name for f in prefilled} | {"client", "location", "service_1", "practitioner_1"}
        # Every field at once per odd value: the admin reads each prefilled field in turn, so a field
        # whose value still gives a 500 fails the request (one request per field took minutes in CI).
        for value in ODD_VALUES:
            response = client.get(url, dict.fromkeys(sorted(names), value))
            assert response.status_code in (200, 302, 403), f"{url}?{sorted(names)}={value!r}: {response.status_code}"
            checked += 1
    assert checked > 100


def test_a_good_prefill_still_fills_the_form(client):
    """The calendar's gap link: ?start=YYYY-MM-DDTHH:MM and ids that are numbers open the form filled in."""
    location, service, (person,) = bookable_clinic()
    client.force_login(staff(CLINIC_MANAGER, location))
    query = {"start": "2026-12-08T15:15", "location": location.pk, "practitioner": person.pk, "service": service.pk}
    form = client.get(reverse("admin:appointments_appointment_add"), query).context_data["adminform"].form
    assert form.initial["location"] == str(location.pk) and form.initial["practitioner"] == str(person.pk)
    assert form.initial["start"].isoformat() == "2026-12-08T15:15:00"
