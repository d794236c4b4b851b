"""Staff roles come from a data migration and grant exactly what each role needs."""

import pytest
from django.contrib.auth.models import Group

from clinic.roles import CLINIC_MANAGER, FRONT_DESK, PRIVACY_OFFICER, ROLES, permission_codenames
from tests.support.builders import StaffFactory

pytestmark = pytest.mark.django_db


def perms_of(role):
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_migration_creates_every_role_with_exactly_its_permissions():
    for role in ROLES:
        assert perms_of(role) == {f"{app}.{code}" for app, code in permission_codenames(role)}


def test_front_desk_runs_appointments_and_clients_but_deletes_nothing():
    perms = perms_of(FRONT_DESK)
    assert {"appointments.add_appointment", "appointments.change_appointment", "clinic.change_client"} <= perms
    assert not any(code.split(".")[1].startswith("delete_") for code in perms)
    assert "appointments.change_service" not in perms and "appointments.change_workinghours" not in perms


def test_clinic_manager_also_manages_services_hours_and_practitioners():
    perms = perms_of(CLINIC_MANAGER)
    assert perms_of(FRONT_DESK) <= perms
    assert {"appointments.change_service", "appointments.add_workinghours", "appointments.change_practitioner"} <= perms


def test_privacy_officer_reads_privacy_records_but_does_not_book():
    perms = perms_of(PRIVACY_OFFICER)
    assert "privacy.view_consentrecord" in perms
    assert "appointments.add_appointment" not in perms


def test_role_permissions_reach_the_admin(client):
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=FRONT_DESK))
    client.force_login(user)
    assert client.get("/admin/appointments/appointment/").status_code == 200
    assert client.get("/admin/appointments/service/add/").status_code == 403
