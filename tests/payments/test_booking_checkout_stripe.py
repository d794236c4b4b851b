"""The booking's payment step through the real `stripe` library against the fake Stripe API: Checkout
Sessions (mode payment / setup), signed webhooks, the return page asking Stripe, the hold running out,
and a payment that succeeds after the hold ended (booked if the time is free, else refunded in full)."""

import threading
import time as time_module
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus, SlotHold
from payments import services
from payments.models import BookingCheckout, CheckoutStatus, Payment, PaymentStatus, Refund, RefundStatus, SavedCard
from payments.tasks import expire_booking_checkouts
from tests.support.builders import ClientFactory
from tests.support.environment import requires_postgres
from tests.support.payments import accept_policy, clinic_asking, event, post_event, start_paid_booking

LA = ZoneInfo("America/Los_Angeles")


def slot(days=10, hour=10):
    return datetime.combine(datetime.now(LA).date() + timedelta(days=days), time(hour), tzinfo=LA)


def at_stripe(http, clinic, start):
    location, service, _, _ = clinic
    checkout = start_paid_booking(http, location, service, start)
    response = accept_policy(http, checkout)
    checkout.refresh_from_db()
    return checkout, response


def hold_runs_out(checkout):
    past = timezone.now() - timedelta(seconds=1)
    BookingCheckout.objects.filter(pk=checkout.pk).update(hold_expires_at=past)
    SlotHold.objects.filter(pk=checkout.hold_id).update(expires_at=past)


def front_desk_books(clinic, start):
    from appointments import services

    location, service, (person,), _ = clinic
    return services.save_appointment_from_front_desk(
        appointment_id=None,
        client=ClientFactory(),
        location=location,
        service=service,
        practitioner=person,
        start=start,
        status=AppointmentStatus.BOOKED,
        source="front_desk",
    )


