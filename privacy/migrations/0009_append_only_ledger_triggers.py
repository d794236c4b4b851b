"""PostgreSQL refuses DELETE, and UPDATE beyond the sanctioned ones, on the consent
ledger and the privacy audit trail (see privacy/ledger.py for the rule). SQLite:
nothing; the model layer refuses the same changes there."""

from django.db import migrations

# Both functions: what happened never changes and rows are never deleted; a link
# Django's on_delete=SET_NULL clears may become NULL; anything else only with
# clinic.allow_ledger_rewrite on (privacy.ledger.rewriting_ledger).
CREATE = r"""
CREATE OR REPLACE FUNCTION privacy_consent_ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rewrite boolean := coalesce(current_setting('clinic.allow_ledger_rewrite', true), '') = 'on';
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the consent ledger is append-only: consent record % cannot be deleted', OLD.id;
    END IF;
    IF (NEW.id, NEW.purpose, NEW.granted, NEW.notice_text, NEW.notice_sha256, NEW.source, NEW.actor,
        NEW.recorded_at, NEW.policy_version_id)
       IS DISTINCT FROM
       (OLD.id, OLD.purpose, OLD.granted, OLD.notice_text, OLD.notice_sha256, OLD.source, OLD.actor,
        OLD.recorded_at, OLD.policy_version_id)
    THEN
        RAISE EXCEPTION 'the consent ledger is append-only: the choice recorded in % cannot change', OLD.id;
    END IF;
    IF NEW.staff_user_id IS DISTINCT FROM OLD.staff_user_id AND NEW.staff_user_id IS NOT NULL THEN
        RAISE EXCEPTION 'the consent ledger is append-only: who recorded % cannot change', OLD.id;
    END IF;
    -- Erasure only blanks the person's evidence; it never writes something else there.
    IF (NEW.visitor_id <> OLD.visitor_id AND NEW.visitor_id <> '')
       OR (NEW.ip_address IS DISTINCT FROM OLD.ip_address AND NEW.ip_address IS NOT NULL)
       OR (NEW.user_agent <> OLD.user_agent AND NEW.user_agent <> '')
       OR (NEW.evidence <> OLD.evidence AND NEW.evidence <> '')
    THEN
        RAISE EXCEPTION 'the consent ledger is append-only: the evidence of % can only be erased', OLD.id;
    END IF;
    IF NOT rewrite AND (NEW.client_id, NEW.visitor_id, NEW.ip_address, NEW.user_agent, NEW.evidence)
        IS DISTINCT FROM (OLD.client_id, OLD.visitor_id, OLD.ip_address, OLD.user_agent, OLD.evidence)
    THEN
        RAISE EXCEPTION 'the consent ledger is append-only: % changes only by erasure or a merge', OLD.id;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER privacy_consentrecord_append_only
    BEFORE UPDATE OR DELETE ON privacy_consentrecord
    FOR EACH ROW EXECUTE FUNCTION privacy_consent_ledger_append_only();

CREATE OR REPLACE FUNCTION privacy_audit_trail_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rewrite boolean := coalesce(current_setting('clinic.allow_ledger_rewrite', true), '') = 'on';
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the privacy audit trail is append-only: event % cannot be deleted', OLD.id;
    END IF;
    IF (NEW.id, NEW.at, NEW.action, NEW.actor_label) IS DISTINCT FROM (OLD.id, OLD.at, OLD.action, OLD.actor_label)
       OR (NEW.actor_id IS DISTINCT FROM OLD.actor_id AND NEW.actor_id IS NOT NULL)
       OR (NEW.request_id IS DISTINCT FROM OLD.request_id AND NEW.request_id IS NOT NULL)
    THEN
        RAISE EXCEPTION 'the privacy audit trail is append-only: what event % records cannot change', OLD.id;
    END IF;
    IF NOT rewrite AND (
        NEW.detail IS DISTINCT FROM OLD.detail
        OR (NEW.client_id IS DISTINCT FROM OLD.client_id AND NEW.client_id IS NOT NULL)
    ) THEN
        RAISE EXCEPTION 'the privacy audit trail is append-only: event % changes only by erasure or a merge', OLD.id;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER privacy_privacyauditevent_append_only
    BEFORE UPDATE OR DELETE ON privacy_privacyauditevent
    FOR EACH ROW EXECUTE FUNCTION privacy_audit_trail_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS privacy_privacyauditevent_append_only ON privacy_privacyauditevent;
DROP FUNCTION IF EXISTS privacy_audit_trail_append_only();
DROP TRIGGER IF EXISTS privacy_consentrecord_append_only ON privacy_consentrecord;
DROP FUNCTION IF EXISTS privacy_consent_ledger_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("privacy", "0008_request_codes_identity_and_audit_actions")]

    operations = [migrations.RunPython(create, drop)]
