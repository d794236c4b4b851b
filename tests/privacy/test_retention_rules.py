"""Retention, rule by rule (README's retention table): what each pass keeps, removes, erases and audits.

These pin the survivors of `make mutation MUTANTS='privacy.retention*'` (docs/mutation.md).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.models import Client
from messaging.models import SmsMessage
from privacy.requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, RequestStatus, RequestType
from privacy.retention import SMS_RETENTION_MARK, apply_retention
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

pytestmark = [pytest.mark.django_db, pytest.mark.policy("retention")]
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2027, 6, 1, 12, tzinfo=LA)


def client_created(years_ago, **fields):
    client = ClientFactory(**fields)
    Client.objects.filter(pk=client.pk).update(created_at=NOW - timedelta(days=365 * years_ago + 2))
    return client


def text(body, *, days_old):
    message = SmsMessage.objects.create(to_number="+14085550199", body=body)
    SmsMessage.objects.filter(pk=message.pk).update(created_at=NOW - timedelta(days=days_old))
    return message


def test_a_text_body_is_kept_for_its_retention_period_then_replaced(settings):
    settings.RETENTION_SMS_BODY_DAYS = 365
    recent = text("See you Tuesday, Ana", days_old=300)
    old = text("See you Friday, Ana", days_old=366)

    assert apply_retention(now=NOW)["sms_bodies"] == 1
    assert SmsMessage.objects.get(pk=recent.pk).body == "See you Tuesday, Ana"
    assert SmsMessage.objects.get(pk=old.pk).body == SMS_RETENTION_MARK


def unverified_request(email, *, days_old, **fields):
    from privacy.subject_requests import submit_request

    dsr = submit_request(request_type=RequestType.ACCESS, email=email, now=NOW - timedelta(days=days_old))
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(acknowledged_at=NOW - timedelta(days=days_old), **fields)
    return dsr


def test_only_requests_unverified_past_their_period_are_purged_and_a_dry_run_purges_none(settings):
    settings.RETENTION_UNVERIFIED_REQUEST_DAYS = 30
    stale = unverified_request("stale@example.com", days_old=31)
    fresh = unverified_request("fresh@example.com", days_old=29)
    verified_old = unverified_request(
        "verified@example.com", days_old=60, status=RequestStatus.VERIFIED, verified_at=NOW - timedelta(days=59)
    )
    verified_stamp_only = unverified_request("stamp@example.com", days_old=60, verified_at=NOW - timedelta(days=59))
    email_confirmed = unverified_request("acted@example.com", days_old=60, email_confirmed_at=NOW - timedelta(days=59))
    refused = unverified_request("refused@example.com", days_old=60, status=RequestStatus.REFUSED)  # on the register

    assert apply_retention(dry_run=True, now=NOW)["unverified_requests"] == 1
    assert DataSubjectRequest.objects.filter(pk=stale.pk).exists()  # a dry run only counts

    assert apply_retention(now=NOW)["unverified_requests"] == 1
    assert set(DataSubjectRequest.objects.values_list("pk", flat=True)) == {
        fresh.pk,
        verified_old.pk,
        verified_stamp_only.pk,
        email_confirmed.pk,
        refused.pk,
    }


def test_a_client_seen_recently_is_kept_however_old_the_record(settings):
    """Inactivity counts from the last appointment, not from when the record was made."""
    settings.RETENTION_INACTIVE_CLIENT_YEARS = 7
    location, service, (person,) = bookable_clinic()
    regular = client_created(10, last_name="Regularsson")
    AppointmentFactory(
        client=regular, location=location, service=service, practitioner=person, start=NOW - timedelta(days=365)
    )
    lapsed = client_created(10, last_name="Lapsedottir")
    AppointmentFactory(
        client=lapsed, location=location, service=service, practitioner=person, start=NOW - timedelta(days=365 * 8)
    )

    assert apply_retention(now=NOW)["inactive_clients"] == 1
    assert Client.objects.get(pk=regular.pk).erased_at is None
    assert Client.objects.get(pk=lapsed.pk).erased_at is not None


def test_a_legal_hold_stops_retention_erasing_an_inactive_client(settings):
    settings.RETENTION_INACTIVE_CLIENT_YEARS = 7
    held = client_created(8, last_name="Heldmann")
    dsr = unverified_request("held@example.com", days_old=1, legal_hold=True, legal_hold_reason="Litigation")
    dsr.clients.add(held)

    assert apply_retention(now=NOW)["inactive_clients"] == 0
    assert Client.objects.get(pk=held.pk).erased_at is None


def test_an_inactive_client_is_erased_with_the_retention_reason_audited_and_a_dry_run_erases_no_one(settings):
    settings.RETENTION_INACTIVE_CLIENT_YEARS = 7
    sleeper = client_created(8, last_name="Sleeperton")

    assert apply_retention(dry_run=True, now=NOW)["inactive_clients"] == 1
    assert Client.objects.get(pk=sleeper.pk).erased_at is None
    assert not PrivacyAuditEvent.objects.exists()  # a dry run leaves no trace either

    apply_retention(now=NOW)
    assert Client.objects.get(pk=sleeper.pk).erased_at is not None
    erased = PrivacyAuditEvent.objects.get(action=AuditAction.DATA_ERASED)
    assert erased.client_id == sleeper.pk
    assert erased.actor_label == "system"
    assert erased.detail.startswith("Retention: no appointment for 7 years.")


def test_each_applied_retention_pass_is_audited_with_its_counts(settings):
    settings.RETENTION_SMS_BODY_DAYS = 365
    text("Old news", days_old=400)

    apply_retention(now=NOW)
    event = PrivacyAuditEvent.objects.get(action=AuditAction.RETENTION_APPLIED)
    assert event.actor_label == "system"
    assert event.actor is None
    assert event.detail == "sms_bodies: 1, unverified_requests: 0, erasure_tombstones: 0, inactive_clients: 0"
