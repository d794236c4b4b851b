"""A visit of several services takes the payment its services need in one step: a deposit of the parts' deposits
summed (computed on the server), or a card on file when a part wants one; every part's time is held meanwhile, and
the rules of a single booking hold: an abandoned payment releases every part, a late payment books the whole visit
when it is free, else is refunded in full. Never a part booked twice, never money kept for no visit."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments import services as appointment_services
from appointments.models import Appointment, AppointmentStatus, SlotHold
from clinic.models import Client
from payments import services
from payments.models import (
    BookingCheckout,
    CheckoutStatus,
    Payment,
    PaymentRequirement,
    PaymentStatus,
    Refund,
    RefundStatus,
    SavedCard,
)
from payments.tasks import expire_booking_checkouts
from tests.support.builders import ClientFactory
from tests.support.environment import requires_postgres
from tests.support.payments import accept_policy, event, pay_on_local_page, post_event
from tests.support.visits import at, visit_clinic, visit_form, visit_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    clinic = visit_clinic()
    services.save_cancellation_policy(location=clinic.location, window_hours=24, late_cancel_fee=4000, no_show_fee=6000)
    return clinic


def asks(clinic, service, kind, amount=None):
    PaymentRequirement.objects.create(
        location=clinic.location,
        service=service,
        kind=kind,
        deposit_amount=amount if kind == "deposit_fixed" else None,
    )


def send_visit_form(http, clinic, service_list, start, **overrides):
    ids = ",".join(str(s.pk) for s in service_list)
    return http.post(
        visit_url(clinic.location) + "details/",
        {**visit_form([]), "services": ids, "start": start.isoformat(), **overrides},
    )


def started(http, clinic, service_list, start):
    response = send_visit_form(http, clinic, service_list, start)
    assert response.status_code == 302, response.content.decode()[:2000]
    return BookingCheckout.objects.get(key=response.url.rstrip("/").split("/")[-1])


def hold_runs_out(checkout):
    past = timezone.now() - timedelta(seconds=1)
    BookingCheckout.objects.filter(pk=checkout.pk).update(hold_expires_at=past)
    SlotHold.objects.filter(pk__in=checkout.hold_ids).update(expires_at=past)


@pytest.mark.policy("use-payments")
def test_a_visit_pays_one_deposit_of_its_parts_deposits_summed_and_is_booked_whole_once_paid(client, clinic):
    asks(clinic, clinic.facial, "deposit_fixed", 5000)
    asks(clinic, clinic.neurotoxin, "deposit_fixed", 2500)
    parts = [clinic.consultation, clinic.neurotoxin, clinic.facial]
    details = client.get(
        visit_url(clinic.location)
        + "details/?"
        + f"services={','.join(str(s.pk) for s in parts)}&start={at(9).isoformat()}"
    ).content.decode()
    assert "deposit of $75.00 for this visit" in details and "late" in details.lower()

    checkout = started(client, clinic, parts, at(9))
    assert checkout.payment.amount == 7500 and checkout.payment.currency == "usd"
    # Every part's time is held, none booked yet.
    assert SlotHold.objects.filter(pk__in=checkout.hold_ids).count() == 3 and not Appointment.objects.exists()
    page = client.get(reverse("payments:booking_checkout", args=[checkout.key])).content.decode()
    assert all(s.name in page for s in parts) and "$75.00" in page

    accept_policy(client, checkout)
    pay_on_local_page(client, checkout)
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED and checkout.visit_id is not None
    booked = list(Appointment.objects.order_by("start"))
    assert [a.service for a in booked] == parts and {a.visit_id for a in booked} == {checkout.visit_id}
    assert all(a.client_id == checkout.client_id for a in booked)
    assert not SlotHold.objects.exists()
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.appointment_id == booked[0].pk
    assert SavedCard.objects.filter(client_id=checkout.client_id).exists()  # for the policy's fees


def test_a_visit_where_a_part_wants_a_card_on_file_saves_one_and_charges_nothing(client, clinic):
    asks(clinic, clinic.facial, "card_on_file")
    checkout = started(client, clinic, [clinic.consultation, clinic.facial], at(9))
    assert checkout.payment_id is None and checkout.card_setup_id is not None
    accept_policy(client, checkout)
    pay_on_local_page(client, checkout)
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED and Appointment.objects.count() == 2
    assert not Payment.objects.exists() and SavedCard.objects.count() == 1


def test_a_deposit_and_a_card_on_file_in_one_visit_take_the_deposit_which_saves_the_card(client, clinic):
    asks(clinic, clinic.facial, "card_on_file")
    asks(clinic, clinic.consultation, "deposit_fixed", 3000)
    checkout = started(client, clinic, [clinic.consultation, clinic.facial], at(9))
    assert checkout.payment.amount == 3000


def test_a_visit_whose_services_ask_nothing_is_booked_at_once_as_before(client, clinic):
    asks(clinic, clinic.facial, "deposit_fixed", 5000)
    response = send_visit_form(client, clinic, [clinic.consultation, clinic.neurotoxin], at(9))
    assert response.status_code == 302 and "booked=1" in response.url
    assert Appointment.objects.count() == 2 and not BookingCheckout.objects.exists()


def test_the_visit_service_itself_never_books_a_part_unpaid(clinic):
    from tests.support.visits import book

    asks(clinic, clinic.facial, "deposit_fixed", 5000)
    with pytest.raises(appointment_services.BookingRefused, match="deposit or a card on file"):
        book(clinic, [clinic.consultation, clinic.facial], at(9))
    assert not Appointment.objects.exists() and not Client.objects.exists()


def test_the_visit_form_offers_the_services_that_take_a_deposit(client, clinic):
    asks(clinic, clinic.facial, "deposit_fixed", 5000)
    page = client.get(visit_url(clinic.location)).content.decode()
    form = page.split('<form method="get"', 1)[1].split("</form>", 1)[0]
    assert clinic.facial.name in form and "booked-alone" not in page


@pytest.mark.policy("use-payments")
def test_an_abandoned_visit_payment_releases_every_part_and_a_late_payment_still_books_the_free_visit(client, clinic):
    asks(clinic, clinic.facial, "deposit_fixed", 5000)
    checkout = started(client, clinic, [clinic.consultation, clinic.facial], at(9))
    accept_policy(client, checkout)
    hold_runs_out(checkout)
    expire_booking_checkouts()
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.EXPIRED and not SlotHold.objects.exists()
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_a_late_visit_payment_books_the_visit_when_every_part_is_still_free(client, clinic, fake_stripe):
    asks(clinic, clinic.facial, "deposit_fixed", 5000)
    checkout = started(client, clinic, [clinic.consultation, clinic.facial], at(9))
    accept_policy(client, checkout)
    checkout.refresh_from_db()
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    hold_runs_out(checkout)
    post_event(client, event("checkout.session.completed", session))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.BOOKED and Appointment.objects.count() == 2


@pytest.mark.policy("use-payments")
def test_a_late_visit_payment_when_one_part_was_taken_meanwhile_is_refunded_in_full_and_books_no_part(
    client, clinic, fake_stripe, django_capture_on_commit_callbacks
):
    asks(clinic, clinic.facial, "deposit_fixed", 5000)
    asks(clinic, clinic.consultation, "deposit_fixed", 2000)
    checkout = started(client, clinic, [clinic.consultation, clinic.facial], at(9))
    accept_policy(client, checkout)
    checkout.refresh_from_db()
    (create,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert create["params"]["line_items"]["0][price_data][unit_amount"] == "7000"  # the server's sum
    assert create["idempotency_key"] == f"checkout-{checkout.pk}"
    session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
    hold_runs_out(checkout)
    # The facial's time (Blake, 9:30) goes to someone else meanwhile.
    facial_start = at(9, 30)
    taken = appointment_services.save_appointment_from_front_desk(
        appointment_id=None,
        client=ClientFactory(),
        location=clinic.location,
        service=clinic.facial,
        practitioner=clinic.blake,
        start=facial_start,
        status=AppointmentStatus.BOOKED,
        source="front_desk",
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event("checkout.session.completed", session))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.REFUNDED
    assert list(Appointment.objects.all()) == [taken]  # no part of the visit booked
    refund = Refund.objects.get()
    assert refund.amount == 7000 and refund.status == RefundStatus.SUCCEEDED
    (sent,) = fake_stripe.calls("POST", "/v1/refunds")
    assert sent["idempotency_key"] == f"refund-{refund.pk}"
    assert not SlotHold.objects.exists()


def test_a_visit_page_opened_at_stripe_whose_answer_was_lost_reuses_its_key(client, clinic, fake_stripe):
    import time as time_module

    asks(clinic, clinic.facial, "deposit_fixed", 5000)
    checkout = started(client, clinic, [clinic.consultation, clinic.facial], at(9))
    services.ensure_stripe_customer(client=checkout.client)
    fake_stripe.hang_next(1)
    response = accept_policy(client, checkout)
    assert response.status_code == 400 and "did not answer" in response.content.decode()
    time_module.sleep(1.1)
    assert accept_policy(client, checkout).status_code == 302
    creates = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert {c["idempotency_key"] for c in creates} == {f"checkout-{checkout.pk}"}
    assert len(fake_stripe.checkout_sessions) == 1


def test_a_visit_whose_time_is_taken_before_the_form_is_sent_holds_nothing_and_offers_other_times(client, clinic):
    from tests.support.visits import book

    asks(clinic, clinic.facial, "deposit_fixed", 5000)
    book(clinic, [clinic.consultation, clinic.neurotoxin], at(9))  # Avery busy 9:00-9:30
    response = send_visit_form(client, clinic, [clinic.consultation, clinic.facial], at(9))
    assert response.status_code == 409
    assert not BookingCheckout.objects.exists() and not SlotHold.objects.exists()


# --- Late-cancel and no-show fees for a visit: shown first, charged once per visit ------------------------------


def visit_booked_with_card(http, clinic, day_offset=2):
    """A consultation then a facial (card on file), booked online: in two days (inside a 72-hour window)."""
    from tests.support.visits import visit_day

    services.save_cancellation_policy(location=clinic.location, window_hours=72, late_cancel_fee=4000, no_show_fee=6000)
    asks(clinic, clinic.facial, "card_on_file")
    checkout = started(http, clinic, [clinic.consultation, clinic.facial], at(10, day=visit_day(day_offset)))
    accept_policy(http, checkout)
    pay_on_local_page(http, checkout)
    return list(Appointment.objects.filter(visit_id=BookingCheckout.objects.get().visit_id).order_by("start"))


def visit_cancel_url(appointment):
    from appointments.links import manage_token

    return reverse("appointments:cancel", args=[manage_token(appointment)])


@pytest.mark.policy("use-payments")
def test_cancelling_a_visit_inside_the_window_shows_the_fee_first_then_cancels_it_whole_and_charges_once(
    client, clinic, django_capture_on_commit_callbacks
):
    parts = visit_booked_with_card(client, clinic)
    first = client.post(visit_cancel_url(parts[1]))
    page = first.content.decode()
    assert first.status_code == 200 and "late-cancel fee of $40.00" in page and "once for the visit" in page
    assert all(s in page for s in ("Consultation", "HydraFacial"))
    assert not Appointment.objects.filter(status=AppointmentStatus.CANCELLED).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(visit_cancel_url(parts[1]), {"accept_fee": "yes"})
    assert done.status_code == 302 and "cancelled=1" in done.url
    assert set(Appointment.objects.values_list("status", flat=True)) == {AppointmentStatus.CANCELLED}
    (fee,) = Payment.objects.filter(kind="late_cancel_fee")
    assert fee.amount == 4000 and fee.status == PaymentStatus.SUCCEEDED and fee.appointment_id == parts[0].pk
    # Asked again for another part of the same visit (a retried task): the first fee, charged once.
    again = services.charge_appointment_fee(appointment_id=parts[1].pk, kind="late_cancel_fee")
    assert again.pk == fee.pk and Payment.objects.filter(kind="late_cancel_fee").count() == 1


def test_cancelling_a_visit_before_the_window_costs_nothing_and_asks_nothing(client, clinic):
    parts = visit_booked_with_card(client, clinic, day_offset=10)
    response = client.post(visit_cancel_url(parts[0]))
    assert response.status_code == 302 and "cancelled=1" in response.url
    assert not Payment.objects.filter(kind="late_cancel_fee").exists()


@pytest.mark.policy("use-payments")
def test_the_front_desk_charges_a_visits_no_show_fee_once_whichever_part_it_starts_from(client, clinic):
    from tests.support.front_desk import front_desk_user

    parts = visit_booked_with_card(client, clinic)
    client.force_login(front_desk_user(clinic.location))
    for part in parts:
        url = reverse("admin:payments_payment_charge_fee", args=[part.pk, "no_show_fee"])
        page = client.get(url).content.decode()
        assert "$60.00" in page
        client.post(url, {"amount": "6000", "confirm": "on"})
    (fee,) = Payment.objects.filter(kind="no_show_fee")
    assert fee.amount == 6000 and fee.status == PaymentStatus.SUCCEEDED and fee.appointment_id == parts[0].pk


@requires_postgres
@pytest.mark.policy("use-payments")
@pytest.mark.django_db(transaction=True)
def test_a_late_visit_payment_racing_a_front_desk_booking_of_one_part_ends_in_one_booking_or_a_full_refund(
    fake_stripe,
):
    """PostgreSQL, rounds: the holds have ended; the visit's payment webhook and a front-desk booking of its
    facial's time arrive at once. Each round: the facial's time is booked once, and the payment either booked
    the whole visit or went back in full with no part booked."""
    import threading
    import time as time_module

    from django.db import connection
    from django.test import Client as HttpClient

    from appointments.services import FrontDeskBookingRefused
    from tests.support.visits import visit_day

    clinic = visit_clinic()
    services.save_cancellation_policy(location=clinic.location, window_hours=24, late_cancel_fee=0, no_show_fee=0)
    asks(clinic, clinic.facial, "deposit_fixed", 5000)
    for round_ in range(4):
        day = visit_day(10 + round_)
        http = HttpClient()
        checkout = started(http, clinic, [clinic.consultation, clinic.facial], at(9, day=day))
        accept_policy(http, checkout)
        checkout.refresh_from_db()
        session = fake_stripe.complete_session(checkout.stripe_checkout_session_id)
        hold_runs_out(checkout)
        barrier, errors = threading.Barrier(2), []

        def webhook(session=session, barrier=barrier, errors=errors):
            try:
                barrier.wait()
                assert post_event(HttpClient(), event("checkout.session.completed", session)).status_code == 200
            except Exception as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)
            finally:
                connection.close()

        def desk(delay=0.08 * round_, day=day, barrier=barrier, errors=errors):
            try:
                barrier.wait()
                time_module.sleep(delay)
                appointment_services.save_appointment_from_front_desk(
                    appointment_id=None,
                    client=ClientFactory(),
                    location=clinic.location,
                    service=clinic.facial,
                    practitioner=clinic.blake,
                    start=at(9, 30, day=day),
                    status=AppointmentStatus.BOOKED,
                    source="front_desk",
                )
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
        facials = Appointment.objects.filter(service=clinic.facial, start__date=at(9, day=day).date())
        assert facials.exclude(status=AppointmentStatus.CANCELLED).count() == 1, round_
        payment = Payment.objects.get(pk=checkout.payment_id)
        mine = Appointment.objects.filter(client_id=checkout.client_id)
        if checkout.status == CheckoutStatus.BOOKED:
            assert mine.count() == 2 and payment.status == PaymentStatus.SUCCEEDED and not payment.refunds.exists()
        else:
            assert checkout.status == CheckoutStatus.REFUNDED and not mine.exists()
            assert payment.status == PaymentStatus.REFUNDED and payment.amount_refunded == 5000
