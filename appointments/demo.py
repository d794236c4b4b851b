"""Demo data: the clinic's two real locations, its menu, practitioners and hours."""

import secrets
from datetime import time, timedelta

from django.contrib.auth.models import Group, User
from django.db import transaction

from clinic.models import Location, StaffProfile
from clinic.roles import FRONT_DESK

from .models import (
    Practitioner,
    PractitionerService,
    ResourceType,
    ResourceUnit,
    Service,
    ServiceCategory,
    ServiceRequirement,
    WorkingHours,
)

LOCATIONS = [
    {
        "slug": "milpitas",
        "name": "Milpitas",
        "address": "980 Larkin Rd\nMilpitas, CA 95035",
        "phone": "+14088211633",
        "email": "milpitas@california-aesthetics.example",
        "timezone": "America/Los_Angeles",
    },
    {
        "slug": "glendale",
        "name": "Glendale",
        "address": "1305 S Central Ave #B00\nGlendale, CA 91204",
        "phone": "+17472211816",
        "email": "glendale@california-aesthetics.example",
        "timezone": "America/Los_Angeles",
    },
]

# (slug, name, minutes, buffer after, price, description)
SERVICES = [
    (
        "consultation",
        "Consultation",
        30,
        0,
        "Complimentary",
        "Meet a provider, discuss your goals and build a treatment plan.",
    ),
    (
        "neurotoxin",
        "Neurotoxin (Botox, Dysport)",
        30,
        15,
        "from $12 per unit",
        "Softens expression lines on the forehead, frown lines and crow's feet.",
    ),
    (
        "dermal-filler",
        "Dermal filler",
        60,
        15,
        "from $650 per syringe",
        "Restores volume to lips, cheeks and under-eyes with hyaluronic acid fillers.",
    ),
    ("hydrafacial", "HydraFacial", 60, 15, "from $199", "Cleanses, exfoliates and hydrates in one gentle treatment."),
    ("chemical-peel", "Chemical peel", 45, 15, "from $150", "Evens tone and texture; light and medium depth peels."),
    (
        "laser-hair-removal",
        "Laser hair removal",
        30,
        15,
        "from $99 per area",
        "Long-lasting hair reduction for face and body.",
    ),
    (
        "microneedling",
        "Microneedling",
        75,
        15,
        "from $300",
        "Collagen induction for texture, fine lines and acne scars.",
    ),
]

# The booking site's headings, in the clinic's order.
CATEGORIES = [("Consultations", 0), ("Injectables", 1), ("Facials and peels", 2), ("Laser", 3), ("Skin renewal", 4)]
# slug: (category, position within it, preparation notes shown on the confirmation page)
SERVICE_PLACES = {
    "consultation": ("Consultations", 0, "Bring a list of any medicines and supplements you take."),
    "neurotoxin": (
        "Injectables",
        0,
        "Avoid alcohol, aspirin and ibuprofen for 24 hours before. Come without makeup on the treated area.",
    ),
    "dermal-filler": (
        "Injectables",
        1,
        "Avoid alcohol, aspirin, ibuprofen and fish oil for 48 hours before, to lessen bruising.",
    ),
    "hydrafacial": ("Facials and peels", 0, "Arrive without makeup if you can; skip retinol for 2 days before."),
    "chemical-peel": (
        "Facials and peels",
        1,
        "Stop retinol, exfoliants and waxing of the area 5 days before. Come bare-faced.",
    ),
    "laser-hair-removal": (
        "Laser",
        0,
        "Shave the area the day before; no waxing, plucking or sun tanning for 4 weeks before.",
    ),
    "microneedling": ("Skin renewal", 0, "Stop retinol 3 days before and come without makeup."),
}

INJECTABLES = ["consultation", "neurotoxin", "dermal-filler"]
SKIN = ["consultation", "hydrafacial", "chemical-peel", "laser-hair-removal", "microneedling"]

TUE_TO_SAT = [1, 2, 3, 4, 5]
MON_TO_FRI = [0, 1, 2, 3, 4]
# A split day: a lunch break between two spans.
SPLIT_DAY = [(time(10), time(13)), (time(13, 30), time(19))]
SHORT_DAY = [(time(9), time(17))]

