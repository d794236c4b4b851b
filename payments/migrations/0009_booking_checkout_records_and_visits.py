from datetime import timedelta

import django.db.models.deletion
from django.db import migrations, models


def mark_records_made_by_their_checkout(apps, schema_editor):
    """Checkouts from before the field: the record counts as made for the checkout when it was created with it
    (the rule used until now); the erasure pass still keeps any record in use (appointments, accounts, ...)."""
    BookingCheckout = apps.get_model("payments", "BookingCheckout")
    for checkout in BookingCheckout.objects.filter(client__isnull=False).select_related("client").iterator():
        if checkout.created_at - timedelta(minutes=1) <= checkout.client.created_at <= checkout.created_at:
            BookingCheckout.objects.filter(pk=checkout.pk).update(client_made_for_it=True)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0010_rooms_and_devices_kept_by_held_times"),
        ("payments", "0008_local_backend_objects"),
    ]

    operations = [
        migrations.AddField(
            model_name="bookingcheckout",
            name="client_made_for_it",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(mark_records_made_by_their_checkout, migrations.RunPython.noop),
        migrations.AddField(
            model_name="bookingcheckout",
            name="visit",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="appointments.visit",
            ),
        ),
        migrations.AddField(
            model_name="bookingcheckout",
            name="visit_parts",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
    ]
