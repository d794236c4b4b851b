"""Create the staff roles (Front desk, Clinic manager, Privacy officer) as groups."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)


def remove_roles(apps, schema_editor):
    from clinic.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_initial"),
        ("appointments", "0001_initial"),
        ("privacy", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
