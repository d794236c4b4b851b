"""Privacy officers edit and publish policy versions and keep the subprocessor list."""

from django.db import migrations


def forwards(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0002_policy_versions_and_subprocessors"),
        ("messaging", "0006_campaign_roles_and_schedule"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
