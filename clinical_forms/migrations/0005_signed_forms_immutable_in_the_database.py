"""PostgreSQL refuses DELETE and UPDATE of a signed clinical form (like the consent ledger, privacy 0009).

Allowed: Django's SET_NULL clearing the appointment link; and, inside
privacy.ledger.rewriting_ledger() only, the sanctioned rewrites: a merge of two
records of one person (the form moves to the kept client), re-encryption under a
new key (`rotate_clinical_forms_keys`: the ciphertext changes, the content does not)
and deletion by the retention task once CLINICAL_RECORD_RETENTION_YEARS have passed.
SQLite: nothing; the model and queryset refuse the same changes there.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION clinical_forms_signed_form_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rewrite boolean := coalesce(current_setting('clinic.allow_ledger_rewrite', true), '') = 'on';
BEGIN
    IF OLD.status <> 'signed' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF rewrite THEN RETURN OLD; END IF;  -- the retention task, at the end of the legal period
        RAISE EXCEPTION 'a signed clinical form is a medical record: form % cannot be deleted', OLD.id;
    END IF;
    IF (NEW.id, NEW.version_id, NEW.status, NEW.signed_at, NEW.expires_at, NEW.signed_ip, NEW.signed_user_agent,
        NEW.document_sha256, NEW.started_at)
       IS DISTINCT FROM
       (OLD.id, OLD.version_id, OLD.status, OLD.signed_at, OLD.expires_at, OLD.signed_ip, OLD.signed_user_agent,
        OLD.document_sha256, OLD.started_at)
       OR (NEW.appointment_id IS DISTINCT FROM OLD.appointment_id AND NEW.appointment_id IS NOT NULL)
    THEN
        RAISE EXCEPTION 'a signed clinical form cannot change: form %', OLD.id;
    END IF;
    IF NOT rewrite AND (NEW.client_id, NEW.answers, NEW.signer_name, NEW.document, NEW.updated_at)
        IS DISTINCT FROM (OLD.client_id, OLD.answers, OLD.signer_name, OLD.document, OLD.updated_at)
    THEN
        RAISE EXCEPTION 'a signed clinical form changes only by a merge or a key rotation: form %', OLD.id;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER clinical_forms_formsubmission_signed_immutable
    BEFORE UPDATE OR DELETE ON clinical_forms_formsubmission
    FOR EACH ROW EXECUTE FUNCTION clinical_forms_signed_form_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS clinical_forms_formsubmission_signed_immutable ON clinical_forms_formsubmission;
DROP FUNCTION IF EXISTS clinical_forms_signed_form_immutable();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("clinical_forms", "0004_practitioner_role_and_answer_readers"),
        ("privacy", "0009_append_only_ledger_triggers"),
    ]

    operations = [migrations.RunPython(create, drop)]
