"""The wording of the clinic's texts. Every program text says how to stop and get help.

Each is translated (gettext) and written in the language active when it is called: the
functions about an appointment write in its client's language themselves (clinic.languages);
for the others the caller activates the language of the person written to (a keyword reply:
the keyword's language, else the sender's). Keep the Spanish short: an accented letter outside
GSM-7 (á í ó ú) makes the whole text UCS-2, 70 characters a segment instead of 160.
"""

from django.conf import settings
from django.utils import translation
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from appointments.links import manage_url
from clinic.languages import client_language

# Marketing texts end with this English line (messaging.marketing); the campaign's own words are the clinic's.
OPT_OUT_LINE = "Reply STOP to opt out, HELP for help."


def _when(appointment, start=None):
    """'Tue Dec 1 at 10:00 AM PST' ('mar 1 de dic, 10:00 AM PST') on the location's clock."""
    local = (start or appointment.start).astimezone(appointment.location.tzinfo)
    month = str(MONTHS_3[local.month])
    if translation.get_language() == "en":
        month = month.title()
    return _("%(weekday)s %(month)s %(day)s at %(time)s") % {
        "weekday": WEEKDAYS_ABBR[local.weekday()],
        "month": month,
        "day": local.day,
        "time": local.strftime("%-I:%M %p %Z"),
    }


def visit_time(appointment) -> str:  # type: ignore[no-untyped-def]
    """The appointment's time as the texts write it, in the active language (for other apps' messages)."""
    return _when(appointment)


def booking_confirmation(appointment, service_names=None):
    # The program's first message: who, what, how often, rates, HELP and STOP.
    # service_names: a visit of several services, named in order ("HydraFacial + Chemical peel").
    with client_language(appointment.client):
        return _(
            "%(clinic)s: your %(service)s at %(location)s is booked for %(when)s. Manage: %(url)s "
            "You'll get appointment texts from us (about 2 per visit). Msg & data rates may apply. "
            "Reply HELP for help, STOP to opt out."
        ) % {
            "clinic": settings.CLINIC_NAME,
            "service": service_names or appointment.service.name,
            "location": appointment.location.name,
            "when": _when(appointment),
            "url": manage_url(appointment),
        }


def cancelled_by_clinic(appointment, service_names=None):
    with client_language(appointment.client):
        return _(
            "%(clinic)s: your %(service)s at %(location)s on %(when)s is cancelled. "
            "To book again, call %(phone)s. Reply STOP to opt out, HELP for help."
        ) % {
            "clinic": settings.CLINIC_NAME,
            "service": service_names or appointment.service.name,
            "location": appointment.location.name,
            "when": _when(appointment),
            "phone": _phone(appointment.location),
        }


def reminder(appointment, service_names=None):
    with client_language(appointment.client):
        return _(
            "%(clinic)s reminder: %(service)s at %(location)s, %(address)s, %(when)s. "
            "Reply C to confirm. Manage: %(url)s Reply STOP to opt out, HELP for help."
        ) % {
            "clinic": settings.CLINIC_NAME,
            "service": service_names or appointment.service.name,
            "location": appointment.location.name,
            "address": appointment.location.address.splitlines()[0],
            "when": _when(appointment),
            "url": manage_url(appointment),
        }


def _phone(location):
    return location.phone.as_national if location and location.phone else _("the clinic")


def opt_out_confirmation(said_cancel, location):
    text = _(
        "You are unsubscribed from %(clinic)s texts. No more messages will be sent. Reply START to resubscribe."
    ) % {"clinic": settings.CLINIC_NAME}
    if said_cancel:
        # CANCEL is a carrier opt-out word; the client may have meant their appointment.
        text += " " + _(
            "To cancel an appointment, call %(phone)s or use the manage link in your confirmation email."
        ) % {"phone": _phone(location)}
    return text


def opt_in_confirmation():
    return _(
        "You are resubscribed to %(clinic)s appointment texts. Msg frequency varies. "
        "Msg & data rates may apply. Reply HELP for help, STOP to opt out."
    ) % {"clinic": settings.CLINIC_NAME}


def join_prompt():
    """The start of the JOIN invitation, in the active language."""
    return _("Reply JOIN")


def join_prompts():
    """The JOIN invitation's start in every language (to find an invitation already sent)."""
    prompts = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            prompts.add(join_prompt())
    return sorted(prompts)


# The words the person agrees to by replying JOIN: sent to the number, and stored as the consent's notice.
def join_invitation():
    return _(
        "%(prompt)s to get offers from %(clinic)s by text (up to %(cap)s/month). "
        "Msg&data rates may apply. STOP to opt out."
    ) % {"prompt": join_prompt(), "clinic": settings.CLINIC_NAME, "cap": settings.MARKETING_MAX_PER_30_DAYS}


def join_confirmation():
    return _(
        "You're signed up for %(clinic)s offers by text (up to %(cap)s/month). Msg&data rates may apply. "
        "Reply HELP for help, STOP to opt out."
    ) % {"clinic": settings.CLINIC_NAME, "cap": settings.MARKETING_MAX_PER_30_DAYS}


def join_nothing_pending(location):
    return _(
        "%(clinic)s: there is no offers sign-up waiting for this number. "
        "To get offers by text, tick the box when you book or call %(phone)s. Reply STOP to opt out."
    ) % {"clinic": settings.CLINIC_NAME, "phone": _phone(location)}


def help_reply(location):
    contact = _phone(location)
    if location and location.email:
        contact += f", {location.email}"
    name = f"{settings.CLINIC_NAME} {location.name}" if location else settings.CLINIC_NAME
    return _(
        "%(name)s: appointment texts. Help: %(contact)s. "
        "Msg frequency varies. Msg & data rates may apply. Reply STOP to opt out."
    ) % {"name": name, "contact": contact}


def confirmed(appointment):
    return _("Thanks, your %(service)s at %(clinic)s %(location)s on %(when)s is confirmed. Reply STOP to opt out.") % {
        "service": appointment.service.name,
        "clinic": settings.CLINIC_NAME,
        "location": appointment.location.name,
        "when": _when(appointment),
    }


def nothing_to_confirm(location):
    return _("We couldn't find an upcoming appointment to confirm. Please call %(phone)s. Reply STOP to opt out.") % {
        "phone": _phone(location)
    }
