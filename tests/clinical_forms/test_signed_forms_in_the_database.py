"""A signed clinical form cannot be deleted or changed in PostgreSQL itself (migration clinical_forms 0005).

Only the sanctioned rewrites pass, inside `rewriting_ledger()`: a merge of two records
of one person, and re-encryption under a new key.
"""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from clinic import identity
from clinical_forms.models import FormSubmission, SubmissionStatus
from tests.support.builders import ClientFactory
from tests.support.clinical_forms import form_template, submission
from tests.support.environment import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]

TABLE = FormSubmission._meta.db_table


def signed_form(client):
    now = timezone.now()
    return submission(
        client=client,
        template=form_template(),
        answers={"allergies": "no"},
        status=SubmissionStatus.SIGNED,
        signer_name="Dana Reyes",
        signed_at=now,
        expires_at=now + timedelta(days=365),
        document="Consent ... Signed by Dana Reyes",
        document_sha256="0" * 64,
    )


def refused(sql, params):
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as error:
        assert "signed clinical form" in str(error)
        return True
    return False


@pytest.mark.policy("health-data-encrypted")
def test_raw_sql_cannot_delete_or_rewrite_a_signed_form():
    form = signed_form(ClientFactory())
    assert refused(f"DELETE FROM {TABLE} WHERE id = %s", [form.pk])
    assert refused(f"UPDATE {TABLE} SET document_sha256 = %s WHERE id = %s", ["1" * 64, form.pk])
    assert refused(f"UPDATE {TABLE} SET signed_at = signed_at - interval '1 day' WHERE id = %s", [form.pk])
    assert refused(f"UPDATE {TABLE} SET answers = NULL WHERE id = %s", [form.pk])
    assert refused(f"UPDATE {TABLE} SET client_id = %s WHERE id = %s", [ClientFactory().pk, form.pk])
    assert FormSubmission.objects.get(pk=form.pk).answers == {"allergies": "no"}


def test_a_merge_moves_signed_forms_and_a_key_rotation_re_encrypts_them(settings):
    older, newer = ClientFactory(), ClientFactory()
    form = signed_form(newer)
    identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, reason="same person")
    assert FormSubmission.objects.get(pk=form.pk).client_id == older.pk
    settings.CLINICAL_FORMS_KEYS = [Fernet.generate_key().decode(), *settings.CLINICAL_FORMS_KEYS]
    call_command("rotate_clinical_forms_keys")
    settings.CLINICAL_FORMS_KEYS = settings.CLINICAL_FORMS_KEYS[:1]
    assert FormSubmission.objects.get(pk=form.pk).signer_name == "Dana Reyes"


def test_raw_sql_cannot_change_or_delete_a_good_faith_exam_or_override():
    from clinical_forms import services
    from clinical_forms.models import CheckInOverride, GoodFaithExam
    from tests.support.builders import AppointmentFactory, bookable_clinic

    location, service, people = bookable_clinic()
    visit = AppointmentFactory(location=location, service=service, practitioner=people[0], start=timezone.now())
    exam = services.record_good_faith_exam(appointment_id=visit.pk, examiner=None, outcome="not_cleared")
    override = services.record_check_in_override(appointment_id=visit.pk, user=None, reason="Paper forms")
    exams, overrides = GoodFaithExam._meta.db_table, CheckInOverride._meta.db_table

    def refused_record(sql, params):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
        except DatabaseError as error:
            return "clinical record" in str(error)
        return False

    assert refused_record(f"UPDATE {exams} SET outcome = 'cleared' WHERE id = %s", [exam.pk])
    assert refused_record(f"DELETE FROM {exams} WHERE id = %s", [exam.pk])
    assert refused_record(f"UPDATE {overrides} SET reason = 'other' WHERE id = %s", [override.pk])
    assert refused_record(f"DELETE FROM {overrides} WHERE id = %s", [override.pk])
    assert GoodFaithExam.objects.get().outcome == "not_cleared"


@pytest.mark.policy("health-data-encrypted")
def test_raw_sql_cannot_change_or_delete_a_health_change_report_but_a_merge_and_a_key_rotation_pass(settings):
    from clinical_forms import services
    from clinical_forms.models import HealthChangeReport, ReportedVia

    older, newer = ClientFactory(), ClientFactory()
    report = services.report_health_change(client_id=newer.pk, via=ReportedVia.FRONT_DESK, note="New medicine")
    table = HealthChangeReport._meta.db_table

    def refused_record(sql, params):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
        except DatabaseError as error:
            return "clinical record" in str(error)
        return False

    assert refused_record(f"UPDATE {table} SET reported_at = reported_at + interval '1 day' WHERE id = %s", [report.pk])
    assert refused_record(f"UPDATE {table} SET note = NULL WHERE id = %s", [report.pk])
    assert refused_record(f"DELETE FROM {table} WHERE id = %s", [report.pk])

    identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, reason="same person")
    assert HealthChangeReport.objects.get(pk=report.pk).client_id == older.pk
    settings.CLINICAL_FORMS_KEYS = [Fernet.generate_key().decode(), *settings.CLINICAL_FORMS_KEYS]
    call_command("rotate_clinical_forms_keys")
    settings.CLINICAL_FORMS_KEYS = settings.CLINICAL_FORMS_KEYS[:1]
    assert HealthChangeReport.objects.get(pk=report.pk).note == "New medicine"
