"""Managers edit payment requirements and cancellation policies and refund; the front desk views.
Beat asks Stripe every 10 minutes about payments and refunds whose answer never came."""

from django.db import migrations

TASK_NAME = "Reconcile payments with Stripe"


def forwards(apps, schema_editor):
    from clinic.roles import ensure_periodic_task, sync_role_groups

    sync_role_groups(apps)
    ensure_periodic_task(apps, name=TASK_NAME, task="payments.tasks.reconcile_payments", every_minutes=10)


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_payments_records_and_policies"),
        ("appointments", "0006_practitioner_feed_key"),  # role sync after every app's models
        ("messaging", "0010_join_request_kind"),
        ("privacy", "0009_append_only_ledger_triggers"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
