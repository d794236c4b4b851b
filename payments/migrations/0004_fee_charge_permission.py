"""The front desk and managers may charge a late-cancel or no-show fee (up to the accepted policy's amount)."""

from django.db import migrations


def sync_roles(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_booking_checkout"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="payment",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    ("refund_payment", "Can refund a payment"),
                    (
                        "charge_fee_payment",
                        "Can charge a late-cancel or no-show fee to a saved card (up to the policy's amount)",
                    ),
                ],
            },
        ),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
