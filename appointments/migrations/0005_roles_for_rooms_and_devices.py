"""The front desk and clinic managers reach rooms, devices and what services need (clinic/roles.py)."""

from django.db import migrations


def sync_roles(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0004_rooms_devices_and_practitioner_skills"),
        ("messaging", "0010_join_request_kind"),
        ("privacy", "0009_append_only_ledger_triggers"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
