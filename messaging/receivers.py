"""Listens to appointments: a (re)booking queues its confirmation text."""

from django.dispatch import receiver

from appointments.signals import appointment_booked, appointment_rescheduled


@receiver(appointment_booked)
@receiver(appointment_rescheduled)
def queue_confirmation_text(sender, appointment_id, **kwargs):
    # In-process: a few writes; sending itself goes to a worker (or its sweeper).
    from .services import queue_booking_confirmation

    queue_booking_confirmation(appointment_id=appointment_id)