# (name, title, location slugs, services, weekdays, spans)
PRACTITIONERS = [
    ("Dr. Priya Raman", "Medical Director", ["milpitas"], INJECTABLES, [1, 3, 5], SHORT_DAY),
    ("Alicia Nguyen, RN", "Nurse Injector", ["milpitas"], INJECTABLES + ["microneedling"], TUE_TO_SAT, SPLIT_DAY),
    ("Maya Torres", "Licensed Esthetician", ["milpitas"], SKIN, TUE_TO_SAT, SPLIT_DAY),
    ("Dr. Armen Petrosyan", "Medical Director", ["glendale"], INJECTABLES, [0, 2, 4], SHORT_DAY),
    ("Sofia Hakobyan, RN", "Nurse Injector", ["glendale"], INJECTABLES + ["microneedling"], MON_TO_FRI, SPLIT_DAY),
    ("Jasmine Lee", "Licensed Esthetician", ["glendale"], SKIN, MON_TO_FRI, SPLIT_DAY),
]

# Practitioners' own durations: the medical directors' neurotoxin takes 20 minutes (the service's 30 otherwise).
OWN_DURATIONS = [
    ("Dr. Priya Raman", "neurotoxin", 20),
    ("Dr. Armen Petrosyan", "neurotoxin", 20),
]

# Kinds of rooms and devices: (name, clean-up minutes after each use).
RESOURCE_TYPES = [("Treatment room", 10), ("GentleMax laser", 0), ("HydraFacial machine", 10)]
# Every location has two treatment rooms, one laser and one HydraFacial machine: (name, kind).
RESOURCE_UNITS = [
    ("Treatment room 1", "Treatment room"),
    ("Treatment room 2", "Treatment room"),
    ("GentleMax laser", "GentleMax laser"),
    ("HydraFacial machine", "HydraFacial machine"),
]
# What services need (one unit of each kind).
REQUIREMENTS = {
    "laser-hair-removal": ["Treatment room", "GentleMax laser"],
    "hydrafacial": ["HydraFacial machine"],
}


@transaction.atomic
def seed_demo_data():
    """Create or update the demo clinic; running it again changes nothing."""
    locations = {}
    for data in LOCATIONS:
        locations[data["slug"]], _ = Location.objects.update_or_create(slug=data["slug"], defaults=data)
    categories = {}
    for name, position in CATEGORIES:
        categories[name], _ = ServiceCategory.objects.update_or_create(name=name, defaults={"position": position})
    services = {}
    for slug, name, minutes, buffer, price, description in SERVICES:
        category, position, preparation = SERVICE_PLACES[slug]
        services[slug], _ = Service.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "duration_minutes": minutes,
                "buffer_after_minutes": buffer,
                "price_text": price,
                "description": description,
                "category": categories[category],
                "position": position,
                "preparation": preparation,
            },
        )
        services[slug].locations.set(locations.values())
    for name, title, location_slugs, service_slugs, weekdays, spans in PRACTITIONERS:
        practitioner, _ = Practitioner.objects.update_or_create(name=name, defaults={"title": title})
        practitioner.locations.set([locations[s] for s in location_slugs])
        practitioner.services.set([services[s] for s in service_slugs])
        for slug in location_slugs:
            for weekday in weekdays:
                for start, end in spans:
                    WorkingHours.objects.get_or_create(
                        practitioner=practitioner,
                        location=locations[slug],
                        weekday=weekday,
                        start_time=start,
                        end_time=end,
                    )
    for name, slug, minutes in OWN_DURATIONS:
        PractitionerService.objects.filter(
            practitioner__name=name, service=services[slug], location__isnull=True
        ).update(duration_minutes=minutes)
    kinds = {}
    for name, cleanup in RESOURCE_TYPES:
        kinds[name], _ = ResourceType.objects.update_or_create(name=name, defaults={"cleanup_minutes": cleanup})
    for location in locations.values():
        for name, kind in RESOURCE_UNITS:
            ResourceUnit.objects.update_or_create(
                location=location, name=name, defaults={"resource_type": kinds[kind], "is_active": True}
            )
    for slug, needs in REQUIREMENTS.items():
        for kind in needs:
            ServiceRequirement.objects.get_or_create(service=services[slug], resource_type=kinds[kind])
    return locations, services


