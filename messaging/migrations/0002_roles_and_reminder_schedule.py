"""Give the roles their messaging permissions, and schedule the reminder pass every minute.

The schedule lives in the database (django-celery-beat), so it can be changed
in the admin without a deploy.
"""

from django.db import migrations

TASK_NAME = "Dispatch due SMS reminders"


def forwards(apps, schema_editor):
    from clinic.roles import ensure_periodic_task, sync_role_groups

    sync_role_groups(apps)
    ensure_periodic_task(apps, name=TASK_NAME, task="messaging.tasks.dispatch_due_reminders", every_minutes=1)


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("clinic", "0003_client_mobile_phone_problem_and_more"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
