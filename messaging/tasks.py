"""Celery tasks for texts: thin, pass ids, safe to run twice."""

import smtplib

from celery import shared_task

from . import confirmations, marketing, preferences, reminders, sending


@shared_task(bind=True, acks_late=True, max_retries=None)
def send_sms(self, message_id):
    delivery = sending.deliver_sms(message_id=message_id)
    if delivery.retry_in is not None:
        if self.request.is_eager:
            # No broker to hold a retry (local runs): the message stays queued
            # and the dispatch pass queues it again.
            return "retry-later"
        raise self.retry(countdown=delivery.retry_in)
    return delivery.outcome


@shared_task(acks_late=True)
def send_sms_batch(message_ids):
    """First attempt for a batch; anything to retry goes on as its own send_sms task."""
    outcomes = {}
    for message_id in message_ids:
        delivery = sending.deliver_sms(message_id=message_id)
        if delivery.retry_in is not None and not send_sms_batch.request.is_eager:
            send_sms.apply_async(args=[message_id], countdown=delivery.retry_in)
        outcomes[delivery.outcome] = outcomes.get(delivery.outcome, 0) + 1
    return outcomes


@shared_task
def dispatch_due_reminders():
    report = reminders.dispatch_due_reminders()
    return {
        "queued": report.queued,
        "skipped": report.skipped,
        "requeued": report.requeued,
        "given_up": report.given_up,
    }


@shared_task(acks_late=True)
def queue_booking_confirmation(appointment_id):
    message = confirmations.queue_booking_confirmation(appointment_id=appointment_id)
    return message.pk if message else None


@shared_task
def start_due_campaigns():
    return marketing.start_due_campaigns()


@shared_task(
    acks_late=True, autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=True, retry_jitter=True, max_retries=5
)
def send_campaign_emails(email_ids):
    outcomes = {}
    for email_id in email_ids:
        outcome = marketing.deliver_campaign_email(email_id=email_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@shared_task(autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=True, retry_jitter=True, max_retries=5)
def email_preferences_link(email):
    # A task, so the page answers as fast for an unknown address as for a known one.
    return preferences.email_preferences_link(email=email)


@shared_task(acks_late=True)
def send_email_marketing_confirmation(appointment_id):
    from appointments.models import Appointment

    client_id = Appointment.objects.filter(pk=appointment_id).values_list("client_id", flat=True).first()
    return client_id is not None and preferences.send_email_marketing_confirmation(client_id=client_id)