def ensure_demo_logins():
    """Local-only logins (called when DEBUG is on); returns (username, password) pairs.

    A fresh password each run, printed to the console, so no fixed secret exists.
    """
    password = secrets.token_urlsafe(12)
    admin, _ = User.objects.get_or_create(username="admin", defaults={"email": "admin@localhost"})
    admin.is_staff = admin.is_superuser = True
    admin.set_password(password)
    admin.save()
    desk, _ = User.objects.get_or_create(username="frontdesk.milpitas", defaults={"email": "desk@localhost"})
    desk.is_staff = True
    desk.set_password(password)
    desk.save()
    desk.groups.add(Group.objects.get(name=FRONT_DESK))
    profile, _ = StaffProfile.objects.get_or_create(user=desk)
    profile.locations.set(Location.objects.filter(slug="milpitas"))
    return [("admin", password), ("frontdesk.milpitas", password)]


# A realistic week for the demo: obviously fictional clients (Demo surnames, example.com addresses and
# +1 408 555 01xx numbers, the range set aside for fiction) and appointments from two days ago to four
# days ahead in every state. (first name, last name, phone last two digits)
DEMO_CLIENTS = [
    ("Avery", "Demo-Sample", "01"),
    ("Blake", "Demo-Example", "02"),
    ("Casey", "Demo-Testwell", "03"),
    ("Devon", "Demo-Placeholder", "04"),
    ("Emery", "Demo-Fictional", "05"),
    ("Finley", "Demo-Pretend", "06"),
    ("Gray", "Demo-Madeup", "07"),
    ("Harper", "Demo-Notreal", "08"),
    ("Indigo", "Demo-Specimen", "09"),
    ("Jordan", "Demo-Mockwell", "10"),
    ("Kai", "Demo-Standin", "11"),
    ("Logan", "Demo-Dummy", "12"),
]
# (days from today, local time, client index, location, service, practitioner, status)
DEMO_WEEK = [
    (-2, time(10), 5, "milpitas", "consultation", "Dr. Priya Raman", "no_show"),
    (-1, time(14), 6, "milpitas", "hydrafacial", "Maya Torres", "completed"),
    (0, time(9, 30), 0, "milpitas", "hydrafacial", "Maya Torres", "completed"),
    (0, time(10), 1, "milpitas", "neurotoxin", "Alicia Nguyen, RN", "checked_in"),
    (0, time(11), 2, "milpitas", "dermal-filler", "Alicia Nguyen, RN", "confirmed"),
    (0, time(15), 3, "milpitas", "laser-hair-removal", "Maya Torres", "booked"),
    (0, time(16), 4, "milpitas", "microneedling", "Alicia Nguyen, RN", "cancelled"),
    (0, time(11), 10, "glendale", "neurotoxin", "Sofia Hakobyan, RN", "booked"),
    (1, time(10), 7, "milpitas", "neurotoxin", "Alicia Nguyen, RN", "booked"),
    (1, time(11, 30), 8, "milpitas", "chemical-peel", "Maya Torres", "booked"),
    (2, time(14), 9, "milpitas", "dermal-filler", "Alicia Nguyen, RN", "booked"),
    (3, time(10), 11, "glendale", "hydrafacial", "Jasmine Lee", "confirmed"),
    (4, time(15), 3, "milpitas", "consultation", "Dr. Priya Raman", "booked"),
]


def demo_phone(digits: str) -> str:
    return f"+1408555{digits:0>4}"


def demo_email(first: str, last: str) -> str:
    return f"{first}.{last}@example.com".lower()


def _demo_client(first, last, digits, location):
    from clinic.models import Client
    from privacy.models import ConsentPurpose, ConsentSource
    from privacy.notices import booking_notices
    from privacy.services import record_consent

    client, created = Client.objects.get_or_create(
        email=demo_email(first, last),
        defaults={
            "first_name": first,
            "last_name": last,
            "mobile_phone": demo_phone(digits),
            "preferred_location": location,
        },
    )
    if created:  # as if booked online, asking for reminder texts
        notices = booking_notices()
        for purpose in (ConsentPurpose.PRIVACY_POLICY, ConsentPurpose.SMS_REMINDERS):
            record_consent(
                client=client,
                purpose=purpose,
                granted=True,
                notice_text=notices[purpose],
                source=ConsentSource.BOOKING_FORM,
            )
    return client


