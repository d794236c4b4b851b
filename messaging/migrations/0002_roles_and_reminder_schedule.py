"""Give the roles their messaging permissions, and schedule the reminder pass every minute.

The schedule lives in the database (django-celery-beat), so it can be changed
in the admin without a deploy.
"""

from django.db import migrations

TASK_NAME = "Dispatch due SMS reminders"


def forwards(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "messaging.tasks.dispatch_due_reminders", "interval": every_minute},
    )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("clinic", "0003_client_mobile_phone_problem_and_more"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
