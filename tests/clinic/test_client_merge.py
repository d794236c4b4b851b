"""Merging two records of one person (clinic.identity.merge_clients) and the admin's possible duplicates."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from clinic import identity
from clinic.models import Client
from clinic.roles import FRONT_DESK
from messaging.models import CampaignEmail, SmsMessage
from privacy.models import (
    AuditAction,
    ConsentPurpose,
    ConsentRecord,
    ConsentSource,
    DataSubjectRequest,
    ImmutableRecordError,
    PolicyChangeNotice,
    PolicyVersion,
    PrivacyAuditEvent,
)
from privacy.selectors import has_consent
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, LocationFactory, StaffFactory, bookable_clinic

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2027, 1, 4, 10, 0, tzinfo=LA)


@pytest.fixture
def clinic():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    return location, service, person


@pytest.fixture
def pair(clinic):
    location, service, person = clinic
    older = ClientFactory(
        first_name="Dana",
        last_name="Reyes",
        email="dana@example.com",
        mobile_phone="+14085550143",
        preferred_location=location,
    )
    newer = ClientFactory(
        first_name="Dana",
        last_name="Reyes-Lee",
        email="DANA@example.com",
        mobile_phone="+14085550999",
        preferred_location=location,
    )
    return older, newer


def appointment(clinic, client_record, hours=0):
    location, service, person = clinic
    return AppointmentFactory(
        client=client_record,
        location=location,
        service=service,
        practitioner=person,
        start=START + timedelta(hours=hours),
    )


@pytest.mark.policy("security-identity")
def test_merge_moves_every_row_keeps_the_older_details_and_is_audited(clinic, pair):
    older, newer = pair
    visit = appointment(clinic, newer)
    text = SmsMessage.objects.create(client=newer, to_number="+14085550999", body="hi")
    record_consent(
        client=newer,
        purpose=ConsentPurpose.EMAIL_MARKETING,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
        ip_address="203.0.113.9",
    )
    request = DataSubjectRequest.objects.create(
        request_type="access",
        email="dana@example.com",
        regime="gdpr",
        status="completed",  # an open one refuses the merge (below)
        received_at=timezone.now(),
        due_at=timezone.now(),
    )
    request.clients.set([newer, older])
    policy = PolicyVersion.objects.create(version="2027-01", effective_date=START.date(), body="x")
    PolicyChangeNotice.objects.create(policy=policy, client=older)
    PolicyChangeNotice.objects.create(policy=policy, client=newer)  # the same notice twice: one stays
    staff = StaffFactory(is_superuser=True)

    kept = identity.merge_clients(
        keep_id=older.pk, duplicate_id=newer.pk, staff_user=staff, reason="Same person, checked by phone"
    )

    assert kept.pk == older.pk and not Client.objects.filter(pk=newer.pk).exists()
    visit.refresh_from_db()
    text.refresh_from_db()
    assert visit.client_id == older.pk and text.client_id == older.pk
    moved_consent = ConsentRecord.objects.get(purpose=ConsentPurpose.EMAIL_MARKETING)
    assert moved_consent.client_id == older.pk and moved_consent.ip_address == "203.0.113.9"  # evidence intact
    assert has_consent(client=older, purpose=ConsentPurpose.EMAIL_MARKETING)
    assert list(request.clients.all()) == [older]
    assert PolicyChangeNotice.objects.filter(policy=policy).count() == 1
    # The older record's contact details stay; the duplicate's differing ones are a note for the front desk.
    older.refresh_from_db()
    assert older.email == "dana@example.com" and str(older.mobile_phone) == "+14085550143"
    assert "+14085550999" in older.notes and "Reyes-Lee" in older.notes
    event = PrivacyAuditEvent.objects.get(action=AuditAction.CLIENTS_MERGED)
    assert event.actor == staff and event.client_id == older.pk
    assert (
        f"#{newer.pk}" in event.detail
        and "Same person" in event.detail
        and "appointments.Appointment 1" in event.detail
    )


def test_merge_covers_any_table_pointing_at_a_client_without_naming_it(pair):
    """Rows are found from Client's relations, so a new app's table moves too (here, marketing emails)."""
    from messaging.models import Campaign

    older, newer = pair
    campaign = Campaign.objects.create(name="Spring", channel="email", body="x", send_at=timezone.now())
    CampaignEmail.objects.create(campaign=campaign, client=newer, to_email=newer.email)
    identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, reason="same")
    assert CampaignEmail.objects.get().client_id == older.pk


def test_the_consent_ledger_stays_append_only_outside_the_merge(pair):
    older, newer = pair
    record_consent(
        client=newer,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    with pytest.raises(ImmutableRecordError):
        ConsentRecord.objects.filter(client=newer).update(client=older)


@pytest.mark.parametrize("case", ["itself", "erased_keep", "erased_duplicate", "already_merged", "no_reason"])
def test_merge_refuses_itself_erased_records_chains_and_no_reason(pair, case):
    older, newer = pair
    keep, duplicate, reason = older.pk, newer.pk, "same person"
    if case == "itself":
        duplicate = older.pk
    elif case == "erased_keep":
        Client.objects.filter(pk=older.pk).update(erased_at=timezone.now())
    elif case == "erased_duplicate":
        Client.objects.filter(pk=newer.pk).update(erased_at=timezone.now())
    elif case == "already_merged":
        third = ClientFactory(email="dana@example.com")
        identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, reason="same")
        keep, duplicate = third.pk, newer.pk  # the merged record is gone: nothing to chain through
    elif case == "no_reason":
        reason = "  "
    before = Client.objects.count()
    with pytest.raises(identity.MergeRefused):
        identity.merge_clients(keep_id=keep, duplicate_id=duplicate, reason=reason)
    assert Client.objects.count() == before


def test_possible_duplicates_are_same_email_any_case_or_same_mobile(pair):
    older, newer = pair
    same_phone = ClientFactory(email="other@example.com", mobile_phone=older.mobile_phone)
    ClientFactory(email="stranger@example.com", mobile_phone="+14085550111")
    erased = ClientFactory(email="dana@example.com", erased_at=timezone.now())
    assert set(identity.possible_duplicates(older)) == {newer, same_phone}
    assert erased not in identity.possible_duplicates(newer)


def test_mark_email_verified_stamps_only_records_holding_that_address(pair):
    older, newer = pair
    other = ClientFactory(email="someone@example.com")
    identity.mark_email_verified(client_ids=[older.pk, newer.pk, other.pk], email="Dana@Example.com")
    assert Client.objects.filter(email_verified_at__isnull=False).count() == 2


# --- The admin ----------------------------------------------------------------------


def front_desk(*locations):
    # No locations given: a profile marked "All locations".
    user = StaffFactory(locations=list(locations) or None)
    user.groups.add(Group.objects.get(name=FRONT_DESK))
    return user


def test_client_page_lists_possible_duplicates_and_merges_with_a_confirmation_and_a_reason(client, clinic, pair):
    older, newer = pair
    location = clinic[0]
    client.force_login(front_desk(location))
    page = client.get(reverse("admin:clinic_client_change", args=[older.pk])).content.decode()
    merge_url = reverse("admin:clinic_client_merge", args=[older.pk, newer.pk])
    assert "Possible duplicates" in page and merge_url in page
    confirm = client.get(merge_url)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Client.objects.filter(pk=newer.pk).exists()  # the GET only asks
    refused = client.post(merge_url, {"reason": ""})
    assert refused.status_code == 200 and Client.objects.filter(pk=newer.pk).exists()
    done = client.post(merge_url, {"reason": "Confirmed on the phone"})
    assert done.status_code == 302 and not Client.objects.filter(pk=newer.pk).exists()
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.CLIENTS_MERGED, actor__isnull=False).exists()


@pytest.mark.policy("security-identity")
def test_staff_of_another_location_cannot_see_or_merge_a_client(client, clinic, pair):
    older, newer = pair
    elsewhere = LocationFactory()
    other_client = ClientFactory(email="dana@example.com", preferred_location=elsewhere)
    client.force_login(front_desk(clinic[0]))
    page = client.get(reverse("admin:clinic_client_change", args=[older.pk])).content.decode()
    assert f"#{other_client.pk} " not in page  # not listed as a duplicate
    for keep, dup in ((older.pk, other_client.pk), (other_client.pk, older.pk)):
        response = client.post(reverse("admin:clinic_client_merge", args=[keep, dup]), {"reason": "x"})
        assert response.status_code == 404
    assert Client.objects.filter(pk=other_client.pk).exists()


def test_merging_needs_change_permission_on_clients(client, clinic, pair):
    older, newer = pair
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_client"))
    client.force_login(viewer)
    page = client.get(reverse("admin:clinic_client_change", args=[older.pk])).content.decode()
    assert "Merge into this client" not in page
    response = client.post(reverse("admin:clinic_client_merge", args=[older.pk, newer.pk]), {"reason": "x"})
    assert response.status_code == 403 and Client.objects.filter(pk=newer.pk).exists()


def test_a_corrected_email_or_phone_loses_its_proof(admin_client, pair):
    """A proof is of one address or number: staff correcting it (or any save) leaves the new one unproven."""
    older, _ = pair
    Client.objects.filter(pk=older.pk).update(email_verified_at=timezone.now(), phone_verified_at=timezone.now())
    older = Client.objects.get(pk=older.pk)
    older.first_name = "Danielle"
    older.save()
    older.refresh_from_db()
    assert older.email_verified_at and older.phone_verified_at  # other fields keep the proofs
    older.email = "new@example.com"
    older.save(update_fields=["email"])
    older.refresh_from_db()
    assert older.email_verified_at is None and older.phone_verified_at is not None
    older.mobile_phone = "+14085550111"
    older.save()
    older.refresh_from_db()
    assert older.phone_verified_at is None


@pytest.mark.policy("security-identity")
@pytest.mark.parametrize("status", ["received", "verified", "in_progress"])
@pytest.mark.parametrize("whose", ["kept", "duplicate"])
def test_a_merge_is_refused_while_a_privacy_request_of_either_record_is_open(pair, status, whose):
    """An open request would be widened to the other record's data (an export of a stranger's visits) or lose rows."""
    older, newer = pair
    request = DataSubjectRequest.objects.create(
        request_type="access",
        email="dana@example.com",
        regime="gdpr",
        status=status,
        received_at=timezone.now(),
        due_at=timezone.now(),
    )
    request.clients.set([older if whose == "kept" else newer])

    with pytest.raises(identity.MergeRefused, match=request.reference):
        identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, reason="Same person")

    assert Client.objects.filter(pk=newer.pk).exists()
    assert list(request.clients.all()) == [older if whose == "kept" else newer]


def _choice(client, purpose, granted, at):
    with time_machine.travel(at, tick=False):
        record_consent(
            client=client, purpose=purpose, granted=granted, notice_text="x", source=ConsentSource.BOOKING_FORM
        )


@pytest.mark.policy("security-identity")
def test_a_withdrawal_on_the_kept_record_stands_over_a_later_yes_on_the_duplicate(pair):
    """The ledger's latest row wins, and the duplicate's rows move over: its later "yes" must not undo the kept "no"."""
    older, newer = pair
    now = timezone.now()
    _choice(older, ConsentPurpose.SMS_MARKETING, False, now - timedelta(days=3))
    _choice(newer, ConsentPurpose.SMS_MARKETING, True, now - timedelta(days=1))
    _choice(older, ConsentPurpose.EMAIL_MARKETING, True, now - timedelta(days=3))
    _choice(newer, ConsentPurpose.EMAIL_MARKETING, True, now - timedelta(days=1))
    staff = StaffFactory(is_superuser=True)

    identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, staff_user=staff, reason="Same person")

    assert not has_consent(client=older, purpose=ConsentPurpose.SMS_MARKETING)
    carried = ConsentRecord.objects.get(source=ConsentSource.RECORD_MERGE)
    assert carried.purpose == ConsentPurpose.SMS_MARKETING and not carried.granted
    assert carried.staff_user == staff and f"#{newer.pk}" in carried.evidence
    # A "yes" on both stays a "yes", with no extra row.
    assert has_consent(client=older, purpose=ConsentPurpose.EMAIL_MARKETING)


@pytest.mark.policy("security-identity")
def test_a_later_no_on_the_duplicate_becomes_the_merged_choice(pair):
    older, newer = pair
    now = timezone.now()
    _choice(older, ConsentPurpose.SMS_REMINDERS, True, now - timedelta(days=3))
    _choice(newer, ConsentPurpose.SMS_REMINDERS, False, now - timedelta(days=1))

    identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, reason="Same person")

    assert not has_consent(client=older, purpose=ConsentPurpose.SMS_REMINDERS)
    assert not ConsentRecord.objects.filter(source=ConsentSource.RECORD_MERGE).exists()
