"""A visit's payment step through the real `stripe` library against the fake Stripe API: its webhooks applied once
in any order, a payment that the webhook never reported settled by the periodic expiry pass (Stripe down first),
and a late payment's refund whose answer was lost sent again by the reconcile task under the same key, once.
Whatever happens: the whole visit booked once, or the money back in full with no part booked."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from appointments import services as appointment_services
from appointments.models import Appointment, AppointmentStatus, SlotHold
from payments import services
from payments.models import (
    BookingCheckout,
    CheckoutStatus,
    Payment,
    PaymentRequirement,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from payments.tasks import expire_booking_checkouts, reconcile_payments
from tests.support.builders import ClientFactory
from tests.support.payments import accept_policy, event, post_event
from tests.support.visits import at, visit_clinic, visit_form, visit_url

pytestmark = [pytest.mark.django_db, pytest.mark.policy("use-payments")]


@pytest.fixture
def clinic():
    clinic = visit_clinic()
    services.save_cancellation_policy(location=clinic.location, window_hours=24, late_cancel_fee=4000, no_show_fee=6000)
    PaymentRequirement.objects.create(
        location=clinic.location, service=clinic.facial, kind="deposit_fixed", deposit_amount=5000
    )
    PaymentRequirement.objects.create(
        location=clinic.location, service=clinic.consultation, kind="deposit_fixed", deposit_amount=2000
    )
    return clinic


def visit_at_stripe(http, clinic):
    """A consultation (Avery, 9:00) then a facial (Blake, 9:30), the $70 deposit's page opened at Stripe."""
    ids = f"{clinic.consultation.pk},{clinic.facial.pk}"
    response = http.post(
        visit_url(clinic.location) + "details/", {**visit_form([]), "services": ids, "start": at(9).isoformat()}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    checkout = BookingCheckout.objects.get(key=response.url.rstrip("/").split("/")[-1])
    assert accept_policy(http, checkout).status_code == 302
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.AT_STRIPE and checkout.is_visit
    return checkout


def hold_runs_out(checkout):
    past = timezone.now() - timedelta(seconds=1)
    BookingCheckout.objects.filter(pk=checkout.pk).update(hold_expires_at=past)
    SlotHold.objects.filter(pk__in=checkout.hold_ids).update(expires_at=past)


def facial_taken_by_someone_else(clinic):
    return appointment_services.save_appointment_from_front_desk(
        appointment_id=None,
        client=ClientFactory(),
        location=clinic.location,
        service=clinic.facial,
        practitioner=clinic.blake,
        start=at(9, 30),
        status=AppointmentStatus.BOOKED,
        source="front_desk",
    )


def visit_booked_whole_once(checkout):
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED
    mine = Appointment.objects.filter(client_id=checkout.client_id)
    assert mine.count() == 2 and {a.visit_id for a in mine} == {checkout.visit_id}
    assert not SlotHold.objects.exists()


def test_the_intents_success_before_the_sessions_completion_books_the_visit_once_whatever_comes_next(
    client, clinic, fake_stripe
):
    checkout = visit_at_stripe(client, clinic)
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    intent = fake_stripe.payment_intents[session["payment_intent"]]
    # Stripe sends payment_intent.succeeded first (our id in its metadata), then the session's completion.
    assert post_event(client, event("payment_intent.succeeded", intent)).content == b"applied"
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUCCEEDED and not Appointment.objects.exists()
    completed = event("checkout.session.completed", session, event_id="evt_visit_paid")
    assert post_event(client, completed).content == b"applied"
    visit_booked_whole_once(checkout)
    # Retried deliveries, a second id for the same session, the intent again, a stale expiry: nothing changes.
    assert post_event(client, completed).content == b"duplicate"
    post_event(client, event("checkout.session.completed", session))
    post_event(client, event("payment_intent.succeeded", intent))
    post_event(client, event("checkout.session.expired", {**session, "status": "expired"}))
    visit_booked_whole_once(checkout)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and not Refund.objects.exists()
    assert len(fake_stripe.payment_intents) == 1


def test_the_sessions_completion_before_the_intents_success_books_the_visit_once(client, clinic, fake_stripe):
    checkout = visit_at_stripe(client, clinic)
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    post_event(client, event("checkout.session.completed", session))
    visit_booked_whole_once(checkout)
    post_event(client, event("payment_intent.succeeded", fake_stripe.payment_intents[session["payment_intent"]]))
    visit_booked_whole_once(checkout)
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED


def test_a_completion_arriving_after_an_expiry_books_the_free_visit_and_keeps_the_payment(client, clinic, fake_stripe):
    """Out of order: the session's expiry is applied first (every part released, the deposit marked failed),
    then its completion arrives: the whole visit is booked while every part is free, the payment counts."""
    checkout = visit_at_stripe(client, clinic)
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    hold_runs_out(checkout)
    post_event(client, event("checkout.session.expired", {**session, "status": "expired"}))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.EXPIRED and not SlotHold.objects.exists()
    assert Payment.objects.get().status == PaymentStatus.FAILED
    post_event(client, event("checkout.session.completed", session))
    visit_booked_whole_once(checkout)
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED and not Refund.objects.exists()


def test_a_visit_paid_whose_webhook_never_came_is_settled_by_the_expiry_pass_after_stripe_was_down(
    client, clinic, fake_stripe
):
    checkout = visit_at_stripe(client, clinic)
    fake_stripe.complete_session(checkout.stripe_checkout_session_id)  # paid; no webhook, no return
    hold_runs_out(checkout)
    fake_stripe.fail_next(1, status=503)
    expire_booking_checkouts.apply()  # Stripe down: a clear state, tried again next pass
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.AT_STRIPE and not Appointment.objects.exists()
    assert Payment.objects.get().status == PaymentStatus.PENDING
    expire_booking_checkouts.apply()  # Stripe refuses to expire a paid session: the pass asks it and applies it
    visit_booked_whole_once(checkout)
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED
    expire_booking_checkouts.apply()
    visit_booked_whole_once(checkout)  # a later pass changes nothing


def test_a_visit_paid_whose_webhook_never_came_for_a_part_taken_meanwhile_is_refunded_by_the_expiry_pass(
    client, clinic, fake_stripe, django_capture_on_commit_callbacks
):
    checkout = visit_at_stripe(client, clinic)
    fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    hold_runs_out(checkout)
    taken = facial_taken_by_someone_else(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        expire_booking_checkouts.apply()
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.REFUNDED and list(Appointment.objects.all()) == [taken]
    (refund,) = Refund.objects.all()
    assert refund.amount == 7000 and refund.status == RefundStatus.SUCCEEDED
    assert Payment.objects.get().status == PaymentStatus.REFUNDED


def test_a_late_visit_payments_refund_whose_answer_was_lost_is_sent_again_by_the_reconcile_task_once(
    client, clinic, fake_stripe, django_capture_on_commit_callbacks
):
    checkout = visit_at_stripe(client, clinic)
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    hold_runs_out(checkout)
    facial_taken_by_someone_else(clinic)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        post_event(client, event("checkout.session.completed", session))
    fake_stripe.hang_next(1)  # the refund, sent after the commit: Stripe makes it, its answer is lost
    with django_capture_on_commit_callbacks(execute=True):
        for callback in after_commit:
            callback()
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.REFUNDED
    assert not Appointment.objects.filter(client_id=checkout.client_id).exists()
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.PENDING and refund.amount == 7000  # a clear state, not lost
    assert len(fake_stripe.refunds) == 1

    Refund.objects.filter(pk=refund.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        reconcile_payments.apply()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.stripe_refund_id in fake_stripe.refunds
    assert len(fake_stripe.refunds) == 1  # the same key: Stripe refunded once
    assert {c["idempotency_key"] for c in fake_stripe.calls("POST", "/v1/refunds")} == {f"refund-{refund.pk}"}
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.REFUNDED and payment.amount_refunded == 7000
    # The client is told: one receipt for the deposit, one for its refund.
    email = checkout.client.email
    subjects = sorted(m.subject for m in mail.outbox if m.to == [email] and m.subject.startswith("Receipt"))
    assert subjects == ["Receipt: deposit of $70.00", "Receipt: refund of $70.00"]
    with django_capture_on_commit_callbacks(execute=True):
        reconcile_payments.apply()
    assert len([m for m in mail.outbox if m.subject.startswith("Receipt")]) == 2


def test_a_visit_clients_export_names_every_service_and_erasure_deletes_their_stripe_customer(
    client, clinic, fake_stripe, django_capture_on_commit_callbacks
):
    from payments.models import StripeCustomer
    from privacy.erasure import erase_clients
    from privacy.registry import export_subject

    checkout = visit_at_stripe(client, clinic)
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    post_event(client, event("checkout.session.completed", session))
    visit_booked_whole_once(checkout)
    person = checkout.client_id
    data = export_subject([person])
    (booking,) = data["online_booking_checkouts"]
    assert booking["service"] == "Consultation, HydraFacial" and booking["status"] == CheckoutStatus.BOOKED
    assert [(p["amount_minor"], p["kind"]) for p in data["payments"]] == [(7000, "deposit")]
    customer_id = StripeCustomer.objects.get(client_id=person).stripe_customer_id
    assert customer_id in fake_stripe.customers

    with django_capture_on_commit_callbacks(execute=True):
        erase_clients(client_ids=[person], reason="test")
    assert [c["path"] for c in fake_stripe.calls("DELETE", "/v1/customers")] == [f"/v1/customers/{customer_id}"]
    assert customer_id not in fake_stripe.customers and not StripeCustomer.objects.exists()
    kept = Payment.objects.get()
    assert kept.client_id is None and (kept.amount, kept.currency) == (7000, "usd")
    assert BookingCheckout.objects.get().client_id is None
    assert export_subject([person])["online_booking_checkouts"] == []


def test_a_visits_card_saved_after_the_hold_ended_for_a_part_taken_meanwhile_books_nothing_and_charges_nothing(
    client, clinic, fake_stripe
):
    PaymentRequirement.objects.filter(service=clinic.facial).update(kind="card_on_file", deposit_amount=None)
    PaymentRequirement.objects.filter(service=clinic.consultation).delete()
    checkout = visit_at_stripe(client, clinic)
    assert checkout.payment_id is None and checkout.card_setup_id is not None
    (create,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert create["params"]["mode"] == "setup"
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    hold_runs_out(checkout)
    taken = facial_taken_by_someone_else(clinic)
    post_event(client, event("checkout.session.completed", session))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.NOT_BOOKED and list(Appointment.objects.all()) == [taken]
    assert not fake_stripe.payment_intents and not Payment.objects.exists() and not SlotHold.objects.exists()
