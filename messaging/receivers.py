"""Listens to appointments: a (re)booking queues its confirmation text; a booking asks to confirm marketing email."""

from django.dispatch import receiver

from appointments.signals import appointment_booked, appointment_cancelled_by_clinic, appointment_rescheduled
from clinic.queueing import enqueue


@receiver(appointment_booked)
@receiver(appointment_rescheduled)
def queue_confirmation_text(sender, appointment_id, **kwargs):
    # In-process: a few writes; sending itself goes to a worker (or its sweeper).
    from .confirmations import queue_booking_confirmation

    queue_booking_confirmation(appointment_id=appointment_id)


@receiver(appointment_booked)
def ask_to_confirm_marketing_email(sender, appointment_id, **kwargs):
    # Double opt-in: an email marketing box ticked on the form is confirmed from the address itself.
    from .tasks import send_email_marketing_confirmation

    enqueue(send_email_marketing_confirmation, appointment_id)


@receiver(appointment_cancelled_by_clinic)
def queue_cancellation_text(sender, appointment_id, **kwargs):
    from .confirmations import queue_cancellation_notice

    queue_cancellation_notice(appointment_id=appointment_id)