def seed_demo_week(*, now=None):
    """Fictional clients and this week's appointments in each state; again the same day adds nothing.

    Booked through the front desk's service (so confirmations go out as for any booking), outside
    working hours allowed: a demo shows states, not the rules.
    """
    from django.utils import timezone

    from .availability import wall_to_instant
    from .services import save_appointment_from_front_desk

    now = now or timezone.now()
    locations = {location.slug: location for location in Location.objects.filter(slug__in=["milpitas", "glendale"])}
    clients = [_demo_client(first, last, digits, locations["milpitas"]) for first, last, digits in DEMO_CLIENTS]
    for days, at, index, slug, service_slug, practitioner_name, status in DEMO_WEEK:
        location = locations[slug]
        day = now.astimezone(location.tzinfo).date() + timedelta(days=days)
        start = wall_to_instant(day, at, location.tzinfo)
        client = clients[index]
        if client.appointments.filter(start=start).exists():
            continue
        save_appointment_from_front_desk(
            appointment_id=None,
            client=client,
            location=location,
            service=Service.objects.get(slug=service_slug),
            practitioner=Practitioner.objects.get(name=practitioner_name),
            start=start,
            # Checked in and completed come later (demo_week_statuses), once other apps' steps have done what
            # the status gates ask first (a treatment's signed forms and exam).
            status="confirmed" if status in AFTER_CHECK_IN else status,
            source="front_desk" if index % 3 == 0 else "online",
            override_working_hours=True,
        )
    _demo_visit(now=now, location=locations["milpitas"], client=clients[1])
    return clients


def _demo_visit(*, now, location, client):  # type: ignore[no-untyped-def]
    """A consultation then a HydraFacial in one visit (the day calendar shows it as one), on the first of the
    next days at 1 PM where the whole visit fits under the booking rules; once (a later run adds nothing)."""
    from .availability import wall_to_instant
    from .services import FrontDeskBookingRefused, book_visit_from_front_desk

    if client.appointments.filter(visit__isnull=False, start__gte=now).exists():
        return
    service_ids = list(
        Service.objects.filter(slug__in=["consultation", "hydrafacial"]).order_by("slug").values_list("pk", flat=True)
    )
    for days in range(1, 8):
        day = now.astimezone(location.tzinfo).date() + timedelta(days=days)
        try:
            book_visit_from_front_desk(
                client=client,
                location=location,
                service_ids=service_ids,
                practitioner_ids=[None] * len(service_ids),
                start=wall_to_instant(day, time(13), location.tzinfo),
            )
        except FrontDeskBookingRefused:
            continue  # closed, or busy then: the next day
        return


# seed_demo's steps (registered in AppointmentsConfig.ready(); clinic.demo runs them in order).


def demo_clinic_step() -> str:
    locations, services = seed_demo_data()
    return f"Demo clinic ready: {len(locations)} locations, {len(services)} services."


AFTER_CHECK_IN = ("checked_in", "completed")


def demo_week_statuses(*, now=None) -> list[str]:
    """Move the week's visits to checked in or completed, through the status service; what a gate refuses stays."""
    from django.utils import timezone

    from .availability import wall_to_instant
    from .models import Appointment
    from .services import AppointmentStatusError, change_appointment_status

    now = now or timezone.now()
    refused = []
    for days, at, index, slug, _service, _, status in DEMO_WEEK:
        if status not in AFTER_CHECK_IN:
            continue
        first, last, _ = DEMO_CLIENTS[index]
        location = Location.objects.get(slug=slug)
        start = wall_to_instant(now.astimezone(location.tzinfo).date() + timedelta(days=days), at, location.tzinfo)
        visit = Appointment.objects.filter(client__email=demo_email(first, last), start=start).first()
        if visit is None or visit.status in AFTER_CHECK_IN:
            continue
        try:
            if status == "completed":
                change_appointment_status(appointment_id=visit.pk, status="checked_in")
            change_appointment_status(appointment_id=visit.pk, status=status)
        except AppointmentStatusError as refusal:
            refused.append(f"{first} {last}: {refusal}")
    return refused


def demo_week_statuses_step() -> str:
    refused = demo_week_statuses()
    return "Demo week's visits checked in and completed." + "".join(f"\n  left as booked: {r}" for r in refused)


def demo_week_step() -> str:
    clients = seed_demo_week()
    return f"Demo week ready: {len(clients)} fictional clients with appointments from two days ago to four days ahead."


def demo_logins_step() -> str:
    from django.conf import settings

    lines = [f"Booking site: {settings.SITE_URL}/"]
    for username, password in ensure_demo_logins():
        lines.append(f"Local admin login: {settings.SITE_URL}/admin/  user {username}  password {password}")
    return "\n".join(lines)
