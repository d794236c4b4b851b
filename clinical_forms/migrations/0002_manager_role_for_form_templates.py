"""Give the clinic manager the form templates (and re-sync every role after this app's models)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("clinical_forms", "0001_form_templates_and_encrypted_submissions"),
        ("waitlist", "0002_roles_and_offer_schedule"),  # role sync after every app's models
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
