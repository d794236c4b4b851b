"""A visit of several services at the desk and in its receipts: one visit balance (every part still on, priced,
less the visit's one deposit and its refunds), whichever part the desk checks out from; the visit checks out
whole, once; the deposit's receipt names every service of the visit, in English and in Spanish."""

import pytest
from django.core import mail
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus
from clinic.models import Client
from payments import receipts, selectors, services
from payments.models import (
    BookingCheckout,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentRequirement,
    PaymentStatus,
)
from tests.support.environment import requires_postgres
from tests.support.front_desk import front_desk_user
from tests.support.payments import accept_policy, pay_on_local_page
from tests.support.visits import at, visit_clinic, visit_form, visit_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    clinic = visit_clinic()
    services.save_cancellation_policy(location=clinic.location, window_hours=24, late_cancel_fee=4000, no_show_fee=6000)
    # Consultation $100 (nothing asked online), HydraFacial $300 with a $50 deposit.
    PaymentRequirement.objects.create(
        location=clinic.location, service=clinic.consultation, kind="none", price_amount=10000
    )
    PaymentRequirement.objects.create(
        location=clinic.location, service=clinic.facial, kind="deposit_fixed", deposit_amount=5000, price_amount=30000
    )
    return clinic


def booked_visit(http, clinic, capture=None, language=None):
    """A consultation then a facial, booked online with the facial's deposit paid: the visit's parts in order."""
    ids = f"{clinic.consultation.pk},{clinic.facial.pk}"
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = http.post(
        visit_url(clinic.location) + "details/",
        {**visit_form([]), "services": ids, "start": at(9).isoformat()},
        **extra,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    checkout = BookingCheckout.objects.get(key=response.url.rstrip("/").split("/")[-1])
    accept_policy(http, checkout)
    if capture is None:
        pay_on_local_page(http, checkout)
    else:
        with capture(execute=True):
            pay_on_local_page(http, checkout)
    parts = list(Appointment.objects.filter(client_id=checkout.client_id).order_by("start"))
    assert len(parts) == 2 and parts[0].visit_id is not None
    return parts


def checkout_url(appointment):
    return reverse("admin:payments_payment_checkout", args=[appointment.pk])


def balances():
    return Payment.objects.filter(kind=PaymentKind.BALANCE)


@pytest.mark.policy("use-payments")
def test_a_visits_checkout_shows_one_balance_for_every_part_less_the_visits_deposit_from_any_part(client, clinic):
    parts = booked_visit(client, clinic)
    (deposit,) = Payment.objects.filter(kind=PaymentKind.DEPOSIT)
    assert deposit.amount == 5000 and deposit.appointment_id == parts[0].pk  # it sits on the first part
    client.force_login(front_desk_user(clinic.location))
    for part in parts:
        page = client.get(checkout_url(part)).content.decode()
        # $100 + $300 = $400 for the visit, less the $50 deposit: $350, from the consultation or the facial.
        assert "$400.00" in page and "$50.00" in page and "$350.00" in page, part.service.name
        assert "Consultation" in page and "HydraFacial" in page and "$300.00" in page

    done = client.post(checkout_url(parts[1]), {"method": PaymentMethod.DESK_CASH, "confirm": "on"})
    assert done.status_code == 302
    (taken,) = balances()
    assert taken.amount == 35000 and taken.status == PaymentStatus.SUCCEEDED
    assert taken.appointment_id == parts[0].pk
    # The whole visit checked out, once.
    assert set(Appointment.objects.values_list("status", flat=True)) == {AppointmentStatus.COMPLETED}
    again = client.post(checkout_url(parts[0]), {"method": PaymentMethod.DESK_CARD_TERMINAL, "confirm": "on"})
    assert "Nothing is due" in again.content.decode() and balances().count() == 1


def test_a_visits_deposit_partly_refunded_counts_for_what_was_kept_against_the_whole_visit(client, clinic):
    parts = booked_visit(client, clinic)
    Payment.objects.filter(kind=PaymentKind.DEPOSIT).update(
        amount_refunded=2000, status=PaymentStatus.PARTIALLY_REFUNDED
    )
    taken = services.take_balance_at_checkout(appointment_id=parts[1].pk, method=PaymentMethod.DESK_CASH)
    assert taken.amount == 40000 - 3000


def test_a_cancelled_part_is_not_charged_and_the_visits_deposit_still_counts(client, clinic):
    parts = booked_visit(client, clinic)
    Appointment.objects.filter(pk=parts[0].pk).update(status=AppointmentStatus.CANCELLED)
    balance = selectors.appointment_balance(appointment=parts[1])
    assert balance.price == 30000 and balance.deposit_paid == 5000 and balance.due == 25000
    taken = services.take_balance_at_checkout(appointment_id=parts[1].pk, method=PaymentMethod.DESK_CASH)
    assert taken.amount == 25000 and taken.appointment_id == parts[1].pk
    assert Appointment.objects.get(pk=parts[0].pk).status == AppointmentStatus.CANCELLED
    # The cancelled part itself cannot be checked out.
    with pytest.raises(services.PaymentRefused):
        services.take_balance_at_checkout(appointment_id=parts[0].pk, method=PaymentMethod.DESK_CASH)
    assert balances().count() == 1


def test_a_visit_part_without_a_price_leaves_the_visits_balance_unknown_and_nothing_completed(client, clinic):
    parts = booked_visit(client, clinic)
    PaymentRequirement.objects.filter(service=clinic.consultation).update(price_amount=None)
    client.force_login(front_desk_user(clinic.location))
    page = client.get(checkout_url(parts[1])).content.decode()
    assert "no price set" in page and "A service of this visit has no price" in page
    response = client.post(checkout_url(parts[1]), {"method": PaymentMethod.DESK_CASH, "confirm": "on"})
    assert "has no price at this location" in response.content.decode()
    assert not balances().exists()
    assert not Appointment.objects.filter(status=AppointmentStatus.COMPLETED).exists()  # all or nothing


def test_the_visits_balance_charged_to_the_card_on_file_is_the_whole_visits_once(client, clinic):
    from payments.backends import local

    parts = booked_visit(client, clinic)
    local.calls.clear()
    taken = services.take_balance_at_checkout(appointment_id=parts[0].pk, method=PaymentMethod.STRIPE)
    assert taken.status == PaymentStatus.SUCCEEDED and taken.amount == 35000
    (call,) = [c for c in local.calls if c[0] == "create_payment_intent"]
    assert call[1] == taken.idempotency_key and call[2]["amount"] == 35000


# --- Receipts name every service of the visit -----------------------------------------------------------------


def receipts_to(address):
    return [m for m in mail.outbox if m.to == [address] and m.subject.startswith(("Receipt", "Recibo"))]


@pytest.mark.policy("use-payments")
def test_a_visits_deposit_receipt_names_every_service_of_the_visit(client, clinic, django_capture_on_commit_callbacks):
    booked_visit(client, clinic, capture=django_capture_on_commit_callbacks)
    email = Client.objects.get().email
    (receipt,) = receipts_to(email)
    assert "$50.00" in receipt.subject
    assert "For: Consultation, HydraFacial" in receipt.body


@pytest.mark.policy("use-payments")
def test_a_spanish_clients_visit_deposit_receipt_is_in_spanish_and_names_every_service(
    client, clinic, django_capture_on_commit_callbacks
):
    booked_visit(client, clinic, capture=django_capture_on_commit_callbacks, language="es")
    person = Client.objects.get()
    assert person.language == "es"
    (receipt,) = receipts_to(person.email)
    assert receipt.subject.startswith("Recibo") and "Thank you" not in receipt.body
    assert "Por: Consultation, HydraFacial" in receipt.body


def test_a_visits_balance_receipt_names_the_parts_it_charged(client, clinic, django_capture_on_commit_callbacks):
    parts = booked_visit(client, clinic)
    Appointment.objects.filter(pk=parts[0].pk).update(status=AppointmentStatus.CANCELLED)
    taken = services.take_balance_at_checkout(appointment_id=parts[1].pk, method=PaymentMethod.DESK_CASH)
    Payment.objects.filter(pk=taken.pk).update(receipt_emailed_at=None)
    mail.outbox.clear()
    assert receipts.send_payment_receipt(payment_id=taken.pk)
    (receipt,) = receipts_to(taken.client.email)
    assert "For: HydraFacial\n" in receipt.body and "Consultation" not in receipt.body


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_desk_checkouts_of_one_visit_from_different_parts_at_once_take_the_balance_once():
    """PostgreSQL, rounds: two front-desk screens check out the same visit at the same moment, one from the
    consultation, one from the facial. The visit's rows are locked in one order: one balance, never two."""
    import threading

    from django.db import connection
    from django.test import Client as HttpClient

    from tests.support.visits import visit_day

    clinic = visit_clinic()
    services.save_cancellation_policy(location=clinic.location, window_hours=24, late_cancel_fee=0, no_show_fee=0)
    PaymentRequirement.objects.create(
        location=clinic.location, service=clinic.consultation, kind="none", price_amount=10000
    )
    PaymentRequirement.objects.create(
        location=clinic.location, service=clinic.facial, kind="deposit_fixed", deposit_amount=5000, price_amount=30000
    )
    for round_ in range(3):
        http = HttpClient()
        ids = f"{clinic.consultation.pk},{clinic.facial.pk}"
        start = at(9, day=visit_day(10 + round_))
        response = http.post(
            visit_url(clinic.location) + "details/", {**visit_form([]), "services": ids, "start": start.isoformat()}
        )
        checkout = BookingCheckout.objects.get(key=response.url.rstrip("/").split("/")[-1])
        accept_policy(http, checkout)
        pay_on_local_page(http, checkout)
        parts = list(Appointment.objects.filter(client_id=checkout.client_id).order_by("start"))
        barrier, outcomes = threading.Barrier(2), []

        def desk(part, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait()
                outcomes.append(services.take_balance_at_checkout(appointment_id=part.pk, method="desk_cash"))
            except services.PaymentRefused as refusal:
                outcomes.append(str(refusal))
            finally:
                connection.close()

        threads = [threading.Thread(target=desk, args=(part,)) for part in reversed(parts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        taken = Payment.objects.filter(kind=PaymentKind.BALANCE, appointment__client_id=checkout.client_id)
        assert [p.amount for p in taken] == [35000], (round_, outcomes)
        assert any(isinstance(o, str) and "Nothing is due" in o for o in outcomes), outcomes


@pytest.mark.django_db(transaction=True)
def test_no_call_to_the_payments_provider_happens_inside_a_database_transaction_along_a_visits_payments(settings):
    """The visit's payment step (customer, Checkout page, its completion asked of Stripe), the expiry pass closing
    another visit's page, and the desk's charge of the visit's balance to the card on file: never under a lock."""
    from datetime import timedelta

    from django.test import Client as HttpClient
    from django.utils import timezone

    from appointments.models import SlotHold
    from tests.support.payments import WatchingBackend
    from tests.support.visits import visit_day

    settings.PAYMENTS_BACKEND = "tests.support.payments.WatchingBackend"
    WatchingBackend.seen = []
    clinic = visit_clinic()
    services.save_cancellation_policy(location=clinic.location, window_hours=24, late_cancel_fee=0, no_show_fee=0)
    PaymentRequirement.objects.create(
        location=clinic.location, service=clinic.consultation, kind="none", price_amount=10000
    )
    PaymentRequirement.objects.create(
        location=clinic.location, service=clinic.facial, kind="deposit_fixed", deposit_amount=5000, price_amount=30000
    )
    ids = f"{clinic.consultation.pk},{clinic.facial.pk}"
    checkouts = []
    for days in (10, 11):
        http = HttpClient()
        response = http.post(
            visit_url(clinic.location) + "details/",
            {**visit_form([]), "services": ids, "start": at(9, day=visit_day(days)).isoformat()},
        )
        checkout = BookingCheckout.objects.get(key=response.url.rstrip("/").split("/")[-1])
        accept_policy(http, checkout)
        checkouts.append((http, checkout))
    from payments.backends import local

    paid = checkouts[0][1]
    paid.refresh_from_db()
    # What the simulated page does when the client pays (the page itself runs with the plain local backend only).
    local.complete_session(paid.stripe_checkout_session_id, payment_method="pm_card_visa")
    services.sync_booking_checkout(checkout_id=paid.pk)
    left = checkouts[1][1]
    past = timezone.now() - timedelta(seconds=1)
    BookingCheckout.objects.filter(pk=left.pk).update(hold_expires_at=past)
    SlotHold.objects.filter(pk__in=left.hold_ids).update(expires_at=past)
    services.expire_booking_checkouts()
    first = Appointment.objects.filter(client_id=BookingCheckout.objects.get(pk=paid.pk).client_id).first()
    taken = services.take_balance_at_checkout(appointment_id=first.pk, method=PaymentMethod.STRIPE)
    assert taken.status == PaymentStatus.SUCCEEDED and taken.amount == 35000
    calls = {name for name, _ in WatchingBackend.seen}
    assert calls >= {
        "create_customer",
        "create_checkout_session",
        "retrieve_checkout_session",
        "retrieve_payment_intent",
        "card_details",
        "expire_checkout_session",
        "create_payment_intent",
    }
    assert [name for name, in_transaction in WatchingBackend.seen if in_transaction] == []
