"""Late-cancel and no-show fees, from the policy the client accepted: shown before an online cancellation
is confirmed, charged off-session to the card on file once (idempotency key), a card needing authentication
emailed a link; the front desk charges in the admin after a confirmation step, never above the policy."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse

from appointments.links import manage_token
from appointments.models import Appointment, AppointmentStatus
from payments import services
from payments.backends import local
from payments.models import Payment, PaymentKind, PaymentStatus, SavedCard
from payments.tasks import charge_appointment_fee
from tests.support.accounts import sign_in_by_code
from tests.support.front_desk import front_desk_user
from tests.support.payments import accept_policy, clinic_asking, pay_on_local_page, start_paid_booking

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")


def in_two_days():
    """Between 34 and 58 hours ahead: after the online cut-off (24 h), inside a 72-hour policy window."""
    return datetime.combine(datetime.now(LA).date() + timedelta(days=2), time(10), tzinfo=LA)


def in_ten_days():
    return datetime.combine(datetime.now(LA).date() + timedelta(days=10), time(10), tzinfo=LA)


def booked_with_card(http, start, *, card="pm_card_visa", kind="card_on_file", window_hours=72):
    location, service, people, _ = clinic_asking(kind)
    services.save_cancellation_policy(
        location=location, window_hours=window_hours, late_cancel_fee=4000, no_show_fee=6000
    )
    checkout = start_paid_booking(http, location, service, start)
    accept_policy(http, checkout)
    pay_on_local_page(http, checkout, card=card if card != local.NEEDS_AUTHENTICATION else "pm_card_visa")
    if card != "pm_card_visa":
        SavedCard.objects.update(stripe_payment_method_id=card)  # the card the bank later asks about
    return Appointment.objects.get(client_id=checkout.client_id)


def cancel_url(appointment):
    return reverse("appointments:cancel", args=[manage_token(appointment)])


@pytest.mark.policy("use-payments")
def test_cancelling_online_inside_the_window_shows_the_fee_first_and_cancels_nothing_yet(client):
    appointment = booked_with_card(client, in_two_days())
    response = client.post(cancel_url(appointment))
    page = response.content.decode()
    assert response.status_code == 200
    assert "late-cancel fee of $40.00" in page and "visa card ending 4242" in page
    appointment.refresh_from_db()
    assert appointment.status != AppointmentStatus.CANCELLED and not Payment.objects.filter(kind="late_cancel_fee")


@pytest.mark.policy("use-payments")
def test_confirming_cancels_and_charges_the_accepted_fee_off_session_once(client, django_capture_on_commit_callbacks):
    appointment = booked_with_card(client, in_two_days())
    # The location raises its fee afterwards: the client is held to the version she accepted.
    services.save_cancellation_policy(
        location=appointment.location, window_hours=72, late_cancel_fee=9900, no_show_fee=0
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel_url(appointment), {"accept_fee": "yes"})
    assert response.status_code == 302 and "cancelled=1" in response.url
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    fee = Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE)
    assert fee.amount == 4000 and fee.status == PaymentStatus.SUCCEEDED and fee.appointment == appointment
    charge_appointment_fee.apply(args=(appointment.pk, PaymentKind.LATE_CANCEL_FEE))  # a retried task
    assert Payment.objects.filter(kind=PaymentKind.LATE_CANCEL_FEE).count() == 1
    charges = [(key, p) for op, key, p in local.calls if op == "create_payment_intent" and p["off_session"]]
    assert charges == [(f"payment-{fee.pk}", charges[0][1])] and charges[0][1]["amount"] == 4000


@pytest.mark.policy("use-payments")
def test_cancelling_from_the_account_inside_the_window_shows_the_fee_first_and_charges_it_once_confirmed(
    client, run_tasks, sms_outbox, django_capture_on_commit_callbacks
):
    """The account's Cancel button is no way around the policy the client accepted."""
    appointment = booked_with_card(client, in_two_days())
    sign_in_by_code(client, run_tasks, sms_outbox, "(408) 555-0143")
    response = client.post(reverse("account:visit_cancel", args=[appointment.pk]))
    assert response.status_code == 200 and "late-cancel fee of $40.00" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status != AppointmentStatus.CANCELLED
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account:visit_cancel", args=[appointment.pk]), {"accept_fee": "yes"})
    assert response.status_code == 302 and "cancelled=1" in response.url
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    fee = Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE)
    assert fee.amount == 4000 and fee.status == PaymentStatus.SUCCEEDED


def test_cancelling_before_the_window_costs_nothing_and_asks_nothing(client):
    appointment = booked_with_card(client, in_ten_days())
    response = client.post(cancel_url(appointment))
    assert response.status_code == 302 and "cancelled=1" in response.url
    assert not Payment.objects.filter(kind=PaymentKind.LATE_CANCEL_FEE).exists()


def test_a_card_needing_authentication_gets_an_emailed_link_that_completes_the_fee(
    client, django_capture_on_commit_callbacks
):
    appointment = booked_with_card(client, in_two_days(), card=local.NEEDS_AUTHENTICATION)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(cancel_url(appointment), {"accept_fee": "yes"})
    fee = Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE)
    assert fee.status == PaymentStatus.REQUIRES_ACTION
    (message,) = [m for m in mail.outbox if "confirm your payment" in m.subject]
    assert message.to == [appointment.client.email] and "$40.00" in message.body
    link = re.search(r"https?://[^/\s]+(/payments/fee/\S+)", message.body).group(1)
    assert "Confirm the payment of $40.00" in client.get(link).content.decode()
    to_stripe = client.post(link)
    assert to_stripe.status_code == 302
    paid = client.post(to_stripe.url, {"card": "pm_card_visa"})
    assert paid.status_code == 302
    fee.refresh_from_db()
    assert fee.status == PaymentStatus.SUCCEEDED
    assert "this payment is complete" in client.get(link).content.decode()


