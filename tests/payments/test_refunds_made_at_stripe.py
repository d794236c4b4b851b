"""Refunds made at Stripe (its dashboard), not through our admin: each one becomes exactly one Refund row, a
receipt to the client and a line in the daily takings, from its webhooks or, when they were lost, from the
reconcile pass; a refund we made ourselves is never recorded twice, whatever order the news arrives in."""

import pytest
from django.core import mail
from django.utils import timezone

from payments import selectors, services
from payments.backends import stripe as stripe_backend
from payments.models import Payment, PaymentStatus, ProcessedWebhookEvent, Refund, RefundStatus
from payments.tasks import reconcile_payments
from privacy.erasure import erase_clients
from tests.support.payments import event, intent_of, post_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, deposit, fake_stripe, django_capture_on_commit_callbacks):
    """The 50.00 USD deposit, paid at Stripe and recorded paid (its own receipt already sent)."""
    fake_stripe.succeed(deposit.stripe_payment_intent_id)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event("payment_intent.succeeded", intent_of(deposit)))
    deposit.refresh_from_db()
    assert deposit.status == PaymentStatus.SUCCEEDED
    mail.outbox.clear()
    return deposit


def deliver(http, capture, *events):
    """Post each signed event, running what its commit queues (receipts); the responses."""
    responses = []
    for one in events:
        with capture(execute=True):
            responses.append(post_event(http, one))
    return responses


def refund_receipts():
    return [m.subject for m in mail.outbox if m.subject.startswith("Receipt: refund")]


def takings_refunded(payment):
    day = timezone.now().astimezone(payment.location.tzinfo).date()
    rows = selectors.daily_takings(locations=[payment.location], day=day)
    return sum(row["refunded"] for row in rows)


@pytest.mark.policy("use-payments")
def test_a_partial_refund_made_in_the_stripe_dashboard_is_one_refund_one_receipt_and_one_line_in_the_takings(
    client, paid, fake_stripe, django_capture_on_commit_callbacks
):
    at_stripe = fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id, 2000)
    created = event("refund.created", at_stripe, event_id="evt_refund_created")
    responses = deliver(
        client,
        django_capture_on_commit_callbacks,
        created,
        event("charge.refunded", fake_stripe.charge_of(paid.stripe_payment_intent_id)),
        event("refund.updated", at_stripe),
        created,  # Stripe's retry of a delivery
    )
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    assert responses[-1].content == b"duplicate"
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.amount, refund.status) == (paid.pk, 2000, RefundStatus.SUCCEEDED)
    assert refund.stripe_refund_id == at_stripe["id"] and refund.requested_by is None
    assert refund.reason == "Refunded in the Stripe dashboard (requested_by_customer)"
    paid.refresh_from_db()
    assert paid.amount_refunded == 2000 and paid.status == PaymentStatus.PARTIALLY_REFUNDED
    assert refund_receipts() == ["Receipt: refund of $20.00"]
    assert takings_refunded(paid) == 2000
    assert ProcessedWebhookEvent.objects.filter(type__startswith="refund.").count() == 2


def test_several_dashboard_refunds_of_one_charge_are_each_recorded_once_even_from_charge_refunded_alone(
    client, paid, fake_stripe, django_capture_on_commit_callbacks
):
    """Current API versions send a charge without its refunds: they are listed from Stripe, each recorded."""
    first = fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id, 1000)
    rest = fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id)
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("charge.refunded", fake_stripe.charge_of(first["payment_intent"])),
    )
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("refund.created", first),
        event("refund.created", rest),
        event("charge.refunded", fake_stripe.charge_of(first["payment_intent"])),
    )
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [1000, 4000]
    paid.refresh_from_db()
    assert paid.amount_refunded == 5000 and paid.status == PaymentStatus.REFUNDED
    assert sorted(refund_receipts()) == ["Receipt: refund of $10.00", "Receipt: refund of $40.00"]
    assert takings_refunded(paid) == 5000


def _our_refund_answered_first(http, paid, fake_stripe, capture):
    with capture(execute=True):
        refund = services.refund_payment(payment_id=paid.pk, amount=3000, reason="goodwill")
    assert refund.stripe_refund_id
    deliver(
        http,
        capture,
        event("refund.created", fake_stripe.refunds[refund.stripe_refund_id]),
        event("charge.refunded", fake_stripe.charge_of(paid.stripe_payment_intent_id)),
    )


def _webhooks_before_our_answer_is_recorded(http, paid, fake_stripe, capture, monkeypatch):
    """Stripe has made our refund and its webhooks arrive before send_refund records Stripe's answer."""
    create_refund = stripe_backend.PaymentsBackend.create_refund

    def answer_after_the_webhooks(self, **kwargs):
        result = create_refund(self, **kwargs)
        deliver(
            http,
            capture,
            event("refund.created", fake_stripe.refunds[result.id]),
            event("charge.refunded", fake_stripe.charge_of(kwargs["payment_intent_id"])),
        )
        return result

    monkeypatch.setattr(stripe_backend.PaymentsBackend, "create_refund", answer_after_the_webhooks)
    with capture(execute=True):
        services.refund_payment(payment_id=paid.pk, amount=3000, reason="goodwill")