@pytest.mark.django_db
@pytest.mark.policy("use-payments")
def test_the_deposit_opens_a_checkout_session_for_the_servers_amount_under_the_checkouts_key(client, fake_stripe):
    clinic = clinic_asking("deposit_fixed", deposit_amount=7500)
    checkout, response = at_stripe(client, clinic, slot())
    (create,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    params = create["params"]
    assert params["mode"] == "payment" and params["line_items"]["0][price_data][unit_amount"] == "7500"
    assert params["payment_intent_data"]["setup_future_usage"] == "off_session"
    assert params["metadata"] == {"booking_checkout": str(checkout.pk)}
    assert create["idempotency_key"] == f"checkout-{checkout.pk}"
    assert int(params["expires_at"]) >= timezone.now().timestamp() + 30 * 60  # Stripe's minimum
    assert (
        response.status_code == 302
        and response.url == fake_stripe.checkout_sessions[checkout.stripe_checkout_session_id]["url"]
    )
    assert params["success_url"].endswith(reverse("payments:booking_checkout_return", args=[checkout.key]))


@pytest.mark.django_db
def test_a_stripe_timeout_opening_the_page_is_a_clear_message_and_the_retry_reuses_the_key(client, fake_stripe):
    clinic = clinic_asking("deposit_fixed")
    location, service, _, _ = clinic
    checkout = start_paid_booking(client, location, service, slot())
    services.ensure_stripe_customer(client=checkout.client)
    fake_stripe.hang_next(1)  # Stripe makes the session, its answer is lost
    response = accept_policy(client, checkout)
    assert response.status_code == 400 and "did not answer" in response.content.decode()
    time_module.sleep(1.1)  # a retry in a later second still sends the very same request
    retried = accept_policy(client, checkout)
    assert retried.status_code == 302
    creates = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert {c["idempotency_key"] for c in creates} == {f"checkout-{checkout.pk}"}
    assert len(fake_stripe.checkout_sessions) == 1  # the retry got Stripe's first session back


@pytest.mark.django_db
@pytest.mark.policy("use-payments")
def test_a_signed_checkout_completed_webhook_books_the_held_time_once(client, fake_stripe):
    clinic = clinic_asking("deposit_fixed")
    checkout, _ = at_stripe(client, clinic, slot())
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    completed = event("checkout.session.completed", session, event_id="evt_paid")
    assert post_event(client, completed).content == b"applied"
    assert post_event(client, completed).content == b"duplicate"
    assert post_event(client, event("checkout.session.completed", session)).content == b"applied"  # another id
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED and Appointment.objects.count() == 1
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.stripe_payment_intent_id == session["payment_intent"]
    assert SavedCard.objects.get().stripe_payment_method_id == "pm_card_visa"
    # The client's return then goes straight to their booking.
    done = client.get(reverse("payments:booking_checkout_return", args=[checkout.key]))
    assert done.status_code == 302 and "booked=1" in done.url


@pytest.mark.django_db
@pytest.mark.policy("use-payments")
def test_a_completed_session_for_another_amount_books_nothing(client, fake_stripe):
    clinic = clinic_asking("deposit_fixed")
    checkout, _ = at_stripe(client, clinic, slot())
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    post_event(client, event("checkout.session.completed", {**session, "amount_total": 100}))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.AT_STRIPE and not Appointment.objects.exists()
    assert Payment.objects.get().status == PaymentStatus.PENDING


@pytest.mark.django_db
def test_the_return_page_asks_stripe_when_the_webhook_has_not_come(client, fake_stripe):
    clinic = clinic_asking("deposit_fixed")
    checkout, _ = at_stripe(client, clinic, slot())
    waiting = client.get(reverse("payments:booking_checkout_return", args=[checkout.key]))
    assert waiting.status_code == 200 and "Check again" in waiting.content.decode()
    fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    done = client.get(reverse("payments:booking_checkout_return", args=[checkout.key]))
    assert done.status_code == 302 and "booked=1" in done.url
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_a_card_on_file_session_saves_the_card_and_books(client, fake_stripe):
    clinic = clinic_asking("card_on_file")
    checkout, _ = at_stripe(client, clinic, slot())
    (create,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert create["params"]["mode"] == "setup" and "line_items" not in create["params"]
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    post_event(client, event("checkout.session.completed", session))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED and not Payment.objects.exists()
    assert SavedCard.objects.get().client_id == checkout.client_id
    assert not fake_stripe.payment_intents  # nothing charged


@pytest.mark.django_db
@pytest.mark.policy("use-payments")
def test_a_checkout_session_expired_webhook_releases_the_time(client, fake_stripe):
    clinic = clinic_asking("deposit_fixed")
    checkout, _ = at_stripe(client, clinic, slot())
    session = fake_stripe.checkout_sessions[checkout.stripe_checkout_session_id]
    post_event(client, event("checkout.session.expired", {**session, "status": "expired"}))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.EXPIRED and not SlotHold.objects.exists()
    assert Payment.objects.get().status == PaymentStatus.FAILED


@pytest.mark.django_db
@pytest.mark.policy("use-payments")
def test_the_expiry_task_closes_the_stripe_page_when_the_hold_ends(client, fake_stripe):
    clinic = clinic_asking("deposit_fixed")
    checkout, _ = at_stripe(client, clinic, slot())
    hold_runs_out(checkout)
    fake_stripe.fail_next(1, status=503)
    assert expire_booking_checkouts() == 0  # Stripe down: tried again on the next pass
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.AT_STRIPE
    assert expire_booking_checkouts() == 1
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.EXPIRED
    assert fake_stripe.checkout_sessions[checkout.stripe_checkout_session_id]["status"] == "expired"
    assert not SlotHold.objects.exists()


@pytest.mark.django_db
@pytest.mark.policy("use-payments")
def test_a_payment_made_just_before_the_expiry_pass_still_books_the_free_time(client, fake_stripe):
    clinic = clinic_asking("deposit_fixed")
    checkout, _ = at_stripe(client, clinic, slot())
    hold_runs_out(checkout)
    fake_stripe.complete_session(checkout.stripe_checkout_session_id)  # paid; no webhook yet
    expire_booking_checkouts()  # Stripe refuses to expire a completed session: the pass applies it
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED and Appointment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.policy("use-payments")
def test_a_payment_after_the_hold_ended_books_the_time_if_it_is_still_free(client, fake_stripe):
    clinic = clinic_asking("deposit_fixed")
    checkout, _ = at_stripe(client, clinic, slot())
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    hold_runs_out(checkout)
    BookingCheckout.objects.filter(pk=checkout.pk).update(status=CheckoutStatus.EXPIRED)
    SlotHold.objects.all().delete()  # released by the expiry pass
    post_event(client, event("checkout.session.completed", session))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED and Appointment.objects.count() == 1
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED and not Refund.objects.exists()


@pytest.mark.django_db
@pytest.mark.policy("use-payments")
def test_a_payment_after_the_hold_ended_for_a_time_taken_meanwhile_is_refunded_in_full(
    client, fake_stripe, django_capture_on_commit_callbacks
):
    clinic = clinic_asking("deposit_fixed", deposit_amount=5000)
    checkout, _ = at_stripe(client, clinic, slot())
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    hold_runs_out(checkout)
    taken = front_desk_books(clinic, slot())
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event("checkout.session.completed", session))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.REFUNDED
    assert list(Appointment.objects.all()) == [taken]  # never a second appointment at that time
    refund = Refund.objects.get()
    assert refund.amount == 5000 and refund.status == RefundStatus.SUCCEEDED
    (sent,) = fake_stripe.calls("POST", "/v1/refunds")
    assert sent["params"]["amount"] == "5000" and sent["idempotency_key"] == f"refund-{refund.pk}"
    assert Payment.objects.get().status == PaymentStatus.REFUNDED
    page = client.get(reverse("payments:booking_checkout_return", args=[checkout.key])).content.decode()
    assert "refunded in full" in page


@pytest.mark.django_db
def test_a_card_saved_after_the_hold_ended_for_a_taken_time_books_nothing_and_charges_nothing(client, fake_stripe):
    clinic = clinic_asking("card_on_file")
    checkout, _ = at_stripe(client, clinic, slot())
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    hold_runs_out(checkout)
    taken = front_desk_books(clinic, slot())
    post_event(client, event("checkout.session.completed", session))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.NOT_BOOKED and list(Appointment.objects.all()) == [taken]
    assert not fake_stripe.payment_intents


def _late_payment_races_the_front_desk(fake_stripe, clinic, start, desk_delay):
    """One round: the hold has ended; the payment's webhook and a front-desk booking of the time at once."""
    checkout, _ = at_stripe(HttpClient(), clinic, start)
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    hold_runs_out(checkout)
    barrier = threading.Barrier(2)
    errors = []

    def webhook():
        try:
            barrier.wait()
            assert post_event(HttpClient(), event("checkout.session.completed", session)).status_code == 200
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
        finally:
            connection.close()

    def desk():
        from appointments.services import FrontDeskBookingRefused

        try:
            barrier.wait()
            time_module.sleep(desk_delay)  # staggered, so rounds land on either side of the webhook's lock
            front_desk_books(clinic, start)
        except FrontDeskBookingRefused:
            pass
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=webhook), threading.Thread(target=desk)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    checkout.refresh_from_db()
    return checkout


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.policy("use-payments")
def test_a_late_payment_racing_a_front_desk_booking_ends_in_one_appointment_or_a_full_refund(fake_stripe):
    """Rounds of: the hold has ended, the client's payment webhook and a front-desk booking of the same
    time arrive at once. Each round: exactly one appointment at that time, and the payment either booked
    it or went back in full; never two appointments, never money kept without a visit."""
    clinic = clinic_asking("deposit_fixed", deposit_amount=5000, practitioners=1)
    for round_ in range(6):
        start = slot(days=10 + round_)
        checkout = _late_payment_races_the_front_desk(fake_stripe, clinic, start, desk_delay=0.08 * round_)
        active = Appointment.objects.filter(start=start).exclude(status=AppointmentStatus.CANCELLED)
        assert active.count() == 1, round_
        payment = Payment.objects.get(pk=checkout.payment_id)
        if checkout.status == CheckoutStatus.BOOKED:
            assert active.get().client_id == checkout.client_id and payment.status == PaymentStatus.SUCCEEDED
            assert not payment.refunds.exists()
        else:
            assert checkout.status == CheckoutStatus.REFUNDED
            assert payment.status == PaymentStatus.REFUNDED and payment.amount_refunded == 5000
            assert active.get().client_id != checkout.client_id
