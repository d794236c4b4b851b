"""A person's payment data: exported as ids, card brand, last four, expiry and amounts; erasure deletes the
Stripe customer through the API and keeps the bookkeeping rows without the person."""

import pytest

from payments import services
from payments.models import (
    CardSetup,
    Payment,
    PaymentRequirement,
    PaymentStatus,
    Refund,
    RequirementKind,
    SavedCard,
    StripeCustomer,
)
from payments.tasks import reconcile_payments
from privacy.erasure import erase_clients
from privacy.registry import export_subject
from tests.support.builders import ClientFactory, LocationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(fake_stripe):
    location = LocationFactory()
    service = ServiceFactory(locations=[location])
    PaymentRequirement.objects.create(
        location=location, service=service, kind=RequirementKind.DEPOSIT_FIXED, deposit_amount=5000
    )
    person = ClientFactory(first_name="Noor", last_name="Haddad")
    services.start_card_setup(client=person)
    SavedCard.objects.create(
        client=person, stripe_payment_method_id="pm_card_visa", brand="visa", last4="4242", exp_month=12, exp_year=2034
    )
    payment = services.start_deposit(client=person, location=location, service_id=service.pk)
    fake_stripe.succeed(payment.stripe_payment_intent_id)
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.SUCCEEDED)
    services.refund_payment(payment_id=payment.pk, amount=1500, reason="Noor Haddad moved the visit")
    return person, Payment.objects.get(pk=payment.pk)


@pytest.mark.policy("use-payments")
def test_the_export_holds_the_payment_rows_with_only_ids_card_brand_last4_expiry_and_amounts(paid):
    person, payment = paid
    data = export_subject([person.pk])
    assert [(p["amount_minor"], p["currency"], p["amount_refunded_minor"]) for p in data["payments"]] == [
        (5000, "usd", 1500)
    ]
    assert data["payments"][0]["stripe_payment_intent"] == payment.stripe_payment_intent_id
    assert [r["amount_minor"] for r in data["refunds"]] == [1500]
    assert data["saved_cards"] == [
        {
            "brand": "visa",
            "last4": "4242",
            "exp_month": 12,
            "exp_year": 2034,
            "stripe_payment_method": "pm_card_visa",
            "created_at": data["saved_cards"][0]["created_at"],
        }
    ]
    assert data["stripe_customers"][0]["stripe_customer"].startswith("cus_")
    assert len(data["card_setups"]) == 1
    # No secret and nothing of a card number goes into the bundle.
    assert "secret" not in repr(data)


@pytest.mark.policy("use-payments")
def test_erasure_deletes_the_stripe_customer_and_keeps_amounts_dates_and_currency_without_the_person(
    paid, fake_stripe, django_capture_on_commit_callbacks
):
    person, payment = paid
    customer_id = StripeCustomer.objects.get(client=person).stripe_customer_id
    with django_capture_on_commit_callbacks(execute=True):
        erase_clients(client_ids=[person.pk], reason="test")
    assert [r["path"] for r in fake_stripe.calls("DELETE", "/v1/customers")] == [f"/v1/customers/{customer_id}"]
    assert customer_id not in fake_stripe.customers
    assert not StripeCustomer.objects.exists() and not SavedCard.objects.exists()
    kept = Payment.objects.get(pk=payment.pk)
    assert kept.client_id is None and (kept.amount, kept.currency, kept.amount_refunded) == (5000, "usd", 1500)
    assert kept.created_at == payment.created_at and kept.client_secret == ""
    assert Refund.objects.get().reason == "[erased]"  # staff named her in it
    assert not CardSetup.objects.filter(client__isnull=False).exists()
    assert export_subject([person.pk])["payments"] == []


def test_a_stripe_outage_during_erasure_leaves_the_customer_to_be_deleted_by_the_next_run(
    paid, fake_stripe, django_capture_on_commit_callbacks
):
    person, _ = paid
    fake_stripe.fail_next(1, status=500)
    with django_capture_on_commit_callbacks(execute=True):
        erase_clients(client_ids=[person.pk], reason="test")
    left = StripeCustomer.objects.get()
    assert left.client_id is None and left.deletion_requested_at is not None  # no longer tied to the person
    reconcile_payments()
    assert not StripeCustomer.objects.exists() and not fake_stripe.customers


def test_a_customer_already_deleted_at_stripe_counts_as_deleted(paid, fake_stripe, django_capture_on_commit_callbacks):
    person, _ = paid
    fake_stripe.customers.clear()
    with django_capture_on_commit_callbacks(execute=True):
        erase_clients(client_ids=[person.pk], reason="test")
    assert not StripeCustomer.objects.exists()


@pytest.mark.policy("use-payments")
def test_the_policy_page_names_stripe_as_a_subprocessor_only_while_payments_go_through_stripe(client, settings):
    from privacy.demo import seed_privacy_demo_data

    seed_privacy_demo_data()
    settings.PAYMENTS_BACKEND = "payments.backends.local.PaymentsBackend"
    html = client.get("/privacy/").content.decode()
    assert "Stripe" not in html and "Twilio" in html
    settings.PAYMENTS_BACKEND = "payments.backends.stripe.PaymentsBackend"
    assert "Stripe" in client.get("/privacy/").content.decode()


@pytest.mark.policy("use-payments", "share-service-providers")
def test_every_published_version_of_the_policy_in_either_language_names_stripe_only_while_payments_are_on(
    client, settings
):
    from datetime import date

    from privacy.demo import seed_privacy_demo_data
    from privacy.models import PolicyVersion

    seed_privacy_demo_data()
    PolicyVersion.objects.create(version="2025-01", effective_date=date(2025, 1, 1), body="Old.", is_published=True)
    pages = ["/privacy/", "/privacy/versions/2025-01/"]
    settings.PAYMENTS_BACKEND = "payments.backends.local.PaymentsBackend"
    for page in pages:
        for language in ("en", "es"):
            html = client.get(page, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            assert "Twilio" in html and "Stripe" not in html, (page, language)
    settings.PAYMENTS_BACKEND = "payments.backends.stripe.PaymentsBackend"
    for page in pages:
        for language in ("en", "es"):
            html = client.get(page, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            assert "Stripe" in html, (page, language)
