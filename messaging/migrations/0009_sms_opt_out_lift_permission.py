"""The permission to lift an SMS opt-out on the person's behalf, given to clinic managers and privacy officers."""

from django.db import migrations


def give_roles_the_permission(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0008_opt_out_events_and_marketing_cap"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="smsoptout",
            options={
                "permissions": [("lift_smsoptout", "Can lift an SMS opt-out on the person's behalf")],
                "verbose_name": "SMS opt-out",
            },
        ),
        migrations.RunPython(give_roles_the_permission, migrations.RunPython.noop),
    ]
