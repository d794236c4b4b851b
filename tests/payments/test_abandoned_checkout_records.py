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


def test_a_record_that_existed_before_its_checkout_is_kept(client, deposit_clinic):
    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    Client.objects.filter(pk=checkout.client_id).update(created_at=checkout.created_at - timedelta(days=30))
    abandon(checkout, ago=services.ABANDONED_RECORD_GRACE + timedelta(minutes=1))
    assert Client.objects.get(pk=checkout.client_id).erased_at is None
