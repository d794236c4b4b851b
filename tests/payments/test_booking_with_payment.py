"""Booking a service that asks for a deposit or a card on file: the policy accepted first (consent ledger),
the time held while the client is on the (here: simulated) hosted page, booked once paid, released if abandoned."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, SlotHold
from payments import services
from payments.backends import local
from payments.models import (
    BookingCheckout,
    CardSetup,
    CardSetupStatus,
    CheckoutStatus,
    Payment,
    PaymentStatus,
    SavedCard,
)
from payments.tasks import expire_booking_checkouts
from privacy.models import ConsentRecord
from tests.support.booking import post_booking
from tests.support.payments import accept_policy, clinic_asking, pay_on_local_page, start_paid_booking

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")


def slot():
    day = datetime.now(LA).date() + timedelta(days=10)
    return datetime.combine(day, time(10), tzinfo=LA)


@pytest.fixture
def deposit_clinic():
    return clinic_asking("deposit_fixed", deposit_amount=5000)


def test_the_booking_form_of_a_deposit_service_books_nothing_yet_and_holds_the_time(client, deposit_clinic):
    location, service, (person,), _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    assert not Appointment.objects.exists()
    assert checkout.status == CheckoutStatus.POLICY and checkout.hold is not None
    assert checkout.payment.amount == 5000 and checkout.payment.status == PaymentStatus.PENDING
    # Someone else cannot take the held time meanwhile.
    other = post_booking(client, location, service, slot(), email="other@example.com", first_name="Other")
    assert other.status_code == 409
    assert BookingCheckout.objects.count() == 1


def test_the_policy_page_shows_the_policy_in_plain_words_and_the_servers_amount(client, deposit_clinic):
    location, service, _, policy = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    page = client.get(reverse("payments:booking_checkout", args=[checkout.key])).content.decode()
    assert policy.wording in page
    assert "Cancelling later than that costs $40.00" in page
    assert "$50.00" in page and "I accept this cancellation policy" in page


@pytest.mark.policy("use-payments")
def test_going_to_payment_needs_the_policy_accepted_and_records_its_exact_wording_and_version(client, deposit_clinic):
    location, service, _, policy = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    refused = client.post(reverse("payments:booking_checkout", args=[checkout.key]), {})
    assert refused.status_code == 400 and "accept the cancellation policy" in refused.content.decode()
    assert not ConsentRecord.objects.filter(purpose=services.CANCELLATION_POLICY_PURPOSE).exists()
    assert not any(op == "create_checkout_session" for op, _, _ in local.calls)

    response = accept_policy(client, checkout)
    assert response.status_code == 302
    checkout.refresh_from_db()
    assert response.url == reverse("payments:local_checkout", args=[checkout.stripe_checkout_session_id])
    (record,) = ConsentRecord.objects.filter(purpose=services.CANCELLATION_POLICY_PURPOSE)
    assert record.client_id == checkout.client_id and record.granted
    assert record.notice_text == policy.wording
    assert f"version {policy.version}" in record.evidence and f"#{policy.pk}" in record.evidence
    # Pressing the button again opens the same page and records nothing more.
    assert accept_policy(client, checkout).url == response.url
    assert ConsentRecord.objects.filter(purpose=services.CANCELLATION_POLICY_PURPOSE).count() == 1


@pytest.mark.policy("use-payments")
def test_paying_the_deposit_books_the_held_time_for_the_servers_amount_and_saves_the_card(client, deposit_clinic):
    location, service, (person,), _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    accept_policy(client, checkout, amount="1", deposit_amount="1")  # a tampered form changes nothing
    (create,) = [params for op, _, params in local.calls if op == "create_checkout_session"]
    assert create["amount"] == 5000 and create["mode"] == "payment"
    response = pay_on_local_page(client, checkout, amount="1")
    assert response.status_code == 302
    done = client.get(response.url)
    assert done.status_code == 302 and "booked=1" in done.url
    checkout.refresh_from_db()
    appointment = Appointment.objects.get()
    assert checkout.status == CheckoutStatus.BOOKED and checkout.appointment == appointment
    assert appointment.client_id == checkout.client_id and appointment.start == slot()
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount == 5000
    assert payment.appointment == appointment and payment.stripe_payment_intent_id
    assert SavedCard.objects.get().client_id == checkout.client_id
    assert not SlotHold.objects.exists()


def test_a_declined_card_books_nothing_and_the_page_stays_open(client, deposit_clinic):
    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    accept_policy(client, checkout)
    response = pay_on_local_page(client, checkout, card=local.DECLINED)
    assert response.status_code == 402 and "declined" in response.content.decode()
    assert not Appointment.objects.exists()
    assert pay_on_local_page(client, checkout).status_code == 302
    assert Appointment.objects.count() == 1


def test_a_card_needing_authentication_books_once_authenticated(client, deposit_clinic):
    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    accept_policy(client, checkout)
    asked = pay_on_local_page(client, checkout, card=local.NEEDS_AUTHENTICATION)
    assert asked.status_code == 200 and "Complete authentication" in asked.content.decode()
    failed = pay_on_local_page(client, checkout, card=local.NEEDS_AUTHENTICATION, step="failed")
    assert failed.status_code == 402 and not Appointment.objects.exists()
    assert pay_on_local_page(client, checkout, card=local.NEEDS_AUTHENTICATION, step="authenticated").status_code == 302
    assert Appointment.objects.count() == 1


@pytest.mark.policy("use-payments")
def test_a_card_on_file_service_saves_a_card_charges_nothing_and_books(client):
    location, service, _, _ = clinic_asking("card_on_file")
    checkout = start_paid_booking(client, location, service, slot())
    assert checkout.payment is None and checkout.card_setup is not None
    page = client.get(reverse("payments:booking_checkout", args=[checkout.key])).content.decode()
    assert "Continue to save a card" in page
    accept_policy(client, checkout)
    (create,) = [params for op, _, params in local.calls if op == "create_checkout_session"]
    assert create["mode"] == "setup"
    pay_on_local_page(client, checkout)
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED and Appointment.objects.count() == 1
    assert not Payment.objects.exists()
    assert CardSetup.objects.get().status == CardSetupStatus.SUCCEEDED
    assert SavedCard.objects.get().client_id == checkout.client_id


@pytest.mark.policy("use-payments")
def test_an_abandoned_payment_releases_the_time_when_the_hold_ends(client, deposit_clinic):
    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    accept_policy(client, checkout)
    assert expire_booking_checkouts() == 0  # still held
    BookingCheckout.objects.filter(pk=checkout.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_booking_checkouts() == 1
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.EXPIRED and not SlotHold.objects.exists()
    assert checkout.payment.status == PaymentStatus.FAILED
    assert any(op == "expire_checkout_session" for op, _, _ in local.calls)
    # The simulated page is closed, the policy page says the hold ran out, and the time is bookable again.
    closed = client.post(
        reverse("payments:local_checkout", args=[checkout.stripe_checkout_session_id]), {"card": "pm_card_visa"}
    )
    assert closed.status_code == 410
    assert client.post(reverse("payments:booking_checkout", args=[checkout.key]), {}).status_code == 409
    assert start_paid_booking(client, location, service, slot(), email="next@example.com").hold is not None


def test_the_policy_page_of_an_expired_hold_says_so_and_offers_to_choose_again(client, deposit_clinic):
    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    BookingCheckout.objects.filter(pk=checkout.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    page = client.get(reverse("payments:booking_checkout", args=[checkout.key])).content.decode()
    assert "that has run out" in page and "choose a time again" in page
    assert "I accept" not in page


def test_a_service_asking_no_payment_books_straight_away(client, deposit_clinic):
    from tests.support.builders import bookable_clinic

    location, service, _ = bookable_clinic()
    response = post_booking(client, location, service, slot())
    assert response.status_code == 302 and "booked=1" in response.url
    assert not BookingCheckout.objects.exists()


def test_an_unknown_checkout_key_is_404(client):
    assert client.get(reverse("payments:booking_checkout", args=["nope"])).status_code == 404
    assert client.get(reverse("payments:local_checkout", args=["cs_nope"])).status_code == 404


def test_the_simulated_page_is_404_with_the_stripe_backend(client, deposit_clinic, settings):
    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    accept_policy(client, checkout)
    checkout.refresh_from_db()
    settings.PAYMENTS_BACKEND = "payments.backends.stripe.PaymentsBackend"
    url = reverse("payments:local_checkout", args=[checkout.stripe_checkout_session_id])
    assert client.post(url, {"card": "pm_card_visa"}).status_code == 404
    assert not Appointment.objects.exists()


@pytest.mark.policy("use-analytics-advertising")
def test_the_payment_step_pages_load_no_analytics_or_ad_tag_and_send_no_referrer(client, deposit_clinic, settings):
    """Their address holds the checkout's key (the client's only handle) and they name the treatment."""
    settings.GA_MEASUREMENT_ID, settings.GTM_CONTAINER_ID, settings.META_PIXEL_ID = "G-TEST123", "GTM-TEST45", "99988"
    client.post("/privacy/cookies/", {"choice": "accept_all", "next": "/"})
    assert "G-TEST123" in client.get("/").content.decode()  # the tags do load on a public page
    location, service, _, _ = deposit_clinic
    checkout = start_paid_booking(client, location, service, slot())
    accept_policy(client, checkout)
    checkout.refresh_from_db()
    pages = [
        reverse("payments:booking_checkout", args=[checkout.key]),
        reverse("payments:local_checkout", args=[checkout.stripe_checkout_session_id]),
        reverse("payments:booking_checkout_return", args=[checkout.key]),
    ]
    for url in pages:
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert not any(tag in html for tag in ("G-TEST123", "GTM-TEST45", "99988", "googletagmanager")), url
        assert '<meta name="referrer" content="same-origin">' in html, url  # the private pages' referrer rule


def test_the_time_held_while_the_client_pays_keeps_its_laser_too(client):
    """Rooms and devices are held with the practitioner (appointments.services._hold), so a paid booking
    never ends in a refund because the one laser went to someone else meanwhile."""
    from tests.support.builders import needs

    location, service, (first, second), _ = clinic_asking("deposit_fixed", deposit_amount=5000, practitioners=2)
    needs(service, location, laser=(1, 15))
    checkout = start_paid_booking(client, location, service, slot(), practitioner=first.pk)
    assert checkout.hold.units.count() == 1
    # The second practitioner is free at that time, but the one laser is held for the paying client.
    other = post_booking(client, location, service, slot(), email="other@example.com", practitioner=second.pk)
    assert other.status_code == 409 and not Appointment.objects.exists()
