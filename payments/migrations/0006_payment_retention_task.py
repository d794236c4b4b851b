"""Beat deletes payment rows older than PAYMENT_RECORD_RETENTION_YEARS once a day."""

from django.db import migrations

TASK_NAME = "Delete payment records past their retention period"


def forwards(apps, schema_editor):
    from clinic.roles import ensure_periodic_task

    ensure_periodic_task(
        apps,
        name=TASK_NAME,
        task="payments.tasks.purge_expired_payment_records",
        crontab={"minute": "30", "hour": "3", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
    )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0005_receipt_emailed_at"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
