"""The booking pages read a service's payment requirement from this process's copy (payments.selectors.
booking_requirement), and a change to the requirement counts at once: never a booking without the deposit
the clinic has just asked for, never a deposit step the clinic has just removed."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments.models import Appointment
from payments.models import BookingCheckout, PaymentRequirement
from tests.support.booking import details_url, post_booking
from tests.support.builders import bookable_clinic
from tests.support.payments import clinic_asking

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")


def slot(days=10):
    day = datetime.now(LA).date() + timedelta(days=days)
    return datetime.combine(day, time(10), tzinfo=LA)


def details_page(client, location, service, start):
    return client.get(details_url(location, service), {"start": start.isoformat(), "practitioner": "any"})


def test_a_deposit_asked_after_the_page_was_seen_is_asked_of_the_next_booking(
    client, django_capture_on_commit_callbacks
):
    location, service, _ = bookable_clinic()
    assert "deposit" not in details_page(client, location, service, slot()).content.decode()  # the copy: no step
    with django_capture_on_commit_callbacks(execute=True):
        PaymentRequirement.objects.create(location=location, service=service, kind="deposit_fixed", deposit_amount=5000)
    assert "Next you pay a deposit of $50.00" in details_page(client, location, service, slot()).content.decode()
    response = post_booking(client, location, service, slot())
    assert response.status_code == 302 and "booked=1" not in response.url
    assert BookingCheckout.objects.count() == 1 and not Appointment.objects.exists()


def test_a_deposit_removed_after_the_page_was_seen_books_straight_away(client, django_capture_on_commit_callbacks):
    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=5000)
    assert "Next you pay a deposit" in details_page(client, location, service, slot()).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        PaymentRequirement.objects.filter(location=location, service=service).delete()
    response = post_booking(client, location, service, slot())
    assert response.status_code == 302 and "booked=1" in response.url
    assert not BookingCheckout.objects.exists()


def test_the_checkout_charges_the_amount_of_the_row_not_of_the_copy(client, django_capture_on_commit_callbacks):
    location, service, _, _ = clinic_asking("deposit_fixed", deposit_amount=5000)
    details_page(client, location, service, slot())  # the copy holds $50
    PaymentRequirement.objects.filter(location=location, service=service).update(deposit_amount=7000)  # no signal
    post_booking(client, location, service, slot())
    assert BookingCheckout.objects.get().payment.amount == 7000


def test_the_details_page_and_the_booking_read_no_requirement_once_it_is_kept(client):
    location, service, _ = bookable_clinic()
    details_page(client, location, service, slot(11))
    with CaptureQueriesContext(connection) as page:
        details_page(client, location, service, slot(12))
    with CaptureQueriesContext(connection) as booking:
        post_booking(client, location, service, slot(12))
    read = [
        q["sql"] for q in page.captured_queries + booking.captured_queries if "payments_paymentrequirement" in q["sql"]
    ]
    assert read == []
