"""The client's private forms link: signed, unguessable, and dead once the visit is over or cancelled."""

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment

SALT = "clinical_forms.link"


class LinkInvalid(Exception):
    """Tampered or unknown: answer 404."""


class LinkExpired(Exception):
    """Genuine but the visit is over or cancelled: answer 410."""


def forms_token(appointment: Appointment) -> str:
    # The appointment's random manage key makes the link unguessable; the salt keeps it apart from the manage link.
    return signing.dumps([appointment.pk, appointment.manage_key], salt=SALT, compress=False)


def forms_url(appointment: Appointment) -> str:
    return settings.SITE_URL + reverse("clinical_forms:index", args=[forms_token(appointment)])


def appointment_from_token(token: str, *, now=None) -> Appointment:
    try:
        pk, key = signing.loads(token, salt=SALT)
        appointment = Appointment.objects.select_related("location", "service", "client").get(
            pk=int(pk), manage_key=str(key)
        )
    except (signing.BadSignature, ValueError, TypeError, Appointment.DoesNotExist) as exc:
        raise LinkInvalid from exc
    if appointment.is_cancelled or (now or timezone.now()) > appointment.end:
        raise LinkExpired
    return appointment
