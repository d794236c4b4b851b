"""The wording of the clinic's texts. Every program text says how to stop and get help."""

from django.conf import settings

from appointments.links import manage_url

OPT_OUT_LINE = "Reply STOP to opt out, HELP for help."


def _when(appointment, start=None):
    local = (start or appointment.start).astimezone(appointment.location.tzinfo)
    return local.strftime("%a %b %-d at %-I:%M %p %Z")


def booking_confirmation(appointment, service_names=None):
    # The program's first message: who, what, how often, rates, HELP and STOP.
    # service_names: a visit of several services, named in order ("HydraFacial + Chemical peel").
    return (
        f"{settings.CLINIC_NAME}: your {service_names or appointment.service.name} at {appointment.location.name} "
        "is booked for "
        f"{_when(appointment)}. Manage: {manage_url(appointment)} "
        "You'll get appointment texts from us (about 2 per visit). Msg & data rates may apply. "
        "Reply HELP for help, STOP to opt out."
    )


def cancelled_by_clinic(appointment, service_names=None):
    return (
        f"{settings.CLINIC_NAME}: your {service_names or appointment.service.name} at {appointment.location.name} on "
        f"{_when(appointment)} is cancelled. To book again, call {_phone(appointment.location)}. {OPT_OUT_LINE}"
    )


def reminder(appointment, service_names=None):
    return (
        f"{settings.CLINIC_NAME} reminder: {service_names or appointment.service.name} at {appointment.location.name}, "
        f"{appointment.location.address.splitlines()[0]}, {_when(appointment)}. "
        f"Reply C to confirm. Manage: {manage_url(appointment)} {OPT_OUT_LINE}"
    )


def _phone(location):
    return location.phone.as_national if location and location.phone else "the clinic"


def opt_out_confirmation(said_cancel, location, *, spanish=False):
    if spanish:
        return (
            f"Ha cancelado su suscripción a los mensajes de {settings.CLINIC_NAME}. No recibirá más mensajes. "
            "Responda START para volver a suscribirse."
        )
    text = (
        f"You are unsubscribed from {settings.CLINIC_NAME} texts. No more messages will be sent. "
        "Reply START to resubscribe."
    )
    if said_cancel:
        # CANCEL is a carrier opt-out word; the client may have meant their appointment.
        text += f" To cancel an appointment, call {_phone(location)} or use the manage link in your confirmation email."
    return text


def opt_in_confirmation():
    return (
        f"You are resubscribed to {settings.CLINIC_NAME} appointment texts. Msg frequency varies. "
        "Msg & data rates may apply. Reply HELP for help, STOP to opt out."
    )


JOIN_PROMPT = "Reply JOIN"


# The words the person agrees to by replying JOIN: sent to the number, and stored as the consent's notice.
def join_invitation():
    return (
        f"{JOIN_PROMPT} to get offers from {settings.CLINIC_NAME} by text "
        f"(up to {settings.MARKETING_MAX_PER_30_DAYS}/month). Msg&data rates may apply. STOP to opt out."
    )


def join_confirmation():
    return (
        f"You're signed up for {settings.CLINIC_NAME} offers by text "
        f"(up to {settings.MARKETING_MAX_PER_30_DAYS}/month). Msg&data rates may apply. "
        "Reply HELP for help, STOP to opt out."
    )


def join_nothing_pending(location):
    return (
        f"{settings.CLINIC_NAME}: there is no offers sign-up waiting for this number. "
        f"To get offers by text, tick the box when you book or call {_phone(location)}. Reply STOP to opt out."
    )


def help_reply(location, *, spanish=False):
    contact = _phone(location)
    if location and location.email:
        contact += f", {location.email}"
    name = f"{settings.CLINIC_NAME} {location.name}" if location else settings.CLINIC_NAME
    if spanish:
        return (
            f"{name}: mensajes sobre sus citas. Ayuda: {contact}. La frecuencia de los mensajes varía. "
            "Pueden aplicarse tarifas de mensajes y datos. Responda ALTO para cancelar."
        )
    return (
        f"{name}: appointment texts. Help: {contact}. "
        "Msg frequency varies. Msg & data rates may apply. Reply STOP to opt out."
    )


def confirmed(appointment):
    return (
        f"Thanks, your {appointment.service.name} at {settings.CLINIC_NAME} {appointment.location.name} on "
        f"{_when(appointment)} is confirmed. Reply STOP to opt out."
    )


def nothing_to_confirm(location):
    return (
        f"We couldn't find an upcoming appointment to confirm. Please call {_phone(location)}. Reply STOP to opt out."
    )
