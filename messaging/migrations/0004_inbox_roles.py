"""Give the roles the inbox permissions (view, reply)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_inbound_and_inbox")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
