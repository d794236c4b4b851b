"""An objection, a withdrawal of consent, an opt-out of sale and a restriction take effect the moment the request
is verified, on every record holding the proven address, and the register says what was done and when."""

from datetime import UTC, datetime

import pytest

from clinic.models import Client
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from privacy.requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, RequestStatus, RequestType
from privacy.services import record_consent
from privacy.subject_requests import submit_request, verify_by_staff
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db
EMAIL = "dana.reyes@example.com"
RECEIVED, VERIFIED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
EVERY_PURPOSE = (
    ConsentPurpose.SMS_REMINDERS,
    ConsentPurpose.SMS_WAITLIST,
    ConsentPurpose.SMS_MARKETING,
    ConsentPurpose.EMAIL_MARKETING,
    ConsentPurpose.SALE_SHARING,
)


def granted_now(client):
    latest = {}
    for row in ConsentRecord.objects.filter(client=client).order_by("id"):
        latest[row.purpose] = row.granted
    return {purpose for purpose, granted in latest.items() if granted}


@pytest.mark.parametrize(
    ("request_type", "still_granted", "restricted", "outcome"),
    [
        (
            RequestType.OBJECTION,
            {ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_WAITLIST, ConsentPurpose.SALE_SHARING},
            False,
            "Direct marketing stopped: marketing consents withdrawn.",
        ),
        (RequestType.WITHDRAW_CONSENT, set(), False, "All consents withdrawn."),
        (
            RequestType.OPT_OUT_SALE,
            set(EVERY_PURPOSE) - {ConsentPurpose.SALE_SHARING},
            False,
            "Opted out of sale and sharing.",
        ),
        (
            RequestType.RESTRICTION,
            set(EVERY_PURPOSE),
            True,
            "Processing restricted: stored only; no reminders or marketing until lifted.",
        ),
    ],
)
def test_at_verification_the_request_takes_effect_on_every_record_with_the_address_and_is_completed_then(
    request_type, still_granted, restricted, outcome
):
    dsr = submit_request(request_type=request_type, email=EMAIL, now=RECEIVED)
    # A record holding the address made between the request and its verification is the person's too.
    dana = ClientFactory(email=EMAIL, mobile_phone="+14085550143")
    for purpose in EVERY_PURPOSE:
        record_consent(client=dana, purpose=purpose, granted=True, notice_text="x", source=ConsentSource.BOOKING_FORM)

    verify_by_staff(request_id=dsr.pk, staff_user=None, now=VERIFIED)

    dsr = DataSubjectRequest.objects.get(pk=dsr.pk)
    assert (dsr.status, dsr.completed_at, dsr.outcome) == (RequestStatus.COMPLETED, VERIFIED, outcome)
    assert granted_now(dana) == still_granted
    assert Client.objects.get(pk=dana.pk).processing_restricted is restricted
    if not restricted:
        withdrawn = PrivacyAuditEvent.objects.get(action=AuditAction.CONSENT_WITHDRAWN, client_id=dana.pk)
        assert withdrawn.request_id == dsr.pk
        assert set(withdrawn.detail.split(", ")) == set(EVERY_PURPOSE) - still_granted
        # Each withdrawal in the ledger names the request that made it.
        evidence = ConsentRecord.objects.filter(client=dana, granted=False).values_list("evidence", flat=True)
        assert set(evidence) == {dsr.reference}
