"""A signed-in client's own download of their data is an access request on the register, verified and completed
at that moment, and the download is audited as one through a link is: when, from where, and how they proved it."""

from datetime import UTC, datetime, timedelta

import pytest

from privacy.requests_models import (
    AuditAction,
    DataSubjectRequest,
    PrivacyAuditEvent,
    Regime,
    RequestStatus,
    RequestType,
)
from privacy.subject_requests import export_downloaded_from_account
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db
AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
PROOF = "signed in to the account + fresh code"


def test_a_download_from_the_account_is_a_completed_access_request_audited_with_when_where_and_the_proof():
    dana = ClientFactory(email="dana.reyes@example.com", mobile_phone="+14085550143")

    dsr, bundle = export_downloaded_from_account(client=dana, ip_address="203.0.113.5", user_agent="DanaPhone", now=AT)

    assert bundle[:2] == b"PK"
    dsr = DataSubjectRequest.objects.get(pk=dsr.pk)
    assert (dsr.request_type, dsr.status, dsr.received_at, dsr.verified_at, dsr.completed_at) == (
        RequestType.ACCESS,
        RequestStatus.COMPLETED,
        AT,
        AT,
        AT,
    )
    assert list(dsr.clients.all()) == [dana]
    assert (dsr.email, dsr.phone, dsr.details) == ("dana.reyes@example.com", "+14085550143", "")
    assert dsr.outcome == "Export downloaded by the client from their account."
    received = PrivacyAuditEvent.objects.get(request=dsr, action=AuditAction.REQUEST_RECEIVED)
    assert received.detail.endswith(f"({PROOF})")
    assert received.actor_label == "requester (signed in to their account)"
    (download,) = PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_EXPORTED)
    assert (download.request_id, download.client_id, download.actor_label) == (
        dsr.pk,
        dana.pk,
        "requester (own account)",
    )
    assert download.detail == f"Downloaded at 2026-12-02 10:00:00 UTC from 203.0.113.5 ({PROOF}); browser: DanaPhone"


def test_a_download_from_an_unknown_address_and_browser_says_so_and_keeps_at_most_300_characters_of_a_browser():
    dana = ClientFactory(email="dana.reyes@example.com", mobile_phone="")

    dsr, _ = export_downloaded_from_account(client=dana, now=AT)
    export_downloaded_from_account(client=dana, user_agent="B" * 400, now=AT)

    first, second = PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_EXPORTED).order_by("id")
    assert first.detail == f"Downloaded at 2026-12-02 10:00:00 UTC from unknown address ({PROOF}); browser: unknown"
    assert second.detail.endswith("; browser: " + "B" * 300)
    dsr = DataSubjectRequest.objects.get(pk=dsr.pk)
    assert (dsr.email, dsr.phone) == ("dana.reyes@example.com", "")  # a record without a phone: none invented


def test_a_request_made_from_the_account_has_the_deadline_of_the_regime_the_clinic_chose(settings):
    settings.PRIVACY_REGIME = Regime.CCPA
    dana = ClientFactory(email="dana.reyes@example.com")

    dsr, _ = export_downloaded_from_account(client=dana, now=AT)

    dsr = DataSubjectRequest.objects.get(pk=dsr.pk)
    assert (dsr.regime, dsr.due_at) == (Regime.CCPA, AT + timedelta(days=45))
