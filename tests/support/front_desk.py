"""The front desk in the admin: a Front desk staff user, and the add-appointment form as they fill it."""

from django.contrib.auth.models import Group
from django.urls import reverse

from appointments.models import AppointmentSource, AppointmentStatus
from clinic.roles import FRONT_DESK
from tests.support.builders import StaffFactory


def front_desk_user(*locations):
    # No locations given: a profile marked "All locations".
    user = StaffFactory(locations=list(locations) or None)
    user.groups.add(Group.objects.get(name=FRONT_DESK))
    return user


def add_form(location, service, person, client_record, hh, mm=0, **extra):
    data = {
        "client": client_record.pk,
        "location": location.pk,
        "service": service.pk,
        "practitioner": person.pk,
        "start_0": "2026-12-07",
        "start_1": f"{hh:02d}:{mm:02d}",
        "status": AppointmentStatus.BOOKED,
        "source": AppointmentSource.FRONT_DESK,
        "notes": "",
    }
    data.update(extra)
    return data


ADD_URL = reverse("admin:appointments_appointment_add")


def editing(appointment):
    """What an opened change form posts besides its fields: its empty texts inline, and when it was loaded
    (the admin refuses a change form without it, as a stale one)."""
    appointment.refresh_from_db(fields=["updated_at"])
    return {
        "sms_messages-TOTAL_FORMS": "0",
        "sms_messages-INITIAL_FORMS": "0",
        "loaded_version": appointment.updated_at.isoformat(),
    }
