"""Run the deletion of signed forms past CLINICAL_RECORD_RETENTION_YEARS once a day."""

from django.db import migrations

TASK_NAME = "Delete clinical records past their legal period"


def forwards(apps, schema_editor):
    from clinic.roles import ensure_periodic_task

    ensure_periodic_task(
        apps,
        name=TASK_NAME,
        task="clinical_forms.tasks.delete_clinical_records_past_retention",
        crontab={"minute": "40", "hour": "3"},
    )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinical_forms", "0005_signed_forms_immutable_in_the_database"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
