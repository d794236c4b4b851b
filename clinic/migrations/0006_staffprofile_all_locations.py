"""StaffProfile.all_locations: seeing every location becomes an explicit choice.

Until now a staff user with no locations (or no profile) saw every location. From
now on they see none. So that a running clinic keeps working, every existing
non-superuser staff user who saw everything is marked "All locations" here: a
profile with no locations gets the tick, a staff user without a profile gets a
profile with the tick. Staff created after this migration start with no access.
"""

from django.conf import settings
from django.db import migrations, models


def keep_what_existing_staff_saw(apps, schema_editor):
    StaffProfile = apps.get_model("clinic", "StaffProfile")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    StaffProfile.objects.filter(locations__isnull=True).update(all_locations=True)
    for user in User.objects.filter(is_staff=True, is_superuser=False, staff_profile__isnull=True):
        StaffProfile.objects.create(user=user, all_locations=True)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0005_client_identity_verified_contact_points"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="staffprofile",
            name="all_locations",
            field=models.BooleanField(
                default=False,
                help_text="Works across every location: sees every location's records, privacy requests and the "
                "audit trail. Leave unticked and pick locations below to limit this person to them.",
                verbose_name="All locations",
            ),
        ),
        migrations.RunPython(keep_what_existing_staff_saw, migrations.RunPython.noop),
    ]
