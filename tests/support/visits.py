"""A clinic where visits of several services can be booked, and the online visit form as a client fills it in."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse

from appointments import services
from appointments.models import Practitioner, Service
from clinic.models import Location

from .builders import LocationFactory, PractitionerFactory, ServiceFactory, WorkingHoursFactory, needs

LA = ZoneInfo("America/Los_Angeles")


def visit_day(days_ahead: int = 10) -> date:
    """A day inside the booking horizon and past the notice rule."""
    return datetime.now(LA).date() + timedelta(days=days_ahead)


def at(hour: int, minute: int = 0, day: date | None = None) -> datetime:
    return datetime.combine(day or visit_day(), time(hour, minute), tzinfo=LA)


@dataclass
class VisitClinic:
    location: Location
    consultation: Service  # 30 min, Avery only
    neurotoxin: Service  # 30 min, Avery or Blake
    facial: Service  # 60 min, Blake only, needs the one treatment room (15 min clean-up)
    avery: Practitioner
    blake: Practitioner
    room: object


def visit_clinic(*, hours=(time(9), time(17))) -> VisitClinic:
    location = LocationFactory()
    consultation = ServiceFactory(name="Consultation", locations=[location], duration_minutes=30)
    neurotoxin = ServiceFactory(name="Neurotoxin", locations=[location], duration_minutes=30)
    facial = ServiceFactory(name="HydraFacial", locations=[location], duration_minutes=60)
    room = needs(facial, location, room=(1, 15))["room"][1][0]
    avery = PractitionerFactory(name="Avery", locations=[location], services=[consultation, neurotoxin])
    blake = PractitionerFactory(name="Blake", locations=[location], services=[neurotoxin, facial])
    for person in (avery, blake):
        for weekday in range(7):
            WorkingHoursFactory(
                practitioner=person, location=location, weekday=weekday, start_time=hours[0], end_time=hours[1]
            )
    return VisitClinic(location, consultation, neurotoxin, facial, avery, blake, room)


def details(i: int = 0) -> services.ClientDetails:
    return services.ClientDetails(
        first_name=f"Visitor{i}", last_name="Test", email=f"visitor{i}@example.com", mobile_phone=f"+1408555{2000 + i}"
    )


def book(clinic: VisitClinic, service_list: list[Service], start: datetime, i: int = 0, **kwargs):
    return services.book_visit(
        location=clinic.location,
        service_ids=[s.pk for s in service_list],
        start=start,
        details=details(i),
        consents=services.BookingConsents(privacy_policy=True, sms_reminders=True),
        **kwargs,
    )


def visit_url(location: Location) -> str:
    return reverse("appointments:visit", args=[location.slug])


def visit_form(service_list, start=None, **overrides):
    """The visit form's fields, filled in (services chosen in order); an override of None leaves the field out."""
    data = {
        **{f"service_{n + 1}": str(s.pk) for n, s in enumerate(service_list)},
        "first_name": "Dana",
        "last_name": "Reyes",
        "email": "dana@example.com",
        "mobile_phone": "(408) 555-0143",
        "is_adult": "on",
        "accept_privacy_policy": "on",
        "sms_reminders": "on",
    }
    if start is not None:
        data["start"] = start.isoformat()
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
