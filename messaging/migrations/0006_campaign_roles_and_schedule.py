"""Campaign permissions for the roles, and start due campaigns every minute (beat, editable in the admin)."""

from django.db import migrations

TASK_NAME = "Start due marketing campaigns"


def forwards(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME, defaults={"task": "messaging.tasks.start_due_campaigns", "interval": every_minute}
    )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_marketing_campaigns")]

    operations = [migrations.RunPython(forwards, backwards)]
