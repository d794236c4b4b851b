"""An online booking abandoned at the payment step leaves no personal data behind: once its held time ran out
and Stripe's page can no longer be paid, the client record the booking form made is erased (no tombstone: the
person asked nothing), unless the record is in use (an appointment, another live booking)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from appointments.models import SlotHold
from clinic.models import Client
from payments import services
from payments.models import BookingCheckout, CheckoutStatus, Payment
from payments.tasks import expire_booking_checkouts
from privacy.models import ConsentRecord
from privacy.requests_models import ErasureTombstone
from tests.support.builders import AppointmentFactory
from tests.support.payments import accept_policy, clinic_asking, start_paid_booking

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")


def slot(days=10):
    return datetime.combine(datetime.now(LA).date() + timedelta(days=days), time(10), tzinfo=LA)


def abandon(checkout, *, ago):
    BookingCheckout.objects.filter(pk=checkout.pk).update(hold_expires_at=timezone.now() - ago)
    expire_booking_checkouts()
    checkout.refresh_from_db()
    return checkout


@pytest.fixture
def deposit_clinic():
    return clinic_asking("deposit_fixed", deposit_amount=5000)


@pytest.mark.policy("use-payments")
def test_an_abandoned_checkout_erases_the_record_it_made_once_stripes_page_cannot_be_paid(client, deposit_clinic):
    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot(), email="gone@example.com", first_name="Gone")
    accept_policy(client, checkout)
    client_id = checkout.client_id

    # Just expired: the time is released, but a payment may still come from Stripe's page: the record stays.
    checkout = abandon(checkout, ago=timedelta(minutes=1))
    assert checkout.status == CheckoutStatus.EXPIRED and not SlotHold.objects.exists()
    assert Client.objects.get(pk=client_id).erased_at is None

    checkout = abandon(checkout, ago=services.ABANDONED_RECORD_GRACE + timedelta(minutes=1))
    record = Client.objects.get(pk=client_id)
    assert record.erased_at is not None
    assert "gone@example.com" not in (record.email or "") and record.first_name != "Gone"
    assert checkout.client_id is None and Payment.objects.get(pk=checkout.payment_id).client_id is None
    assert all(not r.ip_address and not r.user_agent for r in ConsentRecord.objects.filter(client_id=client_id))
    assert not ErasureTombstone.objects.exists()  # not a request to be forgotten: nothing to re-apply on a restore


def test_the_policy_step_left_unread_is_erased_the_same_way(client, deposit_clinic):
    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    client_id = checkout.client_id
    abandon(checkout, ago=services.ABANDONED_RECORD_GRACE + timedelta(minutes=1))
    assert Client.objects.get(pk=client_id).erased_at is not None


def test_a_record_with_an_appointment_is_kept(client, deposit_clinic):
    location, service, people, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    AppointmentFactory(
        client=checkout.client, location=location, service=service, practitioner=people[0], start=slot(12)
    )
    abandon(checkout, ago=services.ABANDONED_RECORD_GRACE + timedelta(minutes=1))
    assert Client.objects.get(pk=checkout.client_id).erased_at is None


def test_a_paid_booking_keeps_its_record(client, deposit_clinic):
    from tests.support.payments import pay_on_local_page

    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    accept_policy(client, checkout)
    pay_on_local_page(client, checkout)
    assert services.forget_abandoned_checkout_clients(now=timezone.now() + timedelta(days=1)) == 0
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED and checkout.client.erased_at is None


@pytest.mark.policy("use-payments")
def test_a_signed_in_clients_own_record_is_kept_even_when_it_was_made_moments_before_the_checkout(
    client, run_tasks, sms_outbox, deposit_clinic
):
    """Made for the checkout is what the checkout recorded (client_made_for_it), not a guess from creation times:
    an account opened a minute ago whose booking was abandoned keeps its record."""
    from tests.support.accounts import sign_in_by_code
    from tests.support.builders import ClientFactory

    location, service, _, _ = deposit_clinic
    own = ClientFactory(mobile_phone="+14085550143", email="own@example.com")
    sign_in_by_code(client, run_tasks, sms_outbox, "(408) 555-0143")
    checkout = start_paid_booking(client, location, service, slot())
    assert checkout.client_id == own.pk and not checkout.client_made_for_it
    abandon(checkout, ago=services.ABANDONED_RECORD_GRACE + timedelta(minutes=1))
    own.refresh_from_db()
    assert own.erased_at is None and own.email == "own@example.com"


def test_the_record_the_booking_form_made_is_marked_as_made_for_its_checkout(client, deposit_clinic):
    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    assert checkout.client_made_for_it


def test_a_record_made_for_the_checkout_that_went_on_to_the_waitlist_is_kept(client, deposit_clinic):
    """The person booked elsewhere in between (here: joined the waitlist with that record): it is in use."""
    from waitlist.models import WaitlistEntry

    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    WaitlistEntry.objects.create(
        client=checkout.client,
        location=location,
        service=service,
        earliest_date=slot().date(),
        latest_date=slot(20).date(),
    )
    abandon(checkout, ago=services.ABANDONED_RECORD_GRACE + timedelta(minutes=1))
    assert Client.objects.get(pk=checkout.client_id).erased_at is None
