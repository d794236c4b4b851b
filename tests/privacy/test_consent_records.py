"""The consent ledger is append-only and its current state is cheap to read."""

import pytest

from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource, ImmutableRecordError
from privacy.selectors import current_consents
from privacy.services import record_consent
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db


def grant(client, purpose, granted=True):
    return record_consent(
        client=client,
        purpose=purpose,
        granted=granted,
        notice_text="Text me reminders.",
        source=ConsentSource.BOOKING_FORM,
    )


def test_records_cannot_be_changed_or_deleted_through_the_orm():
    record = grant(ClientFactory(), ConsentPurpose.SMS_REMINDERS)
    record.granted = False
    with pytest.raises(ImmutableRecordError):
        record.save()
    with pytest.raises(ImmutableRecordError):
        record.delete()
    with pytest.raises(ImmutableRecordError):
        ConsentRecord.objects.filter(pk=record.pk).update(granted=False)
    with pytest.raises(ImmutableRecordError):
        ConsentRecord.objects.all().delete()
    assert ConsentRecord.objects.get(pk=record.pk).granted


def test_current_state_is_the_latest_choice_read_in_one_query(django_assert_num_queries):
    a, b, c = ClientFactory(), ClientFactory(), ClientFactory()
    grant(a, ConsentPurpose.SMS_MARKETING)
    grant(b, ConsentPurpose.SMS_MARKETING)
    grant(b, ConsentPurpose.SMS_MARKETING, granted=False)
    with django_assert_num_queries(1):
        state = current_consents(client_ids=[a.pk, b.pk, c.pk], purpose=ConsentPurpose.SMS_MARKETING)
    assert state == {a.pk: True, b.pk: False, c.pk: False}


def test_admin_shows_the_ledger_read_only(admin_client):
    record = grant(ClientFactory(), ConsentPurpose.SMS_REMINDERS)
    assert admin_client.get(f"/admin/privacy/consentrecord/{record.pk}/change/").status_code == 200
    assert admin_client.get("/admin/privacy/consentrecord/add/").status_code == 403
    assert admin_client.post(f"/admin/privacy/consentrecord/{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ConsentRecord.objects.filter(pk=record.pk).exists()
