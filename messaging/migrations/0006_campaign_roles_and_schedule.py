"""Campaign permissions for the roles, and start due campaigns every minute (beat, editable in the admin)."""

from django.db import migrations

TASK_NAME = "Start due marketing campaigns"


def forwards(apps, schema_editor):
    from clinic.roles import ensure_periodic_task, sync_role_groups

    sync_role_groups(apps)
    ensure_periodic_task(apps, name=TASK_NAME, task="messaging.tasks.start_due_campaigns", every_minutes=1)


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_marketing_campaigns")]

    operations = [migrations.RunPython(forwards, backwards)]
