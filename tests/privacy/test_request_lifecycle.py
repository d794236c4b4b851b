"""A privacy request's lifecycle: one transition function checks the state, audits and emails only after commit;
staff actions a rule refuses show the rule's message on the form, never a 500."""

import re
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from privacy.requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, RequestStatus, RequestType
from privacy.subject_requests import (
    RequestRefused,
    complete_request,
    expire_unverified_requests,
    extend_deadline,
    refuse_request,
    send_download_code,
    send_export_link,
    submit_request,
    verify_by_staff,
)
from tests.support.environment import requires_postgres

pytestmark = pytest.mark.django_db
EMAIL = "dana.reyes@example.com"


@pytest.fixture
def access_request():
    return submit_request(request_type=RequestType.ACCESS, email=EMAIL)


def test_extending_a_deadline_twice_in_the_admin_shows_the_rule_on_the_form(admin_client, access_request):
    url = reverse("admin:privacy_request_extend", args=[access_request.pk])
    first = admin_client.post(url, {"reason": "Records are on paper at the other location."})
    assert first.status_code == 302
    mail.outbox.clear()

    again = admin_client.post(url, {"reason": "Still looking."})

    assert again.status_code == 200
    assert "This request has already been extended once." in again.content.decode()
    assert not mail.outbox
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.REQUEST_EXTENDED).count() == 1
    access_request.refresh_from_db()
    assert access_request.extension_reason == "Records are on paper at the other location."


# --- One transition function: it checks the state, audits, and emails after commit -------------


def request_in(status):
    dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL)
    verified_at = None if status in (RequestStatus.RECEIVED, RequestStatus.EXPIRED) else dsr.received_at
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=status, verified_at=verified_at)
    return DataSubjectRequest.objects.get(pk=dsr.pk)


def complete(dsr):
    return complete_request(request_id=dsr.pk, outcome="Sent on paper.")


def refuse(dsr):
    return refuse_request(request_id=dsr.pk, basis="Manifestly unfounded (repeated request).")


@pytest.mark.parametrize(
    "status, act, message",
    [
        (RequestStatus.RECEIVED, complete, "is not verified yet: it cannot be completed"),
        (RequestStatus.COMPLETED, complete, "is already completed: it cannot be completed"),
        (RequestStatus.COMPLETED, refuse, "is already completed: it cannot be refused"),
        (RequestStatus.REFUSED, complete, "is already refused: it cannot be completed"),
        (RequestStatus.REFUSED, refuse, "is already refused: it cannot be refused"),
        (RequestStatus.EXPIRED, complete, "is expired (it was never verified): it cannot be completed"),
        (RequestStatus.EXPIRED, refuse, "is expired (it was never verified): it cannot be refused"),
    ],
)
def test_a_request_cannot_be_completed_or_refused_from_a_state_that_does_not_allow_it(
    status, act, message, django_capture_on_commit_callbacks
):
    dsr = request_in(status)
    events_before = PrivacyAuditEvent.objects.filter(request=dsr).count()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RequestRefused, match=re.escape(message)):
        act(dsr)

    after = DataSubjectRequest.objects.get(pk=dsr.pk)
    assert after.status == status and after.outcome == dsr.outcome and after.refusal_basis == dsr.refusal_basis
    assert PrivacyAuditEvent.objects.filter(request=dsr).count() == events_before
    assert not mail.outbox


@pytest.mark.parametrize("status", [RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS])
def test_an_open_request_is_completed_or_refused_with_its_audit_row(status, django_capture_on_commit_callbacks):
    completed, refused = request_in(status), request_in(status)
    with django_capture_on_commit_callbacks(execute=True):
        complete(completed)
        refuse(refused)

    assert DataSubjectRequest.objects.get(pk=completed.pk).status == RequestStatus.COMPLETED
    assert DataSubjectRequest.objects.get(pk=refused.pk).status == RequestStatus.REFUSED
    assert PrivacyAuditEvent.objects.filter(request=completed, action=AuditAction.REQUEST_COMPLETED).count() == 1
    assert PrivacyAuditEvent.objects.filter(request=refused, action=AuditAction.REQUEST_REFUSED).count() == 1
    assert [m.to for m in mail.outbox if refused.reference in m.subject] == [[EMAIL]]