def test_the_simulated_fee_page_goes_back_only_to_this_site(client, django_capture_on_commit_callbacks):
    """Its ?back= is the fee link's own page: another site's address there is not followed (no open redirect)."""
    appointment = booked_with_card(client, in_two_days(), card=local.NEEDS_AUTHENTICATION)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(cancel_url(appointment), {"accept_fee": "yes"})
    (message,) = [m for m in mail.outbox if "confirm your payment" in m.subject]
    link = re.search(r"https?://[^/\s]+(/payments/fee/\S+)", message.body).group(1)
    page = client.post(link).url.split("?")[0] + "?back=https://evil.example/phish"
    assert "evil.example" not in client.get(page).content.decode()
    paid = client.post(page, {"card": "pm_card_visa"})
    assert paid.status_code == 302 and "evil.example" not in paid.url


def test_a_tampered_fee_link_is_404(client):
    assert client.get(reverse("payments:fee", args=["not-a-token"])).status_code == 404


@pytest.mark.policy("use-payments")
def test_the_front_desk_charges_a_no_show_fee_after_confirming_and_never_above_the_policy(client):
    appointment = booked_with_card(client, in_two_days())
    client.force_login(front_desk_user(appointment.location))
    url = reverse("admin:payments_payment_charge_fee", args=[appointment.pk, PaymentKind.NO_SHOW_FEE])
    page = client.get(url).content.decode()
    assert "At most $60.00" in page and "ending 4242" in page
    assert client.post(url, {"amount": "6000"}).status_code == 200  # not confirmed: nothing charged
    assert not Payment.objects.filter(kind=PaymentKind.NO_SHOW_FEE).exists()
    over = client.post(url, {"amount": "6001", "confirm": "on"})
    assert "at most $60.00" in over.content.decode()
    assert not Payment.objects.filter(kind=PaymentKind.NO_SHOW_FEE).exists()
    done = client.post(url, {"amount": "2500", "confirm": "on"})
    assert done.status_code == 302
    fee = Payment.objects.get(kind=PaymentKind.NO_SHOW_FEE)
    assert fee.amount == 2500 and fee.status == PaymentStatus.SUCCEEDED


@pytest.mark.policy("use-payments")
def test_the_front_desk_cannot_charge_a_fee_at_another_location(client):
    appointment = booked_with_card(client, in_two_days())
    elsewhere = clinic_asking("card_on_file")[0]
    client.force_login(front_desk_user(elsewhere))
    url = reverse("admin:payments_payment_charge_fee", args=[appointment.pk, PaymentKind.NO_SHOW_FEE])
    assert client.post(url, {"amount": "6000", "confirm": "on"}).status_code == 404
    assert not Payment.objects.filter(kind=PaymentKind.NO_SHOW_FEE).exists()


def test_the_appointments_list_offers_the_fee_actions_to_the_front_desk(client):
    appointment = booked_with_card(client, in_two_days())
    client.force_login(front_desk_user(appointment.location))
    response = client.post(
        reverse("admin:appointments_appointment_changelist"),
        {"action": "charge_no_show_fee", "_selected_action": [appointment.pk]},
    )
    assert response.status_code == 302
    assert response.url == reverse("admin:payments_payment_charge_fee", args=[appointment.pk, "no_show_fee"])


def test_no_fee_without_a_policy_accepted_at_booking(client):
    from tests.support.builders import AppointmentFactory, bookable_clinic

    location, service, (person,) = bookable_clinic()
    appointment = AppointmentFactory(location=location, service=service, practitioner=person, start=in_two_days())
    SavedCard.objects.create(
        client=appointment.client,
        stripe_payment_method_id="pm_x",
        brand="visa",
        last4="4242",
        exp_month=1,
        exp_year=2030,
    )
    with pytest.raises(services.PaymentRefused, match="did not accept"):
        services.charge_appointment_fee(appointment_id=appointment.pk, kind=PaymentKind.NO_SHOW_FEE)


@pytest.mark.policy("use-payments")
def test_a_manager_is_capped_at_the_accepted_policy_too_since_the_client_agreed_to_no_more(client):
    from django.contrib.auth.models import Group

    from clinic.roles import CLINIC_MANAGER
    from tests.support.builders import StaffFactory

    appointment = booked_with_card(client, in_two_days())
    manager = StaffFactory(locations=[appointment.location])
    manager.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    client.force_login(manager)
    url = reverse("admin:payments_payment_charge_fee", args=[appointment.pk, PaymentKind.NO_SHOW_FEE])
    over = client.post(url, {"amount": "6001", "confirm": "on"})
    assert "at most $60.00" in over.content.decode()
    assert not Payment.objects.filter(kind=PaymentKind.NO_SHOW_FEE).exists()
    assert client.post(url, {"amount": "6000", "confirm": "on"}).status_code == 302
    assert Payment.objects.get(kind=PaymentKind.NO_SHOW_FEE).amount == 6000
