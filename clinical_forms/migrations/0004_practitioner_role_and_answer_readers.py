"""A Practitioner role, and the roles that read clients' answers (practitioners, the privacy officer)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("clinical_forms", "0003_client_links_and_signatures")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
