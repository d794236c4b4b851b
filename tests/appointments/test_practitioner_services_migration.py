"""The migration to PractitionerService keeps who performs what: existing data keeps working."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.support.builders import LocationFactory

BEFORE = [("appointments", "0003_confirmation_sweeper")]
AFTER = [("appointments", "0004_rooms_devices_and_practitioner_skills")]


@pytest.mark.django_db(transaction=True)
def test_the_old_services_list_becomes_rows_valid_everywhere_with_the_services_duration():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Location = old.get_model("clinic", "Location")
    Service = old.get_model("appointments", "Service")
    Practitioner = old.get_model("appointments", "Practitioner")
    here = Location.objects.get(pk=LocationFactory().pk)  # clinic's tables stay at their latest migration
    botox = Service.objects.create(name="Neurotoxin", slug="neurotoxin", duration_minutes=30)
    peel = Service.objects.create(name="Peel", slug="peel", duration_minutes=45)
    nurse = Practitioner.objects.create(name="Nurse")
    nurse.locations.add(here)
    nurse.services.add(botox, peel)
    Practitioner.objects.create(name="Nobody")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    rows = new.get_model("appointments", "PractitionerService").objects.order_by("service__slug")
    assert [(r.practitioner.name, r.service.slug, r.location_id, r.duration_minutes) for r in rows] == [
        ("Nurse", "neurotoxin", None, None),
        ("Nurse", "peel", None, None),
    ]

    # And back: the plain list again.
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(BEFORE)
    back = executor.loader.project_state(BEFORE).apps
    nurse = back.get_model("appointments", "Practitioner").objects.get(name="Nurse")
    assert sorted(nurse.services.values_list("slug", flat=True)) == ["neurotoxin", "peel"]

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
