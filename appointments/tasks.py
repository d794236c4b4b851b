"""Celery tasks for appointments: thin wrappers that pass ids, not objects."""

from celery import shared_task

from . import services


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_booking_confirmation_email(appointment_id):
    return services.send_confirmation_email(appointment_id=appointment_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_change_email(appointment_id, change):
    return services.send_change_email(appointment_id=appointment_id, change=change)


@shared_task
def send_pending_confirmation_emails():
    return services.send_pending_confirmation_emails()
