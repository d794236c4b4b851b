"""The appointments app's personal data: a client's appointments."""

from .models import Appointment
from .services import erase_appointment_notes


def export_appointments(client_ids):
    rows = (
        Appointment.objects.filter(client_id__in=client_ids)
        .select_related("location", "service", "practitioner")
        .prefetch_related("assigned_units__unit__resource_type")
    )
    return {
        "appointments": [
            {
                "location": a.location.name,
                "service": a.service.name,
                "practitioner": a.practitioner.name,
                # The rooms and devices held for the visit (kind and name), e.g. "GentleMax laser: Laser 1".
                "rooms_and_devices": [f"{h.unit.resource_type.name}: {h.unit.name}" for h in a.assigned_units.all()],
                "start": a.start.isoformat(),
                "end": a.end.isoformat(),
                "status": a.status,
                "source": a.source,
                "notes": a.notes,
                "created_at": a.created_at.isoformat(),
            }
            for a in rows.order_by("start")
        ]
    }


def erase_appointments(client_ids):
    """Keep dates, services and prices for the accounts; drop the free text."""
    return erase_appointment_notes(client_ids=client_ids)
