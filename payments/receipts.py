"""An emailed receipt for every charge and every refund: queued after the commit that settled it, sent once.

A saved payment or refund that is settled and has no receipt yet queues its task on commit (post_save);
the task locks the row and sends only if no receipt went out, so a repeat or a retry sends nothing more.
Rows settled by a bulk update (a webhook's refund list) are caught by the reconcile pass's sweep.
"""

from datetime import timedelta

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from clinic.languages import client_language
from clinic.plain_text import render_plain_text
from clinic.queueing import enqueue

from . import selectors
from .models import Payment, PaymentStatus, Refund, RefundStatus, format_money

PAID = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
SWEEP_DAYS = 7


def payment_saved(sender, instance, **kwargs):
    if instance.status in PAID and instance.receipt_emailed_at is None and instance.client_id:
        from .tasks import send_payment_receipt

        transaction.on_commit(lambda: enqueue(send_payment_receipt, instance.pk))


def refund_saved(sender, instance, **kwargs):
    if instance.status == RefundStatus.SUCCEEDED and instance.receipt_emailed_at is None:
        from .tasks import send_refund_receipt

        transaction.on_commit(lambda: enqueue(send_refund_receipt, instance.pk))


def send_payment_receipt(*, payment_id: int) -> bool:
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("client", "location", "appointment__service")
            .filter(pk=payment_id)
            .first()
        )
        if payment is None or payment.receipt_emailed_at or payment.status not in PAID:
            return False
        if payment.client is None or not payment.client.email:
            return False
        amount = format_money(payment.amount, payment.currency)
        with client_language(payment.client):
            _send(
                subject=gettext("Receipt: %(what)s of %(amount)s")
                % {"what": payment.get_kind_display().lower(), "amount": amount},
                template="payments/email/payment_receipt.txt",
                context={
                    "payment": payment,
                    "amount": amount,
                    # A visit's payment names every service of the visit, not only the first.
                    "services": selectors.services_paid_for(payment=payment),
                },
                to=payment.client.email,
            )
        Payment.objects.filter(pk=payment.pk).update(receipt_emailed_at=timezone.now())
        return True


def send_refund_receipt(*, refund_id: int) -> bool:
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update(of=("self",))
            .select_related("payment__client", "payment__location")
            .filter(pk=refund_id)
            .first()
        )
        if refund is None or refund.receipt_emailed_at or refund.status != RefundStatus.SUCCEEDED:
            return False
        client = refund.payment.client
        if client is None or not client.email:
            return False
        with client_language(client):
            _send(
                subject=gettext("Receipt: refund of %(amount)s")
                % {"amount": format_money(refund.amount, refund.currency)},
                template="payments/email/refund_receipt.txt",
                context={
                    "refund": refund,
                    "payment": refund.payment,
                    "amount": format_money(refund.amount, refund.currency),
                },
                to=client.email,
            )
        Refund.objects.filter(pk=refund.pk).update(receipt_emailed_at=timezone.now())
        return True


def _send(*, subject: str, template: str, context: dict, to: str) -> None:
    EmailMessage(subject=subject, body=render_plain_text(template, context), to=[to]).send()


def send_missed_receipts(*, now=None) -> int:
    """Receipts whose task never ran (broker down, a bulk update): sent now, for the last SWEEP_DAYS."""
    since = (now or timezone.now()) - timedelta(days=SWEEP_DAYS)
    sent = 0
    for pk in Payment.objects.filter(
        status__in=PAID, receipt_emailed_at__isnull=True, updated_at__gt=since, client__isnull=False
    ).values_list("pk", flat=True):
        sent += send_payment_receipt(payment_id=pk)
    for pk in Refund.objects.filter(
        status=RefundStatus.SUCCEEDED, receipt_emailed_at__isnull=True, updated_at__gt=since
    ).values_list("pk", flat=True):
        sent += send_refund_receipt(refund_id=pk)
    return sent