def _answer_lost_then_webhook(http, paid, fake_stripe, capture):
    """Stripe made our refund but its answer never reached us (a timeout): the webhook settles our row."""
    fake_stripe.hang_next(1)
    with capture(execute=True):
        refund = services.refund_payment(payment_id=paid.pk, amount=3000, reason="goodwill")
    assert refund.status == RefundStatus.PENDING and refund.stripe_refund_id is None
    (at_stripe,) = fake_stripe.refunds.values()
    deliver(http, capture, event("refund.created", at_stripe))


def _answer_and_webhook_lost_then_reconciled(http, paid, fake_stripe, capture):
    fake_stripe.hang_next(1)
    with capture(execute=True):
        services.refund_payment(payment_id=paid.pk, amount=3000, reason="goodwill")
    with capture(execute=True):
        reconcile_payments()
        reconcile_payments()
    (at_stripe,) = fake_stripe.refunds.values()
    deliver(http, capture, event("refund.created", at_stripe))  # the webhook comes after all


@pytest.mark.policy("use-payments")
@pytest.mark.parametrize(
    "order",
    [
        _our_refund_answered_first,
        _webhooks_before_our_answer_is_recorded,
        _answer_lost_then_webhook,
        _answer_and_webhook_lost_then_reconciled,
    ],
    ids=["answer-first", "webhooks-first", "answer-lost", "answer-and-webhook-lost"],
)
def test_a_refund_we_made_ourselves_is_never_counted_twice_whatever_order_the_news_arrives_in(
    client, paid, fake_stripe, django_capture_on_commit_callbacks, monkeypatch, order
):
    args = (client, paid, fake_stripe, django_capture_on_commit_callbacks)
    order(*args, monkeypatch) if order is _webhooks_before_our_answer_is_recorded else order(*args)
    with django_capture_on_commit_callbacks(execute=True):
        reconcile_payments()
    (refund,) = Refund.objects.all()
    (at_stripe,) = fake_stripe.refunds.values()
    assert refund.stripe_refund_id == at_stripe["id"] and refund.status == RefundStatus.SUCCEEDED
    assert refund.reason == "goodwill"
    paid.refresh_from_db()
    assert paid.amount_refunded == 3000 and paid.status == PaymentStatus.PARTIALLY_REFUNDED
    assert takings_refunded(paid) == 3000
    assert refund_receipts() == ["Receipt: refund of $30.00"]
    assert len(fake_stripe.calls("POST", "/v1/refunds")) in (1, 2)  # a resend carries the same key
    assert {r["idempotency_key"] for r in fake_stripe.calls("POST", "/v1/refunds")} == {f"refund-{refund.pk}"}


@pytest.mark.policy("use-payments")
def test_a_dashboard_refund_whose_webhook_was_lost_is_recorded_once_by_the_reconcile_pass(
    client, paid, fake_stripe, django_capture_on_commit_callbacks
):
    at_stripe = fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id, 1500)
    with django_capture_on_commit_callbacks(execute=True):
        reconcile_payments.apply()
    with django_capture_on_commit_callbacks(execute=True):
        reconcile_payments.apply()
    deliver(client, django_capture_on_commit_callbacks, event("refund.created", at_stripe))  # late, after all
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.stripe_refund_id) == (1500, RefundStatus.SUCCEEDED, at_stripe["id"])
    paid.refresh_from_db()
    assert paid.amount_refunded == 1500
    assert refund_receipts() == ["Receipt: refund of $15.00"]
    assert takings_refunded(paid) == 1500
    # Only read from Stripe: the pass sends nothing that changes anything there.
    assert not [r for r in fake_stripe.requests if r["method"] == "POST" and r["path"] == "/v1/refunds"]


def test_a_pending_dashboard_refund_that_then_fails_counts_nowhere_and_gets_no_receipt(
    client, paid, fake_stripe, django_capture_on_commit_callbacks
):
    at_stripe = fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id, 1000, status="pending")
    deliver(client, django_capture_on_commit_callbacks, event("refund.created", at_stripe))
    assert Refund.objects.get().status == RefundStatus.PENDING
    failed = {**at_stripe, "status": "failed"}
    fake_stripe.refunds[at_stripe["id"]]["status"] = "failed"
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("refund.failed", failed),
        event("refund.created", at_stripe),  # a late copy of the first news does not bring it back
    )
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.FAILED
    paid.refresh_from_db()
    assert paid.amount_refunded == 0 and paid.status == PaymentStatus.SUCCEEDED
    assert refund_receipts() == [] and takings_refunded(paid) == 0
    assert selectors.refundable_amount(payment=paid) == 5000


