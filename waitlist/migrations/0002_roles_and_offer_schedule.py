"""Give the roles their waitlist permissions, and run the offer pass (expiry, next person) every minute."""

from django.db import migrations

TASK_NAME = "Expire waitlist offers and offer open times"


def forwards(apps, schema_editor):
    from clinic.roles import ensure_periodic_task, sync_role_groups

    sync_role_groups(apps)
    ensure_periodic_task(apps, name=TASK_NAME, task="waitlist.tasks.expire_waitlist_offers", every_minutes=1)


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("waitlist", "0001_initial"),
        ("payments", "0002_payment_roles_and_reconcile_task"),  # role sync after every app's models
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
