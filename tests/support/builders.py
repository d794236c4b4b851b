"""Factories for the clinic's models, and builders of clinic data. Defaults give a bookable setup."""

from datetime import time

import factory
from django.contrib.auth.models import User

from appointments.models import (
    Appointment,
    Practitioner,
    ResourceType,
    ResourceUnit,
    Service,
    ServiceRequirement,
    WorkingHours,
)
from clinic.models import Client, Location, StaffProfile


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Location {n}")
    slug = factory.Sequence(lambda n: f"location-{n}")
    address = "1 Main St\nMilpitas, CA 95035"
    phone = "+14088211633"
    email = factory.Sequence(lambda n: f"location{n}@clinic.example")
    timezone = "America/Los_Angeles"


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    duration_minutes = 60
    buffer_after_minutes = 0
    price_text = "from $100"

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.locations.set(extracted)


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Practitioner {n}")

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.locations.set(extracted)

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set(extracted)


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    weekday = 0
    start_time = time(9)
    end_time = time(17)


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"client{n}@example.com")
    mobile_phone = factory.Sequence(lambda n: f"+1408555{n % 10000:04d}")


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    client = factory.SubFactory(ClientFactory)
    end = factory.LazyAttribute(lambda a: a.start + a.service.duration)


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        """Staff see nothing by default; a test says which locations they work at.

        StaffFactory() works across every location ("All locations");
        StaffFactory(locations=[milpitas]) is limited to Milpitas;
        StaffFactory(locations=[]) has a profile with no locations (sees no records).
        """
        if not create:
            return
        if extracted is None:
            StaffProfile.objects.create(user=self, all_locations=True)
        else:
            StaffProfile.objects.create(user=self).locations.set(extracted)


def bookable_clinic(*, weekdays=range(7), hours=((time(9), time(17)),), practitioners=1, duration=60, buffer=0):
    """A location with one service and practitioners working every given weekday."""
    location = LocationFactory()
    service = ServiceFactory(locations=[location], duration_minutes=duration, buffer_after_minutes=buffer)
    people = []
    for _ in range(practitioners):
        person = PractitionerFactory(locations=[location], services=[service])
        for weekday in weekdays:
            for start, end in hours:
                WorkingHoursFactory(
                    practitioner=person, location=location, weekday=weekday, start_time=start, end_time=end
                )
        people.append(person)
    return location, service, people


class ResourceTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResourceType

    name = factory.Sequence(lambda n: f"Kind {n}")
    cleanup_minutes = 0


class ResourceUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResourceUnit

    resource_type = factory.SubFactory(ResourceTypeFactory)
    name = factory.Sequence(lambda n: f"Unit {n}")


def needs(service, location, **kinds):
    """The service needs one unit of each kind; the location has `count` units of it.

    needs(laser, milpitas, room=(2, 10), laser=(1, 0)) -> {"room": (type, [units]), "laser": (type, [unit])}
    (count, clean-up minutes) per kind.
    """
    made = {}
    for label, (count, cleanup) in kinds.items():
        kind = ResourceTypeFactory(name=f"{label} {ResourceType.objects.count()}", cleanup_minutes=cleanup)
        ServiceRequirement.objects.create(service=service, resource_type=kind)
        units = [
            ResourceUnitFactory(resource_type=kind, location=location, name=f"{label} {i + 1} {kind.pk}")
            for i in range(count)
        ]
        made[label] = (kind, units)
    return made


def prove_contacts(client, *, phone=True, email=True):
    """The person proved control of the phone and/or email on file (a code, a link, JOIN): as an old, known client.

    Marketing needs it (double opt-in); a record made from a booking form has neither.
    """
    from django.utils import timezone

    fields = {}
    if phone:
        fields["phone_verified_at"] = timezone.now()
    if email:
        fields["email_verified_at"] = timezone.now()
    Client.objects.filter(pk=client.pk).update(**fields)
    client.refresh_from_db()
    return client
