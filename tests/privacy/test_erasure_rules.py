"""Erasure, rule by rule: who is erased, what is audited, which tombstones are left and read back.

These pin the survivors of `make mutation MUTANTS='privacy.erasure*'` (docs/mutation.md).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.hashing import contact_hash
from clinic.models import Client
from privacy import erasure, registry
from privacy.erasure import (
    IN_PROGRESS_MARGIN,
    BadTombstone,
    ErasureRefused,
    due_erasures,
    erase_clients,
    export_tombstones,
    fulfil_erasure_request,
    process_due_erasures,
    reapply_erasures,
)
from privacy.requests_models import (
    AuditAction,
    DataSubjectRequest,
    ErasureTombstone,
    PrivacyAuditEvent,
    RequestStatus,
    RequestType,
)
from privacy.subject_requests import submit_request
from tests.support.builders import ClientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.policy("rights-erasure")]


def verified(request_type, client):
    dsr = submit_request(request_type=request_type, email=client.email)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=RequestStatus.VERIFIED, verified_at=timezone.now())
    dsr.clients.set([client])
    return DataSubjectRequest.objects.get(pk=dsr.pk)


def test_a_staff_erasure_is_audited_with_its_request_client_and_staff_member(admin_user):
    person = ClientFactory(email="quinn@example.com")
    dsr = verified(RequestType.ERASURE, person)

    fulfil_erasure_request(request_id=dsr.pk, staff_user=admin_user)
    event = PrivacyAuditEvent.objects.get(action=AuditAction.DATA_ERASED)
    assert (event.request_id, event.client_id, event.actor_id, event.actor_label) == (
        dsr.pk,
        person.pk,
        admin_user.pk,
        "",
    )
    assert event.detail.startswith("messaging: ")  # the counts per app, no reason given
    assert "clinic: 1" in event.detail


def test_a_scheduled_erasure_is_audited_as_the_system_for_its_request():
    person = ClientFactory(email="quinn@example.com")
    dsr = verified(RequestType.ERASURE, person)

    assert process_due_erasures() == 1
    event = PrivacyAuditEvent.objects.get(action=AuditAction.DATA_ERASED)
    assert (event.request_id, event.client_id, event.actor_id, event.actor_label) == (dsr.pk, person.pk, None, "system")


def test_the_reason_given_leads_the_audited_detail():
    person = ClientFactory()
    erase_clients(client_ids=[person.pk], reason="Court order 26-77")
    detail = PrivacyAuditEvent.objects.get(action=AuditAction.DATA_ERASED).detail
    assert detail.startswith("Court order 26-77 messaging: ") and "clinic: 1" in detail
    assert "XX" not in detail


def test_only_a_verified_deletion_request_is_fulfilled_as_an_erasure():
    person = ClientFactory(email="quinn@example.com")
    access = verified(RequestType.ACCESS, person)
    with pytest.raises(ErasureRefused):
        fulfil_erasure_request(request_id=access.pk)
    unverified = submit_request(request_type=RequestType.ERASURE, email=person.email)
    unverified.clients.set([person])
    with pytest.raises(ErasureRefused):
        fulfil_erasure_request(request_id=unverified.pk)
    assert Client.objects.get(pk=person.pk).erased_at is None


def test_tombstones_are_left_only_for_the_clients_erased_now():
    erased = ClientFactory(email="gone@example.com", mobile_phone="+14085550111")
    ClientFactory(email="stays@example.com", mobile_phone="+14085550122")

    erase_clients(client_ids=[erased.pk])
    assert set(ErasureTombstone.objects.values_list("kind", "contact_hash")) == {
        ("email", contact_hash("gone@example.com")),
        ("phone", contact_hash("+14085550111")),
    }
    erase_clients(client_ids=[erased.pk])  # already erased: nothing left to tombstone
    assert ErasureTombstone.objects.count() == 2


def test_erasing_a_family_that_shares_a_number_in_one_go_leaves_one_tombstone_for_it():
    parent = ClientFactory(email="parent@example.com", mobile_phone="+14085550133")
    child = ClientFactory(email="child@example.com", mobile_phone="+14085550133")

    erase_clients(client_ids=[parent.pk, child.pk])
    assert Client.objects.filter(pk__in=[parent.pk, child.pk], erased_at__isnull=False).count() == 2
    assert ErasureTombstone.objects.filter(kind="phone").count() == 1


def test_re_applying_twice_after_a_restore_keeps_the_tombstones():
    person = ClientFactory(email="quinn@example.com", mobile_phone="+14085550144")
    erase_clients(client_ids=[person.pk])
    lines = export_tombstones()
    ErasureTombstone.objects.all().delete()  # the restored backup predates them

    reapply_erasures(lines=lines)
    reapply_erasures(lines=lines)
    assert ErasureTombstone.objects.count() == 2


def test_after_a_restore_the_latest_erasure_of_a_contact_counts_whatever_the_line_order():
    """A record made between two erasures of the same address is erased again by the later one."""
    now = timezone.now()
    value = contact_hash("quinn@example.com")
    earlier = f"email {value} {(now - timedelta(days=10)).isoformat()}"
    later = f"email {value} {(now + timedelta(days=1)).isoformat()}"
    came_back_between = ClientFactory(email="quinn@example.com")

    assert reapply_erasures(lines=[later, earlier]) == [came_back_between.pk]


@pytest.mark.parametrize(
    "line",
    [
        "fax {hash} 2026-11-30T10:00:00+00:00",  # not a kind of contact
        "email {short} 2026-11-30T10:00:00+00:00",  # not a whole hash
        "email {hash} 2026-11-30T10:00:00",  # no zone: which instant?
    ],
)
def test_a_malformed_tombstone_line_is_refused(line):
    value = contact_hash("quinn@example.com")
    with pytest.raises(BadTombstone):
        reapply_erasures(lines=[line.format(hash=value, short=value[:63])])


def in_progress(client, **fields):
    dsr = verified(RequestType.ERASURE, client)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=RequestStatus.IN_PROGRESS, **fields)
    return DataSubjectRequest.objects.get(pk=dsr.pk)


def test_a_deletion_left_in_progress_is_due_from_the_last_daily_run_before_its_deadline_not_earlier():
    dsr = in_progress(ClientFactory(email="quinn@example.com"))
    last_run = dsr.due_at - IN_PROGRESS_MARGIN
    assert due_erasures(now=last_run - timedelta(seconds=1)) == []
    assert due_erasures(now=last_run) == [dsr.pk]
    assert due_erasures(now=dsr.due_at + timedelta(days=3)) == [dsr.pk]  # late runs still complete it


def test_a_deletion_left_in_progress_with_an_extension_is_completed_before_the_extended_deadline():
    """Staff extended the deadline (allowed, with notice): the job waits for the extended one, then meets it."""
    person = ClientFactory(email="quinn@example.com")
    dsr = in_progress(person, extended_due_at=timezone.now() + timedelta(days=44))
    assert process_due_erasures(now=dsr.due_at) == 0
    assert process_due_erasures(now=dsr.extended_due_at - IN_PROGRESS_MARGIN) == 1
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.COMPLETED and Client.objects.get(pk=person.pk).erased_at is not None


def test_the_job_leaves_a_deletion_under_legal_hold_open_for_staff_to_refuse():
    held = in_progress(ClientFactory(email="quinn@example.com"), legal_hold=True, legal_hold_reason="Pending lawsuit")
    assert due_erasures(now=held.due_at + timedelta(days=1)) == []
    assert process_due_erasures(now=held.due_at + timedelta(days=1)) == 0
    held.refresh_from_db()
    assert held.status == RequestStatus.IN_PROGRESS


def test_the_job_completes_every_due_deletion_oldest_deadline_first_and_no_other_kind_of_request():
    first = verified(RequestType.ERASURE, ClientFactory(email="first@example.com"))
    second = in_progress(ClientFactory(email="second@example.com"))
    DataSubjectRequest.objects.filter(pk=first.pk).update(due_at=second.due_at + timedelta(days=1))
    access = verified(RequestType.ACCESS, ClientFactory(email="access@example.com"))
    assert due_erasures(now=second.due_at) == [second.pk, first.pk]
    assert process_due_erasures(now=second.due_at) == 2
    access.refresh_from_db()
    assert access.status == RequestStatus.VERIFIED


def test_the_requester_is_told_which_request_is_done_by_which_clinic_and_what_the_law_keeps(
    monkeypatch, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.CLINIC_NAME = "Lumen Aesthetics"
    monkeypatch.setitem(registry._legal_holds, "tests", lambda ids: "Your treatment records are kept for 7 years.")
    person = ClientFactory(email="quinn@example.com")
    dsr = verified(RequestType.ERASURE, person)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        fulfil_erasure_request(request_id=dsr.pk)
    (told,) = mailoutbox
    assert told.to == ["quinn@example.com"] and dsr.reference in told.subject
    assert f"Your privacy request {dsr.reference} is complete" in told.body
    assert "Your treatment records are kept for 7 years." in told.body
    assert told.body.rstrip().endswith("Lumen Aesthetics")


def test_a_hold_placed_after_the_job_picked_its_list_stops_that_erasure_only(monkeypatch):
    """Staff place a legal hold on one due request while the daily run is under way: the others are still done."""
    held = verified(RequestType.ERASURE, ClientFactory(email="held@example.com"))
    due = verified(RequestType.ERASURE, ClientFactory(email="due@example.com"))
    DataSubjectRequest.objects.filter(pk=due.pk).update(due_at=held.due_at + timedelta(days=1))
    picked = erasure.due_erasures

    def hold_placed_after_the_pick(*, now=None):
        ids = picked(now=now)
        DataSubjectRequest.objects.filter(pk=held.pk).update(legal_hold=True, legal_hold_reason="Pending lawsuit")
        return ids

    monkeypatch.setattr(erasure, "due_erasures", hold_placed_after_the_pick)
    assert process_due_erasures() == 1
    held.refresh_from_db()
    due.refresh_from_db()
    assert held.status == RequestStatus.REFUSED and due.status == RequestStatus.COMPLETED


def test_one_failed_erasure_does_not_hold_up_the_others_and_is_logged_by_its_request(monkeypatch, caplog):
    """The failed one stays open (the digest flags it) and the log names it; the rest are completed."""
    failing = verified(RequestType.ERASURE, ClientFactory(email="failing@example.com"))
    due = verified(RequestType.ERASURE, ClientFactory(email="due@example.com"))
    DataSubjectRequest.objects.filter(pk=due.pk).update(due_at=failing.due_at + timedelta(days=1))
    fulfil = erasure.fulfil_erasure_request

    def the_first_fails(*, request_id, staff_user=None):
        if request_id == failing.pk:
            raise ConnectionError("database went away")
        return fulfil(request_id=request_id, staff_user=staff_user)

    monkeypatch.setattr(erasure, "fulfil_erasure_request", the_first_fails)
    assert process_due_erasures() == 1
    failing.refresh_from_db()
    due.refresh_from_db()
    assert failing.status == RequestStatus.VERIFIED and due.status == RequestStatus.COMPLETED
    assert f"privacy request {failing.pk} failed" in caplog.text


def test_a_staff_member_who_completes_or_refuses_a_deletion_is_named_in_its_audit_rows(admin_user, monkeypatch):
    """Completed: by the staff member, with each thing the law keeps in the outcome; refused (hold): by them too."""
    monkeypatch.setitem(registry._legal_holds, "tests", lambda ids: "Treatment records are kept for 7 years.")
    monkeypatch.setitem(registry._legal_holds, "tests-payments", lambda ids: "Payment records are kept for 5 years.")
    done = verified(RequestType.ERASURE, ClientFactory(email="done@example.com"))
    fulfil_erasure_request(request_id=done.pk, staff_user=admin_user)
    completed = PrivacyAuditEvent.objects.get(action=AuditAction.REQUEST_COMPLETED, request=done)
    assert (completed.actor_id, completed.actor_label) == (admin_user.pk, "")
    done.refresh_from_db()
    assert done.outcome.endswith(
        "hashed suppression entries kept. Treatment records are kept for 7 years. Payment records are kept for 5 years."
    )

    held = in_progress(ClientFactory(email="held@example.com"), legal_hold=True, legal_hold_reason="Pending lawsuit")
    with pytest.raises(ErasureRefused):
        fulfil_erasure_request(request_id=held.pk, staff_user=admin_user)
    refused = PrivacyAuditEvent.objects.get(action=AuditAction.REQUEST_REFUSED, request=held)
    assert refused.actor_id == admin_user.pk and refused.detail == "Legal hold: Pending lawsuit"
