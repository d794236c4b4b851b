"""A merge keeps every protective choice of either record, and a proof only for the same detail.

Restriction of processing is a privacy right: merging a restricted record into an unrestricted one
must not lift it. A proof of control (a link to the email, a code to the phone) is of one address or
number: the kept record inherits it only when it holds that same one.
"""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from clinic import identity
from clinic.models import Client
from privacy.models import PolicyChangeNotice, PolicyVersion
from privacy.requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent
from tests.support.builders import ClientFactory, LocationFactory

pytestmark = pytest.mark.django_db


def records(*, keep=None, duplicate=None):
    keep_fields = {
        "first_name": "Dana",
        "last_name": "Reyes",
        "email": "dana@example.com",
        "mobile_phone": "+14085550143",
    }
    duplicate_fields = dict(keep_fields)
    keep_fields.update(keep or {})
    duplicate_fields.update(duplicate or {})
    older = ClientFactory(**keep_fields)
    newer = ClientFactory(**duplicate_fields)
    return older, newer


def merged(older, newer):
    identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, reason="Same person, checked by phone")
    return Client.objects.get(pk=older.pk)


def test_a_restriction_on_either_record_stays_on_the_merged_one():
    older, newer = records(duplicate={"processing_restricted": True})
    assert merged(older, newer).processing_restricted
    older, newer = records(keep={"processing_restricted": True})
    assert merged(older, newer).processing_restricted
    older, newer = records()  # neither: a merge does not restrict what the person never asked to restrict
    assert not merged(older, newer).processing_restricted


def test_the_latest_adult_attestation_of_the_two_is_kept():
    earlier, later = timezone.now() - timedelta(days=300), timezone.now() - timedelta(days=3)
    older, newer = records(keep={"adult_attested_at": earlier}, duplicate={"adult_attested_at": later})
    assert merged(older, newer).adult_attested_at == later
    older, newer = records(keep={"adult_attested_at": later}, duplicate={"adult_attested_at": earlier})
    assert merged(older, newer).adult_attested_at == later
    older, newer = records(duplicate={"adult_attested_at": later})
    assert merged(older, newer).adult_attested_at == later


def test_the_duplicates_location_fills_only_an_empty_one():
    here, there = LocationFactory(), LocationFactory()
    older, newer = records(duplicate={"preferred_location": there})
    assert merged(older, newer).preferred_location_id == there.pk
    older, newer = records(keep={"preferred_location": here}, duplicate={"preferred_location": there})
    assert merged(older, newer).preferred_location_id == here.pk


def test_a_proof_carries_over_only_for_the_same_email_or_phone():
    proven = timezone.now() - timedelta(days=2)
    older, newer = records(duplicate={"email_verified_at": proven, "phone_verified_at": proven})
    kept = merged(older, newer)
    assert (kept.email_verified_at, kept.phone_verified_at) == (proven, proven)

    older, newer = records(
        duplicate={
            "email": "someone-else@example.com",
            "mobile_phone": "+14085550999",
            "email_verified_at": proven,
            "phone_verified_at": proven,
        }
    )
    kept = merged(older, newer)
    assert (kept.email_verified_at, kept.phone_verified_at) == (None, None)


def test_the_kept_records_own_proof_is_not_replaced_by_the_duplicates():
    own, other = timezone.now() - timedelta(days=9), timezone.now() - timedelta(days=1)
    older, newer = records(
        keep={"email_verified_at": own, "phone_verified_at": own},
        duplicate={"email_verified_at": other, "phone_verified_at": other},
    )
    kept = merged(older, newer)
    assert (kept.email_verified_at, kept.phone_verified_at) == (own, own)


def test_a_phone_proof_stamps_only_the_given_records_that_hold_that_number():
    # The second holds the number but was not among the records the proof was for.
    holder, _not_asked, other_number = (
        ClientFactory(mobile_phone="+14085550143"),
        ClientFactory(mobile_phone="+14085550143"),
        ClientFactory(mobile_phone="+14085550999"),
    )
    stamped = identity.mark_phone_verified(client_ids=[holder.pk, other_number.pk], phone="+14085550143")
    assert stamped == 1
    assert set(Client.objects.filter(phone_verified_at__isnull=False)) == {holder}
    assert identity.mark_phone_verified(client_ids=[holder.pk], phone="") == 0


def test_two_records_each_with_a_stripe_customer_are_not_merged_and_one_customer_moves():
    from payments.models import StripeCustomer

    older, newer = records()
    StripeCustomer.objects.create(client=older, stripe_customer_id="cus_older")
    StripeCustomer.objects.create(client=newer, stripe_customer_id="cus_newer")
    with pytest.raises(identity.MergeRefused):
        identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, reason="same")
    assert Client.objects.filter(pk=newer.pk).exists()
    assert StripeCustomer.objects.get(stripe_customer_id="cus_newer").client_id == newer.pk

    StripeCustomer.objects.filter(client=older).delete()
    merged(older, newer)
    assert StripeCustomer.objects.get(stripe_customer_id="cus_newer").client_id == older.pk