@pytest.mark.policy("erasure-everywhere")
def test_a_dashboard_refund_of_an_erased_clients_payment_is_kept_for_the_books_and_emails_no_one(
    client, paid, fake_stripe, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        erase_clients(client_ids=[paid.client_id], reason="asked")
    mail.outbox.clear()
    at_stripe = fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id)
    deliver(client, django_capture_on_commit_callbacks, event("refund.created", at_stripe))
    refund = Refund.objects.get()
    assert refund.payment.client is None and refund.amount == 5000 and refund.status == RefundStatus.SUCCEEDED
    assert mail.outbox == []
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.REFUNDED and takings_refunded(paid) == 5000


def test_a_refund_of_a_charge_we_do_not_know_is_acknowledged_and_records_nothing(client, paid, fake_stripe):
    other = {
        "id": "re_elsewhere",
        "object": "refund",
        "amount": 700,
        "currency": "usd",
        "payment_intent": "pi_another_integration",
        "charge": "ch_another_integration",
        "status": "succeeded",
        "metadata": {},
    }
    charge = {"id": "ch_another_integration", "object": "charge", "payment_intent": "pi_another_integration"}
    responses = [
        post_event(client, event("refund.created", other)),
        post_event(client, event("charge.refunded", {**charge, "amount": 700, "amount_refunded": 700})),
        post_event(client, event("refund.created", {**other, "payment_intent": None})),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert not Refund.objects.exists()
    assert not fake_stripe.calls("GET", "/v1/refunds")  # a charge not ours is not asked about


@pytest.mark.parametrize("bad", [{"id": None}, {"id": "re_" + "x" * 300}, {"amount": "12.50"}], ids=str)
def test_a_signed_refund_event_that_cannot_be_stored_is_400_and_changes_nothing(client, paid, fake_stripe, bad):
    at_stripe = {**fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id, 1000), **bad}
    assert post_event(client, event("refund.created", at_stripe)).status_code == 400
    assert not Refund.objects.exists() and not ProcessedWebhookEvent.objects.filter(type="refund.created").exists()


@pytest.mark.parametrize("amount", [5001, 2**31], ids=["a_cent_more_than_paid", "more_than_the_database_holds"])
def test_a_refund_larger_than_the_payment_is_400_and_never_reaches_the_takings(client, paid, fake_stripe, amount):
    """Rule: no refund row gives back more than the payment took (was a -40.00 net day, or a 500)."""
    at_stripe = {**fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id, 1000), "amount": amount}
    assert post_event(client, event("refund.created", at_stripe)).status_code == 400
    assert not Refund.objects.exists() and takings_refunded(paid) == 0
    assert Payment.objects.get(pk=paid.pk).amount_refunded == 0


@pytest.mark.policy("use-payments")
def test_a_refund_event_with_a_bad_signature_is_refused_and_records_nothing(client, paid, fake_stripe):
    at_stripe = fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id, 1000)
    forged = event("refund.created", at_stripe)
    assert post_event(client, forged, secret="whsec_someone_else").status_code == 400
    assert post_event(client, forged, signature="t=1,v1=00").status_code == 400
    assert not Refund.objects.exists()
    paid.refresh_from_db()
    assert paid.amount_refunded == 0


def test_when_stripe_cannot_list_a_charges_refunds_the_event_is_503_and_applied_on_redelivery(
    client, paid, fake_stripe, django_capture_on_commit_callbacks
):
    fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id, 2500)
    refunded = event("charge.refunded", fake_stripe.charge_of(paid.stripe_payment_intent_id), event_id="evt_ch")
    fake_stripe.fail_next(1, status=500)
    (first,) = deliver(client, django_capture_on_commit_callbacks, refunded)
    assert first.status_code == 503 and not Refund.objects.exists()
    (again,) = deliver(client, django_capture_on_commit_callbacks, refunded)
    assert again.status_code == 200 and Refund.objects.get().amount == 2500
    assert Payment.objects.get(pk=paid.pk).amount_refunded == 2500


def test_a_dashboard_refund_heard_of_a_day_late_counts_in_the_takings_of_the_day_stripe_made_it(
    client, paid, fake_stripe, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    at_stripe = fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id, 1200)
    made_at = timezone.now() - timedelta(days=1)
    at_stripe["created"] = int(made_at.timestamp())
    deliver(client, django_capture_on_commit_callbacks, event("refund.created", at_stripe))
    made_on = made_at.astimezone(paid.location.tzinfo).date()
    by_day = {
        day: sum(row["refunded"] for row in selectors.daily_takings(locations=[paid.location], day=day))
        for day in (made_on, made_on + timedelta(days=1))
    }
    assert by_day == {made_on: 1200, made_on + timedelta(days=1): 0}


def test_the_reconcile_pass_reads_every_page_of_stripes_refund_list(
    client, paid, fake_stripe, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(stripe_backend, "REFUND_PAGE_SIZE", 2)
    for amount in (1000, 1500, 2500):
        fake_stripe.refund_in_dashboard(paid.stripe_payment_intent_id, amount)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reconcile_stripe_refunds() == 3
        assert services.reconcile_stripe_refunds() == 0  # a second pass changes nothing
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [1000, 1500, 2500]
    assert len(fake_stripe.calls("GET", "/v1/refunds")) == 4  # two pages per pass
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.REFUNDED and len(refund_receipts()) == 3
