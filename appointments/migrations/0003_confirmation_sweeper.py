"""Every 5 minutes, send confirmation emails whose task never ran (for example while Redis restarted)."""

from django.db import migrations

TASK_NAME = "Send pending confirmation emails"


def forwards(apps, schema_editor):
    from clinic.roles import ensure_periodic_task

    ensure_periodic_task(
        apps, name=TASK_NAME, task="appointments.tasks.send_pending_confirmation_emails", every_minutes=5
    )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0002_no_double_booking"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
