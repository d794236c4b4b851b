"""Privacy officers get the request register; beat runs the daily privacy housekeeping at 07:00."""

from django.db import migrations

TASK_NAME = "Daily privacy housekeeping (expiry, erasures, digest, retention)"


def forwards(apps, schema_editor):
    from clinic.roles import ensure_periodic_task, sync_role_groups

    sync_role_groups(apps)
    seven_am = {
        "minute": "0",
        "hour": "7",
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": "America/Los_Angeles",
    }
    ensure_periodic_task(apps, name=TASK_NAME, task="privacy.tasks.daily_privacy_housekeeping", crontab=seven_am)


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0005_privacy_requests"),
        ("clinic", "0004_client_erased_at"),
        ("messaging", "0007_verification_kind"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
