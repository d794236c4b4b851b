import secrets

from django.db import migrations, models

import appointments.models


def one_key_each(apps, schema_editor):
    # AddField computed the default once for every existing row; give each practitioner their own.
    Practitioner = apps.get_model("appointments", "Practitioner")
    for practitioner in Practitioner.objects.only("pk"):
        Practitioner.objects.filter(pk=practitioner.pk).update(feed_key=secrets.token_urlsafe(24))


class Migration(migrations.Migration):
    dependencies = [("appointments", "0005_roles_for_rooms_and_devices")]

    operations = [
        migrations.AddField(
            model_name="practitioner",
            name="feed_key",
            field=models.CharField(default=appointments.models.new_feed_key, editable=False, max_length=64),
        ),
        migrations.RunPython(one_key_each, migrations.RunPython.noop),
    ]
