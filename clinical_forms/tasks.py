"""Celery tasks for clinical forms: thin, pass ids, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, max_retries=5)
def send_forms_link(self, appointment_id):
    try:
        return services.send_forms_link(appointment_id=appointment_id)
    except Exception as exc:  # a database or mail hiccup: try again later (sending once is recorded)
        raise self.retry(exc=exc, countdown=min(300, 10 * 2**self.request.retries)) from exc


@shared_task(bind=True, acks_late=True, max_retries=5)
def send_health_change_notice(self, report_id):
    """After a reported change of health: ask the client once to sign their forms again before their next visit."""
    try:
        return services.send_health_change_notice(report_id=report_id)
    except Exception as exc:  # a database or mail hiccup: try again later (what went is recorded per report)
        raise self.retry(exc=exc, countdown=min(300, 10 * 2**self.request.retries)) from exc


@shared_task(acks_late=True)
def delete_clinical_records_past_retention():
    """Daily: signed forms whose legal period is over are deleted (idempotent)."""
    return services.delete_records_past_retention()


@shared_task(acks_late=True)
def send_due_form_reminders():
    """Every 15 minutes: the one reminder for visits within FORMS_REMINDER_HOURS whose forms are missing, and the
    requests to sign again whose own task never ran (the broker was down)."""
    services.send_missing_health_change_notices()
    return services.send_due_form_reminders()
