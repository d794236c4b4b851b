"""The per-location daily takings list (scoped to the staff member's locations) and the retention job."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from payments import services
from payments.models import BookingCheckout, Payment, PaymentKind, PaymentStatus, Refund, RefundStatus
from payments.tasks import purge_expired_payment_records
from tests.support.builders import ClientFactory, LocationFactory
from tests.support.front_desk import front_desk_user

pytestmark = pytest.mark.django_db


def paid(location, amount, *, status=PaymentStatus.SUCCEEDED, kind=PaymentKind.DEPOSIT, **extra):
    return Payment.objects.create(
        client=ClientFactory(), location=location, kind=kind, amount=amount, currency="usd", status=status, **extra
    )


@pytest.mark.policy("use-payments")
def test_the_takings_list_sums_a_days_paid_charges_less_refunds_for_the_staff_members_locations_only(client):
    here, elsewhere = LocationFactory(name="Milpitas"), LocationFactory(name="Elsewhere")
    paid(here, 5000)
    fee = paid(here, 4000, kind=PaymentKind.NO_SHOW_FEE, amount_refunded=1500, status=PaymentStatus.PARTIALLY_REFUNDED)
    Refund.objects.create(payment=fee, amount=1500, reason="x", status=RefundStatus.SUCCEEDED)
    paid(here, 999, status=PaymentStatus.FAILED)  # not taken
    paid(elsewhere, 7777)
    client.force_login(front_desk_user(here))
    day = timezone.now().astimezone(here.tzinfo).date()
    page = client.get(reverse("admin:payments_payment_takings"), {"day": day.isoformat()}).content.decode()
    assert "Milpitas" in page and "$90.00" in page and "$15.00" in page and "$75.00" in page
    assert "Elsewhere" not in page and "$77.77" not in page and "$9.99" not in page


def test_another_day_shows_nothing_taken_and_a_bad_date_is_a_message_not_a_500(client):
    here = LocationFactory(name="Milpitas")
    paid(here, 5000)
    client.force_login(front_desk_user(here))
    url = reverse("admin:payments_payment_takings")
    yesterday = timezone.now().astimezone(here.tzinfo).date() - timedelta(days=1)
    assert "$50.00" not in client.get(url, {"day": yesterday.isoformat()}).content.decode()
    bad = client.get(url, {"day": "31-31-2026"})
    assert bad.status_code == 200 and "Enter a valid date" in bad.content.decode()


@pytest.mark.policy("use-payments")
def test_the_retention_job_deletes_payment_rows_older_than_the_retention_period(settings):
    settings.PAYMENT_RECORD_RETENTION_YEARS = 7
    location = LocationFactory()
    old, recent = paid(location, 5000), paid(location, 6000)
    Refund.objects.create(payment=old, amount=100, reason="x", status=RefundStatus.SUCCEEDED)
    Payment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=365 * 7 + 3))
    Payment.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=365 * 7 - 3))
    assert purge_expired_payment_records.apply().get() == 2
    assert list(Payment.objects.all()) == [recent] and not Refund.objects.exists()
    assert services.purge_expired_payment_records() == 0  # nothing more: safe to run twice


def test_the_retention_job_follows_the_setting(settings):
    settings.PAYMENT_RECORD_RETENTION_YEARS = 1
    location = LocationFactory()
    payment = paid(location, 5000)
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(days=400))
    assert services.purge_expired_payment_records() == 1
    assert not BookingCheckout.objects.exists() and not Payment.objects.exists()


def test_the_payments_list_links_to_the_daily_takings(client):
    client.force_login(front_desk_user(LocationFactory()))
    page = client.get(reverse("admin:payments_payment_changelist")).content.decode()
    assert reverse("admin:payments_payment_takings") in page
