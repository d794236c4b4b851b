"""The wording of the clinic's texts. Every program text says how to stop and get help."""

from django.conf import settings

from appointments.links import manage_url

OPT_OUT_LINE = "Reply STOP to opt out, HELP for help."


def _when(appointment, start=None):
    local = (start or appointment.start).astimezone(appointment.location.tzinfo)
    return local.strftime("%a %b %-d at %-I:%M %p %Z")


def booking_confirmation(appointment):
    # The program's first message: who, what, how often, rates, HELP and STOP.
    return (
        f"{settings.CLINIC_NAME}: your {appointment.service.name} at {appointment.location.name} is booked for "
        f"{_when(appointment)}. Manage: {manage_url(appointment)} "
        "You'll get appointment texts from us (about 2 per visit). Msg & data rates may apply. "
        "Reply HELP for help, STOP to opt out."
    )


def reminder(appointment):
    return (
        f"{settings.CLINIC_NAME} reminder: {appointment.service.name} at {appointment.location.name}, "
        f"{appointment.location.address.splitlines()[0]}, {_when(appointment)}. "
        f"Manage: {manage_url(appointment)} {OPT_OUT_LINE}"
    )
