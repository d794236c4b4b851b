"""Private manage links: signed, unguessable, and dead some days after the visit."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from .models import Appointment

SALT = "appointments.manage-link"


class LinkInvalid(Exception):
    """Tampered or unknown: answer 404."""


class LinkExpired(Exception):
    """Genuine but past its life: answer 410."""


def manage_token(appointment):
    # The random manage_key makes the link unguessable even if the signing
    # key leaked; the signature makes a guessed id useless.
    return signing.dumps([appointment.pk, appointment.manage_key], salt=SALT, compress=False)


def manage_path(appointment):
    return reverse("appointments:manage", args=[manage_token(appointment)])


def manage_url(appointment):
    return settings.SITE_URL + manage_path(appointment)


def appointment_from_token(token, *, now=None):
    try:
        pk, key = signing.loads(token, salt=SALT)
        appointment = Appointment.objects.select_related("location", "service", "practitioner", "client").get(
            pk=int(pk), manage_key=str(key)
        )
    except (signing.BadSignature, ValueError, TypeError, Appointment.DoesNotExist) as exc:
        raise LinkInvalid from exc
    now = now or timezone.now()
    if now > appointment.end + timedelta(days=settings.BOOKING_MANAGE_LINK_DAYS_AFTER):
        raise LinkExpired
    return appointment
