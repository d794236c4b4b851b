"""What staff do to a privacy request is done to the right records and audited as theirs; a closed request's
record of what was asked stays as it was."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from clinic.models import Client
from privacy.requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, RequestStatus, RequestType
from privacy.subject_requests import (
    RequestRefused,
    expire_unverified_requests,
    refuse_request,
    set_restriction,
    submit_request,
    update_request_details,
    verify_by_staff,
)
from tests.support.builders import ClientFactory, StaffFactory

pytestmark = pytest.mark.django_db
EMAIL = "dana.reyes@example.com"


def test_staff_verifying_a_request_matches_every_record_with_its_address_and_the_audit_names_them():
    dana = ClientFactory(email=EMAIL, mobile_phone="+14085550143")
    later_booking = ClientFactory(email=EMAIL, mobile_phone="+14085550199")
    ClientFactory(email="someone.else@example.com")
    staff = StaffFactory()
    dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL)

    verify_by_staff(request_id=dsr.pk, staff_user=staff)

    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.VERIFIED
    assert set(dsr.clients.all()) == {dana, later_booking}
    row = PrivacyAuditEvent.objects.get(request=dsr, action=AuditAction.REQUEST_VERIFIED)
    assert (row.actor, row.actor_label) == (staff, "")
    assert row.detail == "Identity checked by staff. Matched 2 client record(s)"


def test_a_restriction_and_its_lifting_are_audited_for_each_record_with_the_request_and_who_acted():
    dana = ClientFactory(email=EMAIL, mobile_phone="+14085550143")
    later_booking = ClientFactory(email=EMAIL, mobile_phone="+14085550199")
    staff = StaffFactory()
    dsr = submit_request(request_type=RequestType.RESTRICTION, email=EMAIL)
    verify_by_staff(request_id=dsr.pk, staff_user=staff)  # a restriction takes effect at verification

    assert set(Client.objects.filter(processing_restricted=True)) == {dana, later_booking}
    restricted = PrivacyAuditEvent.objects.filter(action=AuditAction.PROCESSING_RESTRICTED)
    assert {(r.client_id, r.request_id, r.actor_id, r.actor_label) for r in restricted} == {
        (dana.pk, dsr.pk, None, "requester"),
        (later_booking.pk, dsr.pk, None, "requester"),
    }

    set_restriction(clients=[dana, later_booking], restricted=False, request=dsr, staff_user=staff)

    assert not Client.objects.filter(processing_restricted=True).exists()
    lifted = PrivacyAuditEvent.objects.filter(action=AuditAction.RESTRICTION_LIFTED)
    assert {(r.client_id, r.request_id, r.actor_id, r.actor_label) for r in lifted} == {
        (dana.pk, dsr.pk, staff.pk, ""),
        (later_booking.pk, dsr.pk, staff.pk, ""),
    }
    assert restricted.count() == 2  # lifting is not recorded as another restriction


@pytest.mark.parametrize("close", ["refused", "expired"])
def test_a_closed_request_keeps_the_type_and_address_it_was_made_with_and_sends_no_new_link(
    close, settings, django_capture_on_commit_callbacks
):
    """The register records what was asked: a refused or expired request, never confirmed, is not re-aimed."""
    with django_capture_on_commit_callbacks(execute=True):
        dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL)
    if close == "refused":
        refuse_request(request_id=dsr.pk, basis="Manifestly unfounded.")
    else:
        dsr.refresh_from_db()
        unused_for = timedelta(hours=settings.PRIVACY_VERIFICATION_HOURS, minutes=1)
        assert expire_unverified_requests(now=dsr.acknowledged_at + unused_for) == 1
    mail.outbox.clear()

    for changes in ({"email": "someone.else@example.com"}, {"request_type": RequestType.ERASURE}):
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RequestRefused):
            update_request_details(request_id=dsr.pk, changes=changes)

    dsr.refresh_from_db()
    assert (dsr.email, dsr.request_type) == (EMAIL, RequestType.ACCESS)
    assert mail.outbox == []
    assert DataSubjectRequest.objects.get().status == close


def test_while_the_code_is_awaited_the_address_the_link_proved_cannot_be_changed(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    ClientFactory(email=EMAIL, mobile_phone="+14085550143")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("privacy:request_form"), {"request_type": RequestType.ERASURE, "email": EMAIL})
    link = re.search(r"http://testserver(/privacy/requests/verify/\S+)", mail.outbox[0].body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link)
    dsr = DataSubjectRequest.objects.get()
    assert dsr.email_confirmed_at is not None and dsr.verified_at is None and len(sms_outbox) == 1

    with pytest.raises(RequestRefused, match="can no longer be changed"):
        update_request_details(request_id=dsr.pk, changes={"email": "someone.else@example.com"})

    dsr.refresh_from_db()
    assert dsr.email == EMAIL


def test_a_staff_correction_of_a_request_is_audited_with_who_and_which_details():
    staff = StaffFactory()
    dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL)

    update_request_details(
        request_id=dsr.pk, changes={"details": "Paper records too.", "phone": "+14085550143"}, staff_user=staff
    )

    row = PrivacyAuditEvent.objects.get(request=dsr, action=AuditAction.REQUEST_UPDATED)
    assert (row.actor, row.detail) == (staff, "details, phone")


def test_a_refusal_records_when_it_was_made_and_its_basis():
    staff = StaffFactory()
    dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL)
    at = dsr.received_at + timedelta(days=3)

    refuse_request(request_id=dsr.pk, basis="  Manifestly unfounded.  ", staff_user=staff, now=at)

    dsr.refresh_from_db()
    assert (dsr.status, dsr.completed_at, dsr.refusal_basis) == (RequestStatus.REFUSED, at, "Manifestly unfounded.")
    row = PrivacyAuditEvent.objects.get(request=dsr, action=AuditAction.REQUEST_REFUSED)
    assert row.actor == staff


def test_a_request_sent_to_staff_for_an_identity_check_says_why_in_its_history(
    client, django_capture_on_commit_callbacks
):
    ClientFactory(email=EMAIL, mobile_phone="")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("privacy:request_form"), {"request_type": RequestType.ERASURE, "email": EMAIL})
    link = re.search(r"http://testserver(/privacy/requests/verify/\S+)", mail.outbox[0].body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link)

    dsr = DataSubjectRequest.objects.get()
    assert dsr.identity_check_needed and dsr.verified_at is None
    row = PrivacyAuditEvent.objects.get(action=AuditAction.IDENTITY_CHECK_NEEDED)
    assert (row.request_id, row.actor_label) == (dsr.pk, "system")
    assert row.detail == dsr.identity_check_reason
    assert row.detail == "No mobile phone on file: confirm the requester's identity another way."
