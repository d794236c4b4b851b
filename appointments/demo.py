"""Demo data: the clinic's two real locations, its menu, practitioners and hours."""

import secrets
from datetime import time

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
    services = {}
    for slug, name, minutes, buffer, price, description in SERVICES:
        services[slug], _ = Service.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "duration_minutes": minutes,
                "buffer_after_minutes": buffer,
                "price_text": price,
                "description": description,
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