def test_refusing_a_completed_request_in_the_admin_shows_why_on_the_form(admin_client):
    dsr = request_in(RequestStatus.COMPLETED)
    mail.outbox.clear()

    response = admin_client.post(reverse("admin:privacy_request_refuse", args=[dsr.pk]), {"reason": "Unfounded."})

    assert response.status_code == 200
    assert f"Request {dsr.reference} is already completed: it cannot be refused." in response.content.decode()
    assert DataSubjectRequest.objects.get(pk=dsr.pk).status == RequestStatus.COMPLETED and not mail.outbox


def test_a_closed_requests_deadline_cannot_be_extended():
    dsr = request_in(RequestStatus.REFUSED)
    with pytest.raises(RequestRefused, match="already refused: its deadline cannot be extended"):
        extend_deadline(request_id=dsr.pk, reason="More time")
    assert DataSubjectRequest.objects.get(pk=dsr.pk).extended_due_at is None


def test_staff_cannot_mark_verified_a_request_that_is_no_longer_waiting():
    dsr = request_in(RequestStatus.EXPIRED)
    with pytest.raises(RequestRefused, match="expired"):
        verify_by_staff(request_id=dsr.pk, staff_user=None)
    assert DataSubjectRequest.objects.get(pk=dsr.pk).status == RequestStatus.EXPIRED


@pytest.mark.parametrize("act", [refuse, lambda dsr: send_export_link(request_id=dsr.pk)])
def test_no_email_leaves_when_the_transaction_rolls_back(act, django_capture_on_commit_callbacks):
    dsr = request_in(RequestStatus.VERIFIED)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            act(dsr)
            raise RuntimeError("a later step of the same transaction failed")

    assert not mail.outbox
    assert DataSubjectRequest.objects.get(pk=dsr.pk).status == RequestStatus.VERIFIED


def test_the_refusal_email_leaves_once_the_refusal_is_committed(django_capture_on_commit_callbacks):
    dsr = request_in(RequestStatus.VERIFIED)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        refuse(dsr)
        assert not mail.outbox  # not while the refusal could still roll back

    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [[EMAIL]] and "Manifestly unfounded" in mail.outbox[0].body


def test_expiry_of_an_unverified_request_is_audited():
    dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL)
    sent = dsr.received_at
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(acknowledged_at=sent)

    assert expire_unverified_requests(now=sent + timedelta(hours=73)) == 1

    dsr.refresh_from_db()
    (event,) = PrivacyAuditEvent.objects.filter(request=dsr, action=AuditAction.REQUEST_EXPIRED)
    assert dsr.status == RequestStatus.EXPIRED and dsr.verification_nonce == ""
    assert event.actor_label == "system" and "72 hours" in event.detail
    assert expire_unverified_requests(now=sent + timedelta(hours=200)) == 0  # once


def test_a_download_code_by_email_leaves_only_once_its_code_is_committed(django_capture_on_commit_callbacks):
    """No phone on file: the fresh code for another browser is emailed, and only a code that was saved."""
    dsr = request_in(RequestStatus.IN_PROGRESS)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(export_nonce="live-link")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            assert send_download_code(request_id=dsr.pk) == "email"
            raise RuntimeError("rolled back")
    assert not mail.outbox

    with django_capture_on_commit_callbacks(execute=True):
        assert send_download_code(request_id=dsr.pk) == "email"
    (message,) = mail.outbox
    assert message.to == [EMAIL] and re.search(r"\b\d{6}\b", message.body)


@pytest.mark.policy("rights-how")
def test_a_verification_link_sent_to_one_address_cannot_verify_the_address_staff_correct_it_to(
    client, admin_client, django_capture_on_commit_callbacks
):
    from clinic.models import Client
    from tests.support.builders import ClientFactory

    dana = ClientFactory(email=EMAIL, mobile_phone="+14085550143")
    with django_capture_on_commit_callbacks(execute=True):
        dsr = submit_request(request_type=RequestType.WITHDRAW_CONSENT, email="someone.else@example.com")
    old_link = re.search(r"http://testserver(/privacy/requests/verify/\S+)", mail.outbox[-1].body).group(1)

    # Staff "correct" the address before it was confirmed: the link in the first inbox must not vouch for it.
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:privacy_datasubjectrequest_change", args=[dsr.pk]),
            {
                "request_type": dsr.request_type,
                "email": EMAIL,
                "phone": "",
                "details": "",
                "channel": dsr.channel,
                "legal_hold_reason": "",
            },
        )
    assert response.status_code == 302
    assert mail.outbox[-1].to == [EMAIL]  # a fresh link goes to the address now on the request

    client.post(old_link)

    dsr.refresh_from_db()
    dana.refresh_from_db()
    assert dsr.status == RequestStatus.RECEIVED and dsr.email_confirmed_at is None
    assert dana.email_verified_at is None
    assert not Client.objects.filter(pk=dana.pk, email_verified_at__isnull=False).exists()
    assert PrivacyAuditEvent.objects.filter(request=dsr, action=AuditAction.REQUEST_UPDATED).exists()


