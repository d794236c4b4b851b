"""Deleting a staff user clears their link on the exams, overrides and health change reports they recorded.

The append-only trigger function of 0008 let Django's on_delete=SET_NULL clear only the appointment link, so
deleting a staff user who had recorded one of these records failed on PostgreSQL (the user could not be
deleted; the admin answered 500). Clearing a link to a deleted appointment or staff user is now allowed, as
the consent ledger allows it (privacy 0009); every other change is still refused, and the staff member's
name stays on the record (examiner_name, recorded_by_name, reported_by_name).
"""

from django.db import migrations

ALLOWED_TO_CLEAR = "'appointment_id', 'examined_by_id', 'recorded_by_id', 'reported_by_id'"

FUNCTION = """
CREATE OR REPLACE FUNCTION clinical_forms_append_only_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rewrite boolean := coalesce(current_setting('clinic.allow_ledger_rewrite', true), '') = 'on';
BEGIN
    IF rewrite THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    -- Allowed: an UPDATE whose only changes clear a link to a deleted appointment or staff user.
    IF TG_OP = 'UPDATE' AND NOT EXISTS (
        SELECT 1 FROM jsonb_each(to_jsonb(NEW)) AS changed
        WHERE changed.value IS DISTINCT FROM (to_jsonb(OLD) -> changed.key)
          AND NOT (changed.value = 'null'::jsonb AND changed.key IN (%(cleared)s))
    ) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a clinical record (%%) cannot change or be deleted: row %%', TG_TABLE_NAME, OLD.id;
END;
$$;
"""

# 0008's function, restored on the way back.
PREVIOUS = """
CREATE OR REPLACE FUNCTION clinical_forms_append_only_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rewrite boolean := coalesce(current_setting('clinic.allow_ledger_rewrite', true), '') = 'on';
BEGIN
    IF rewrite THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.appointment_id IS NULL
       AND (to_jsonb(NEW) - 'appointment_id') = (to_jsonb(OLD) - 'appointment_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a clinical record (%) cannot change or be deleted: row %', TG_TABLE_NAME, OLD.id;
END;
$$;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION % {"cleared": ALLOWED_TO_CLEAR}, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS, params=None)


class Migration(migrations.Migration):
    dependencies = [("clinical_forms", "0010_health_change_reports")]

    operations = [migrations.RunPython(forwards, backwards)]
