"""A client's report that their health changed since they signed: appended only, like exams and overrides.

PostgreSQL refuses its UPDATE and DELETE with the trigger function of 0008 (allowed: Django's SET_NULL of the
appointment, and inside privacy.ledger.rewriting_ledger() a merge, a key rotation and the retention task).
The roles gain "view"/"add" of it (the front desk records one for a client; only readers of answers see its note).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import clinical_forms.encryption

TRIGGER = """
CREATE TRIGGER clinical_forms_healthchangereport_append_only
    BEFORE UPDATE OR DELETE ON clinical_forms_healthchangereport
    FOR EACH ROW EXECUTE FUNCTION clinical_forms_append_only_record();
"""
DROP = "DROP TRIGGER IF EXISTS clinical_forms_healthchangereport_append_only ON clinical_forms_healthchangereport;"


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


def roles(apps, schema_editor):
    from clinic.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0010_rooms_and_devices_kept_by_held_times"),
        ("clinic", "0008_client_language"),
        ("clinical_forms", "0009_drawn_signature_and_underage_refusal"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="HealthChangeReport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "via",
                    models.CharField(
                        choices=[
                            ("forms_link", "The client, on their forms link"),
                            ("account", "The client, signed in to their account"),
                            ("front_desk", "Staff, on the client's behalf"),
                        ],
                        max_length=20,
                        verbose_name="reported",
                    ),
                ),
                (
                    "note",
                    clinical_forms.encryption.EncryptedText(
                        blank=True,
                        help_text="Optional: what changed, in the client's words (only practitioners and the privacy officer read it).",
                        null=True,
                        verbose_name="note",
                    ),
                ),
                (
                    "reported_by_name",
                    models.CharField(help_text="The staff member who recorded it; empty: the client.", max_length=200),
                ),
                ("reported_at", models.DateTimeField()),
                (
                    "appointment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="health_change_reports",
                        to="appointments.appointment",
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="health_change_reports",
                        to="clinic.client",
                    ),
                ),
                (
                    "reported_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "health change report",
                "ordering": ["-reported_at", "-id"],
                "indexes": [models.Index(fields=["client", "reported_at"], name="clinical_fo_client__a186c2_idx")],
            },
        ),
        migrations.RunPython(create_trigger, drop_trigger),
        migrations.RunPython(roles, migrations.RunPython.noop),
    ]