def test_once_the_link_was_used_the_address_it_proved_cannot_be_changed_and_no_edit_moves_the_status():
    from privacy.subject_requests import update_request_details

    dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL)
    verify_by_staff(request_id=dsr.pk, staff_user=None)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(email_confirmed_at=dsr.received_at)

    with pytest.raises(RequestRefused, match="can no longer be changed"):
        update_request_details(request_id=dsr.pk, changes={"email": "someone.else@example.com"})
    update_request_details(request_id=dsr.pk, changes={"details": "Paper records too."})

    dsr.refresh_from_db()
    assert dsr.email == EMAIL and dsr.details == "Paper records too." and dsr.status == RequestStatus.VERIFIED


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_expiry_sweep_racing_a_code_being_confirmed_does_not_flag_the_verified_request_for_staff():
    now = timezone.now()
    dsr = submit_request(request_type=RequestType.ERASURE, email=EMAIL)
    confirmed = now - timedelta(hours=settings.PRIVACY_VERIFICATION_HOURS + 1)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(email_confirmed_at=confirmed, acknowledged_at=confirmed)
    locked = threading.Event()

    def requester_enters_the_right_code():  # confirm_sms_code, committing a moment later
        with transaction.atomic():
            DataSubjectRequest.objects.select_for_update().get(pk=dsr.pk)
            DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=RequestStatus.VERIFIED, verified_at=now)
            locked.set()
            time.sleep(0.5)
        connection.close()

    requester = threading.Thread(target=requester_enters_the_right_code)
    requester.start()
    locked.wait()
    expire_unverified_requests(now=now)
    requester.join()

    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.VERIFIED and not dsr.identity_check_needed
    assert not PrivacyAuditEvent.objects.filter(request=dsr, action=AuditAction.IDENTITY_CHECK_NEEDED).exists()


@pytest.mark.policy("erasure-legal-hold")
@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_legal_hold_placed_while_the_erasure_starts_keeps_the_data(dana):
    from privacy.erasure import ErasureRefused, fulfil_erasure_request

    dsr = submit_request(request_type=RequestType.ERASURE, email=EMAIL)
    verify_by_staff(request_id=dsr.pk, staff_user=None)
    locked = threading.Event()

    def officer_places_a_hold():  # the admin form's save, committing a moment later
        with transaction.atomic():
            DataSubjectRequest.objects.select_for_update().get(pk=dsr.pk)
            DataSubjectRequest.objects.filter(pk=dsr.pk).update(legal_hold=True, legal_hold_reason="Subpoena")
            locked.set()
            time.sleep(0.5)
        connection.close()

    officer = threading.Thread(target=officer_places_a_hold)
    officer.start()
    locked.wait()
    with pytest.raises(ErasureRefused):
        fulfil_erasure_request(request_id=dsr.pk)
    officer.join()

    dana.refresh_from_db()
    dsr.refresh_from_db()
    assert dana.erased_at is None and dana.last_name == "Reyesworth"
    assert dsr.status == RequestStatus.REFUSED and "Subpoena" in dsr.refusal_basis


def test_no_erasure_email_leaves_when_the_erasure_rolls_back(dana, django_capture_on_commit_callbacks):
    from privacy.erasure import fulfil_erasure_request

    dsr = submit_request(request_type=RequestType.ERASURE, email=EMAIL)
    verify_by_staff(request_id=dsr.pk, staff_user=None)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            fulfil_erasure_request(request_id=dsr.pk)
            raise RuntimeError("the caller's transaction fails after the erasure")

    assert not [m for m in mail.outbox if "deleted" in m.subject]
    dana.refresh_from_db()
    assert dana.erased_at is None


def test_a_verified_deletion_request_gets_no_export_link_and_stays_due_for_erasure():
    dsr = submit_request(request_type=RequestType.ERASURE, email=EMAIL)
    verify_by_staff(request_id=dsr.pk, staff_user=None)
    mail.outbox.clear()

    with pytest.raises(RequestRefused, match="gets no data export"):
        send_export_link(request_id=dsr.pk)

    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.VERIFIED and not dsr.export_nonce and not mail.outbox
