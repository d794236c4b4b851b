"""The "keep my visits together" link: only into an older live record with the same email, for a limited time,
and only while what it was sent for still holds (the link proves control of that email, nothing more)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from clinic import identity
from clinic.models import Client
from privacy.requests_models import AuditAction, PrivacyAuditEvent
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db


def booking_pair():
    older = ClientFactory(email="dana@example.com", mobile_phone="+14085550143")
    newer = ClientFactory(email="dana@example.com", mobile_phone="+14085550143")
    return older, newer


def test_the_link_offers_only_the_oldest_older_live_record_with_that_email():
    erased = ClientFactory(email="dana@example.com", erased_at=timezone.now())
    older, newer = booking_pair()
    ClientFactory(email="someone-else@example.com")
    assert erased.pk < older.pk
    assert identity.older_record_for_claim(newer) == older
    assert identity.older_record_for_claim(older) is None  # a newer record is never offered
    assert identity.claim_token(older) is None
    assert set(identity.clients_with_email("DANA@example.com")) == {older, newer}


def test_the_link_expires_after_its_days():
    older, newer = booking_pair()
    token = identity.claim_token(newer)
    later = timezone.now() + timedelta(days=identity.CLAIM_LINK_MAX_AGE_DAYS, hours=1)
    with time_machine.travel(later), pytest.raises(identity.ClaimInvalid):
        identity.claim_visits(token=token)
    assert Client.objects.filter(pk=newer.pk).exists()
    with time_machine.travel(later - timedelta(days=1)):
        assert identity.claim_visits(token=token).pk == older.pk


@pytest.mark.parametrize(
    ("older_phone", "proven", "offered"),
    [("", False, True), ("+14085550143", False, True), ("+14085550100", False, False), ("+14085550100", True, True)],
)
def test_the_link_joins_an_older_record_only_if_its_phone_is_blank_the_same_or_proven(older_phone, proven, offered):
    """The link proves the email only: an older record's differing phone never proven may be a stranger's."""
    older = ClientFactory(
        email="dana@example.com", mobile_phone=older_phone, phone_verified_at=timezone.now() if proven else None
    )
    newer = ClientFactory(email="dana@example.com", mobile_phone="+14085550143")
    assert identity.older_record_for_claim(newer) == (older if offered else None)


@pytest.mark.parametrize(
    "change",
    ["older_erased", "older_merged_away", "booking_email_changed", "older_email_changed", "both_emails_changed"],
)
def test_the_link_stops_working_when_what_it_was_sent_for_no_longer_holds(change):
    older, newer = booking_pair()
    token = identity.claim_token(newer)
    if change == "older_erased":
        Client.objects.filter(pk=older.pk).update(erased_at=timezone.now())
    elif change == "older_merged_away":  # staff merged it into a third record: it no longer exists
        Client.objects.filter(pk=older.pk).delete()
    elif change == "booking_email_changed":
        Client.objects.filter(pk=newer.pk).update(email="other@example.com")
    elif change == "older_email_changed":
        Client.objects.filter(pk=older.pk).update(email="dana.new@example.com")
    else:  # the same again on both, but not the address the link was sent to
        Client.objects.filter(pk__in=[older.pk, newer.pk]).update(email="dana.new@example.com")
    with pytest.raises(identity.ClaimInvalid):
        identity.check_claim(token)
    with pytest.raises(identity.ClaimInvalid):
        identity.claim_visits(token=token)
    assert Client.objects.filter(pk=newer.pk).exists()


def test_following_the_link_merges_and_proves_the_email_on_file():
    older, newer = booking_pair()
    token = identity.claim_token(newer)
    identity.check_claim(token)  # the landing page accepts a link that still applies
    kept = identity.claim_visits(token=token)
    assert kept.pk == older.pk and kept.email_verified_at is not None
    assert not Client.objects.filter(pk=newer.pk).exists()
    # The merge is audited as the client's own, by the link, not as the system's.
    event = PrivacyAuditEvent.objects.get(action=AuditAction.CLIENTS_MERGED, client_id=older.pk)
    assert event.actor is None and event.actor_label == "client (emailed link to the address on file)"
    assert (
        "Reason: The client confirmed by the link sent to the email on file that this booking was theirs."
        in event.detail
    )