def test_the_duplicates_admin_history_follows_it_to_the_kept_record():
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    from tests.support.builders import StaffFactory

    older, newer = records()
    staff = StaffFactory(is_superuser=True)
    LogEntry.objects.create(
        user=staff,
        content_type=ContentType.objects.get_for_model(Client),
        object_id=str(newer.pk),
        object_repr=str(newer),
        action_flag=CHANGE,
        change_message="Changed the email.",
    )
    # Not moved: another client's history, and another kind of record's that happens to have the same id.
    third = ClientFactory(email="third@example.com")
    for content_type, object_id in [
        (ContentType.objects.get_for_model(Client), third.pk),
        (ContentType.objects.get_for_model(staff), newer.pk),
    ]:
        LogEntry.objects.create(
            user=staff, content_type=content_type, object_id=str(object_id), object_repr="x", action_flag=CHANGE
        )
    merged(older, newer)
    assert sorted(LogEntry.objects.values_list("content_type__model", "object_id")) == sorted(
        [("client", str(older.pk)), ("client", str(third.pk)), ("user", str(newer.pk))]
    )


def test_a_proof_code_goes_to_a_proven_phone_else_the_oldest_records_never_a_later_bookings():
    oldest = ClientFactory(email="dana@example.com", mobile_phone="+14085550143")
    later = ClientFactory(email="dana@example.com", mobile_phone="+14085550999")
    no_phone = ClientFactory(email="dana@example.com", mobile_phone="")
    assert identity.phone_on_file([later, no_phone, oldest]) == oldest
    Client.objects.filter(pk=later.pk).update(phone_verified_at=timezone.now())
    later.refresh_from_db()
    assert identity.phone_on_file([oldest, no_phone, later]) == later
    assert identity.phone_on_file([no_phone]) is None


def test_an_email_proof_stamps_only_the_given_records_that_hold_that_address():
    # The proof is asked for one record (the signed-in one, the kept one of a merge): another record
    # holding the same address, perhaps a booking someone else made with it, is not stamped proven.
    holder, _not_asked, other_address = (
        ClientFactory(email="dana@example.com"),
        ClientFactory(email="dana@example.com"),
        ClientFactory(email="someone@example.com"),
    )
    stamped = identity.mark_email_verified(client_ids=[holder.pk, other_address.pk], email="DANA@example.com")
    assert stamped == 1
    assert set(Client.objects.filter(email_verified_at__isnull=False)) == {holder}
    assert identity.mark_email_verified(client_ids=[holder.pk], email="  ") == 0


def test_the_duplicates_differing_contact_details_are_noted_for_the_front_desk_after_the_notes_already_there():
    older, newer = records(
        keep={"notes": "Prefers mornings."},
        duplicate={"email": "dana.r@example.com", "mobile_phone": "+14085550999", "notes": "Allergic to latex."},
    )
    kept = merged(older, newer)
    first, second, note = kept.notes.split("\n")
    assert (first, second) == ("Prefers mornings.", "Allergic to latex.")
    assert f"merged record #{newer.pk} into this one (Same person, checked by phone)." in note
    assert "It had email dana.r@example.com, mobile phone +14085550999 (not copied: confirm" in note
    assert "name" not in note
    # Nothing differs: the note says what was merged, and lists nothing to confirm.
    same_older, same_newer = records()
    assert "It had" not in merged(same_older, same_newer).notes


def test_when_some_rows_clash_the_others_move_one_by_one_and_the_audit_counts_each():
    """The kept record already had one of the policy notices (unique per client): that one is dropped, the rest
    move, and the merge's audit row says how many moved of that table."""
    older, newer = records()
    policies = [
        PolicyVersion.objects.create(version=f"2027-0{n}", effective_date=date(2027, n, 1), body="x") for n in (1, 2, 3)
    ]
    PolicyChangeNotice.objects.create(policy=policies[0], client=older)
    for policy in policies:
        PolicyChangeNotice.objects.create(policy=policy, client=newer)

    merged(older, newer)
    assert sorted(PolicyChangeNotice.objects.values_list("policy__version", "client")) == [
        ("2027-01", older.pk),
        ("2027-02", older.pk),
        ("2027-03", older.pk),
    ]
    event = PrivacyAuditEvent.objects.get(action=AuditAction.CLIENTS_MERGED)
    assert "privacy.PolicyChangeNotice 2" in event.detail


def closed_request(email):
    # Closed: an open request of either record refuses the merge.
    now = timezone.now()
    return DataSubjectRequest.objects.create(
        request_type="access", email=email, regime="gdpr", status="completed", received_at=now, due_at=now
    )


def test_every_privacy_request_of_the_duplicate_names_the_kept_record_once_after_the_merge():
    """A request that named both records keeps one link (to the kept record); the others move, and are counted."""
    older, newer = records()
    only_newers, both = closed_request("a@example.com"), closed_request("b@example.com")
    both.clients.add(older)
    both.clients.add(newer)
    only_newers.clients.add(newer)

    merged(older, newer)
    assert list(both.clients.all()) == [older] and list(only_newers.clients.all()) == [older]
    event = PrivacyAuditEvent.objects.get(action=AuditAction.CLIENTS_MERGED)
    # Counted under the link table or the request table: the relation is reached from either side.
    assert re.search(r"privacy\.DataSubjectRequest(_clients)? 1\b", event.detail)


@pytest.mark.parametrize("reason", ["", None])
def test_a_merge_with_no_reason_at_all_is_refused(reason):
    older, newer = records()
    with pytest.raises(identity.MergeRefused):
        identity.merge_clients(keep_id=older.pk, duplicate_id=newer.pk, reason=reason)
    assert Client.objects.filter(pk=newer.pk).exists()


def test_a_merge_no_staff_member_made_is_audited_as_the_systems():
    older, newer = records()
    merged(older, newer)
    event = PrivacyAuditEvent.objects.get(action=AuditAction.CLIENTS_MERGED)
    assert (event.actor_id, event.actor_label) == (None, "system")
