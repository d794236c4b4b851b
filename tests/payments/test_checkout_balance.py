"""Checkout at the front desk: the deposit taken into account. The page shows the price, the deposit kept and
what is due, all from the server; confirmed, it completes the visit and records (desk) or charges (card on
file, off-session, one key) exactly what is due, once."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus
from clinic.roles import PRACTITIONER
from payments import services
from payments.backends import local
from payments.models import Payment, PaymentKind, PaymentMethod, PaymentRequirement, PaymentStatus, SavedCard
from tests.support.builders import StaffFactory
from tests.support.front_desk import front_desk_user
from tests.support.payments import accept_policy, clinic_asking, pay_on_local_page, start_paid_booking

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")


def booked_with_deposit(http, *, price=20000, deposit=5000):
    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=deposit)
    PaymentRequirement.objects.filter(location=location, service=service).update(price_amount=price)
    start = datetime.combine(datetime.now(LA).date() + timedelta(days=10), time(10), tzinfo=LA)
    checkout = start_paid_booking(http, location, service, start)
    accept_policy(http, checkout)
    pay_on_local_page(http, checkout)
    return Appointment.objects.get(client_id=checkout.client_id)


def checkout_url(appointment):
    return reverse("admin:payments_payment_checkout", args=[appointment.pk])


def balances(appointment):
    return Payment.objects.filter(appointment=appointment, kind=PaymentKind.BALANCE)


@pytest.mark.policy("use-payments")
def test_checkout_shows_the_deposit_paid_and_the_balance_due_and_records_it_taken_at_the_desk(client):
    appointment = booked_with_deposit(client)
    client.force_login(front_desk_user(appointment.location))
    page = client.get(checkout_url(appointment)).content.decode()
    assert "$200.00" in page and "$50.00" in page and "$150.00" in page
    local.calls.clear()
    not_confirmed = client.post(checkout_url(appointment), {"method": PaymentMethod.DESK_CARD_TERMINAL})
    assert not_confirmed.status_code == 200 and not balances(appointment).exists()

    # An amount in the form is ignored: the server's balance is taken.
    done = client.post(
        checkout_url(appointment), {"method": PaymentMethod.DESK_CARD_TERMINAL, "confirm": "on", "amount": "1"}
    )
    assert done.status_code == 302
    (taken,) = balances(appointment)
    assert taken.amount == 15000 and taken.status == PaymentStatus.SUCCEEDED
    assert taken.method == PaymentMethod.DESK_CARD_TERMINAL and taken.taken_by is not None
    assert not local.calls  # the clinic's own terminal took it: nothing goes to Stripe
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED

    # A second click takes nothing more.
    again = client.post(checkout_url(appointment), {"method": PaymentMethod.DESK_CASH, "confirm": "on"})
    assert "Nothing is due" in again.content.decode()
    assert balances(appointment).count() == 1


def test_a_deposit_partly_refunded_counts_only_for_what_was_kept(client):
    appointment = booked_with_deposit(client)
    Payment.objects.filter(appointment=appointment, kind=PaymentKind.DEPOSIT).update(
        amount_refunded=2000, status=PaymentStatus.PARTIALLY_REFUNDED
    )
    taken = services.take_balance_at_checkout(appointment_id=appointment.pk, method=PaymentMethod.DESK_CASH)
    assert taken.amount == 20000 - 3000


@pytest.mark.policy("use-payments")
def test_the_card_on_file_is_charged_the_balance_off_session_under_the_payments_key(client):
    appointment = booked_with_deposit(client)
    client.force_login(front_desk_user(appointment.location))
    local.calls.clear()
    response = client.post(checkout_url(appointment), {"method": PaymentMethod.STRIPE, "confirm": "on"})
    assert response.status_code == 302
    (taken,) = balances(appointment)
    assert taken.status == PaymentStatus.SUCCEEDED and taken.amount == 15000
    (call,) = [c for c in local.calls if c[0] == "create_payment_intent"]
    assert call[1] == taken.idempotency_key
    assert call[2]["amount"] == 15000 and call[2]["off_session"] is True


def test_a_card_asking_for_authentication_gets_the_client_an_emailed_link_for_the_balance(client):
    appointment = booked_with_deposit(client)
    SavedCard.objects.update(stripe_payment_method_id=local.NEEDS_AUTHENTICATION)
    mail.outbox.clear()
    taken = services.take_balance_at_checkout(appointment_id=appointment.pk, method=PaymentMethod.STRIPE)
    assert taken.status == PaymentStatus.REQUIRES_ACTION
    (email,) = [m for m in mail.outbox if "confirm your payment" in m.subject]
    assert "balance of your visit" in email.body and "$150.00" in email.body


def test_without_a_price_for_the_service_nothing_is_taken_and_the_visit_stays_open(client):
    appointment = booked_with_deposit(client)
    PaymentRequirement.objects.update(price_amount=None)
    client.force_login(front_desk_user(appointment.location))
    response = client.post(checkout_url(appointment), {"method": PaymentMethod.DESK_CASH, "confirm": "on"})
    assert "has no price at this location" in response.content.decode()
    assert not balances(appointment).exists()
    appointment.refresh_from_db()
    assert appointment.status != AppointmentStatus.COMPLETED


def test_a_cancelled_visit_cannot_be_checked_out(client):
    appointment = booked_with_deposit(client)
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.CANCELLED)
    with pytest.raises(services.PaymentRefused):
        services.take_balance_at_checkout(appointment_id=appointment.pk, method=PaymentMethod.DESK_CASH)
    assert not balances(appointment).exists()


@pytest.mark.policy("use-payments")
def test_checkout_is_for_the_front_desk_of_the_visits_location_only(client):
    appointment = booked_with_deposit(client)
    elsewhere = clinic_asking("card_on_file")[0]
    client.force_login(front_desk_user(elsewhere))
    assert client.get(checkout_url(appointment)).status_code == 404
    practitioner = StaffFactory(locations=[appointment.location])
    practitioner.groups.add(Group.objects.get(name=PRACTITIONER))
    client.force_login(practitioner)
    assert client.post(checkout_url(appointment), {"method": "desk_cash", "confirm": "on"}).status_code == 403
    assert not balances(appointment).exists()


def manager_of(location):
    from clinic.roles import CLINIC_MANAGER

    user = StaffFactory(locations=[location])
    user.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    return user


def refund_url(payment):
    return reverse("admin:payments_payment_refund", args=[payment.pk])


@pytest.mark.policy("use-payments")
def test_a_manager_refunds_a_balance_taken_at_the_desk_in_part_then_in_full_never_through_stripe_with_receipts(
    client, django_capture_on_commit_callbacks
):
    appointment = booked_with_deposit(client)
    taken = services.take_balance_at_checkout(appointment_id=appointment.pk, method=PaymentMethod.DESK_CASH)
    client.force_login(manager_of(appointment.location))
    page = client.get(reverse("admin:payments_payment_change", args=[taken.pk])).content.decode()
    assert "Record a refund given at the desk" in page
    assert "give the money back there" in client.get(refund_url(taken)).content.decode()
    local.calls.clear()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(refund_url(taken), {"amount": "5000", "reason": "Treatment shortened"})
    assert response.status_code == 302
    taken.refresh_from_db()
    assert taken.status == PaymentStatus.PARTIALLY_REFUNDED and taken.amount_refunded == 5000
    (refund,) = taken.refunds.all()
    assert refund.status == "succeeded" and refund.requested_by is not None and not refund.stripe_refund_id
    assert not local.calls  # given back at the desk: nothing goes to Stripe
    (receipt,) = [m for m in mail.outbox if m.subject.startswith("Receipt: refund")]
    assert "$50.00" in receipt.subject and "in cash at the desk" in receipt.body

    # Never more than what is left; then the rest.
    too_much = client.post(refund_url(taken), {"amount": "10001", "reason": "x"})
    assert too_much.status_code == 200 and "At most 10000 cents" in too_much.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(refund_url(taken), {"amount": "10000", "reason": "Complaint"})
    taken.refresh_from_db()
    assert taken.status == PaymentStatus.REFUNDED and taken.amount_refunded == 15000
    assert len([m for m in mail.outbox if m.subject.startswith("Receipt: refund")]) == 2
    assert not local.calls


@pytest.mark.policy("use-payments")
def test_the_front_desk_cannot_refund_a_balance_taken_at_the_desk(client):
    appointment = booked_with_deposit(client)
    taken = services.take_balance_at_checkout(appointment_id=appointment.pk, method=PaymentMethod.DESK_CARD_TERMINAL)
    client.force_login(front_desk_user(appointment.location))
    assert client.post(refund_url(taken), {"amount": "100", "reason": "x"}).status_code == 403
    assert not taken.refunds.exists()


def test_a_desk_refund_counts_in_the_days_takings(client):
    from payments import selectors

    appointment = booked_with_deposit(client)
    taken = services.take_balance_at_checkout(appointment_id=appointment.pk, method=PaymentMethod.DESK_CARD_TERMINAL)
    services.refund_payment(payment_id=taken.pk, amount=2500, reason="Goodwill")
    (row,) = selectors.daily_takings(locations=[appointment.location], day=taken.created_at.astimezone(LA).date())
    assert row["refunded"] == 2500 and row["net"] == 5000 + 15000 - 2500


def test_the_appointments_list_offers_checkout_to_the_front_desk(client):
    appointment = booked_with_deposit(client)
    client.force_login(front_desk_user(appointment.location))
    changelist = reverse("admin:appointments_appointment_changelist")
    response = client.post(changelist, {"action": "checkout_action", "_selected_action": [appointment.pk]})
    assert response.status_code == 302 and response.url == checkout_url(appointment)
