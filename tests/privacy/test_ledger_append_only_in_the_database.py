"""The consent ledger and the privacy audit trail are append-only in PostgreSQL itself (privacy/ledger.py).

Raw SQL, a shell session or a future bug cannot delete a row or change what it
records; only erasure (blanking the person's evidence, scrubbing audit text) and
a merge (re-pointing rows to the kept record) rewrite them, inside
`rewriting_ledger()`. The erasure and merge tests in tests/privacy and
tests/clinic/test_client_merge.py, run on PostgreSQL in CI, show those paths
still work with the triggers in place.
"""

import pytest
from django.db import DatabaseError, connection, transaction

from privacy.ledger import rewriting_ledger
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from privacy.requests_models import AuditAction, PrivacyAuditEvent
from privacy.services import record_consent
from tests.support.builders import ClientFactory
from tests.support.environment import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]


def consent(client):
    return record_consent(
        client=client,
        purpose=ConsentPurpose.SMS_MARKETING,
        granted=True,
        notice_text="Text me offers, up to 4 a month.",
        source=ConsentSource.BOOKING_FORM,
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0",
        evidence="SM" + "1" * 32,
    )


def refused(sql, params):
    """Run one raw statement; True when the database refuses it as a change to an append-only table."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as error:
        assert "append-only" in str(error)
        return True
    return False


@pytest.mark.policy("collect-consent-evidence")
def test_raw_sql_cannot_delete_a_consent_or_change_the_choice_it_records():
    record = consent(ClientFactory())
    table = ConsentRecord._meta.db_table
    assert refused(f"DELETE FROM {table} WHERE id = %s", [record.pk])
    assert refused(f"UPDATE {table} SET granted = false WHERE id = %s", [record.pk])
    assert refused(f"UPDATE {table} SET notice_text = 'Something else.' WHERE id = %s", [record.pk])
    assert refused(f"UPDATE {table} SET recorded_at = recorded_at - interval '1 day' WHERE id = %s", [record.pk])
    # Moving a consent to someone else, or blanking its evidence, is not for a raw statement either.
    assert refused(f"UPDATE {table} SET client_id = %s WHERE id = %s", [ClientFactory().pk, record.pk])
    assert refused(f"UPDATE {table} SET evidence = '' WHERE id = %s", [record.pk])
    assert ConsentRecord.objects.filter(pk=record.pk, granted=True, evidence="SM" + "1" * 32).exists()


@pytest.mark.policy("collect-consent-evidence")
def test_raw_sql_cannot_delete_or_rewrite_an_audit_event():
    event = PrivacyAuditEvent.objects.create(action=AuditAction.DATA_EXPORTED, detail="Export downloaded")
    table = PrivacyAuditEvent._meta.db_table
    assert refused(f"DELETE FROM {table} WHERE id = %s", [event.pk])
    assert refused(f"UPDATE {table} SET detail = 'nothing happened' WHERE id = %s", [event.pk])
    assert refused(f"UPDATE {table} SET action = %s WHERE id = %s", [AuditAction.DATA_VIEWED, event.pk])
    assert PrivacyAuditEvent.objects.get(pk=event.pk).detail == "Export downloaded"


def test_even_the_sanctioned_paths_only_blank_evidence_and_never_change_the_choice():
    record = consent(ClientFactory())
    table = ConsentRecord._meta.db_table
    with rewriting_ledger():
        assert refused(f"UPDATE {table} SET granted = false WHERE id = %s", [record.pk])
        assert refused(f"UPDATE {table} SET evidence = 'forged' WHERE id = %s", [record.pk])
        assert refused(f"DELETE FROM {table} WHERE id = %s", [record.pk])
    assert ConsentRecord.objects.filter(pk=record.pk).anonymise() == 1
    assert ConsentRecord.objects.filter(pk=record.pk, granted=True, evidence="", ip_address=None).exists()


def test_the_permission_to_rewrite_ends_with_the_sanctioned_step_inside_a_longer_transaction():
    first, second = consent(ClientFactory()), consent(ClientFactory())
    with transaction.atomic():
        ConsentRecord.objects.filter(pk=first.pk).anonymise()
        # Same transaction, after the erasure step: a raw rewrite is refused again.
        assert refused(f"UPDATE {ConsentRecord._meta.db_table} SET evidence = '' WHERE id = %s", [second.pk])
    assert ConsentRecord.objects.get(pk=second.pk).evidence


def test_deleting_a_staff_user_still_clears_the_link_to_them():
    """Django's on_delete=SET_NULL is an UPDATE too: clearing a link is allowed, nothing else changes."""
    from django.contrib.auth.models import User

    staff = User.objects.create_user("reception", password="x")
    event = PrivacyAuditEvent.objects.create(action=AuditAction.DATA_VIEWED, actor=staff, detail="Client viewed")
    staff.delete()
    event.refresh_from_db()
    assert event.actor_id is None and event.detail == "Client viewed"


@pytest.mark.policy("collect-consent-evidence")
def test_raw_sql_cannot_change_the_language_a_consent_was_shown_in():
    record = consent(ClientFactory())
    table = ConsentRecord._meta.db_table
    assert refused(f"UPDATE {table} SET language = 'es' WHERE id = %s", [record.pk])
    assert ConsentRecord.objects.get(pk=record.pk).language == "en"
