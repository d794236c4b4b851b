"""What clinical forms hear from appointments (appointments does not import this app)."""

from clinic.queueing import enqueue


def on_appointment_booked(sender, appointment_id, **kwargs):
    from .tasks import send_forms_link

    enqueue(send_forms_link, appointment_id)
