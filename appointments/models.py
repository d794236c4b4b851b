"""Services, practitioners, their hours and the appointments they hold."""

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.models import Client, Location
from clinic.timefmt import admin_datetime, admin_time


class ServiceCategory(models.Model):
    """A heading on the booking site's service list (Injectables, Facials, Laser...), in the clinic's order."""

    name = models.CharField(max_length=80, unique=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower numbers come first on the booking site.")

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "service categories"

    def __str__(self):
        return self.name


class Service(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveIntegerField()
    buffer_after_minutes = models.PositiveIntegerField(
        default=0, help_text="Clean-up time after the service during which the practitioner is not bookable."
    )
    price_text = models.CharField("price", max_length=60, blank=True, help_text='Shown as written, e.g. "from $250".')
    locations = models.ManyToManyField(Location, related_name="services")
    is_active = models.BooleanField("active", default=True)
    category = models.ForeignKey(
        ServiceCategory,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="services",
        help_text="Its heading on the booking site; services without one come last, under “Other services”.",
    )
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Order within its category on the booking site: lower numbers first."
    )
    preparation = models.TextField(
        "preparation notes",
        blank=True,
        help_text="How to prepare (e.g. “Arrive without makeup”). Shown on the confirmation page.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def duration(self):
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer_after(self):
        return timedelta(minutes=self.buffer_after_minutes)


def new_feed_key():
    return secrets.token_urlsafe(24)


class Practitioner(models.Model):
    name = models.CharField(max_length=120)
    title = models.CharField(max_length=120, blank=True, help_text="For example Nurse Injector, Esthetician.")
    locations = models.ManyToManyField(Location, related_name="practitioners")
    # Which services this person performs, where, and in how long (PractitionerService).
    services = models.ManyToManyField(Service, related_name="practitioners", through="PractitionerService")
    is_active = models.BooleanField("active", default=True)
    # Half of the private calendar-feed link (the other half is a signature): a new key kills the old link.
    feed_key = models.CharField(max_length=64, default=new_feed_key, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class PractitionerService(models.Model):
    """A practitioner may perform a service: at one location, or (no location) wherever both are offered.

    Their own duration, when set, replaces the service's (a senior injector's
    neurotoxin takes 20 minutes, a new one's 30). A row for a location wins over
    the row without one.
    """

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="service_skills")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="practitioner_skills")
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="practitioner_skills",
        help_text="Empty: at every location where both the practitioner works and the service is offered.",
    )
    duration_minutes = models.PositiveIntegerField(
        "own duration (minutes)",
        null=True,
        blank=True,
        validators=[MinValueValidator(5)],
        help_text="Empty: the service's usual duration.",
    )

    class Meta:
        verbose_name = "service a practitioner performs"
        verbose_name_plural = "services practitioners perform"
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner", "service", "location"],
                condition=models.Q(location__isnull=False),
                name="one_skill_per_practitioner_service_location",
            ),
            models.UniqueConstraint(
                fields=["practitioner", "service"],
                condition=models.Q(location__isnull=True),
                name="one_everywhere_skill_per_practitioner_service",
            ),
        ]

    def __str__(self):
        where = f" at {self.location}" if self.location_id else ""
        minutes = f" ({self.duration_minutes} min)" if self.duration_minutes else ""
        return f"{self.practitioner}: {self.service}{where}{minutes}"


class ResourceType(models.Model):
    """A kind of room or device a service needs, e.g. "Treatment room" or "GentleMax laser"."""

    name = models.CharField(max_length=120, unique=True)
    cleanup_minutes = models.PositiveIntegerField(
        "clean-up time (minutes)",
        default=0,
        help_text="After each use the room or device is not bookable for this long (cleaning, cooling down).",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "kind of room or device"
        verbose_name_plural = "kinds of rooms and devices"

    def __str__(self):
        return self.name

    @property
    def cleanup(self):
        return timedelta(minutes=self.cleanup_minutes)


class ResourceUnit(models.Model):
    """One room or device at a location, e.g. "Treatment room 2"."""

    resource_type = models.ForeignKey(ResourceType, on_delete=models.PROTECT, related_name="units", verbose_name="kind")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="resource_units")
    name = models.CharField(max_length=120)
    is_active = models.BooleanField("in service", default=True, help_text="Untick while it is out of order.")

    class Meta:
        ordering = ["location", "resource_type", "name"]
        verbose_name = "room or device"
        verbose_name_plural = "rooms and devices"
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="one_resource_name_per_location")]

    def __str__(self):
        return f"{self.name} ({self.location})"


class ServiceRequirement(models.Model):
    """A service needs one unit of this kind of room or device for its whole duration."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="requirements")
    resource_type = models.ForeignKey(
        ResourceType, on_delete=models.PROTECT, related_name="requirements", verbose_name="needs"
    )

    class Meta:
        verbose_name = "room or device a service needs"
        verbose_name_plural = "rooms and devices services need"
        constraints = [
            models.UniqueConstraint(fields=["service", "resource_type"], name="one_requirement_per_service_kind")
        ]

    def __str__(self):
        return f"{self.service} needs a {self.resource_type}"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class WorkingHours(models.Model):
    """One span of work; a split day has several rows. Times are the location's wall clock."""

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["practitioner", "weekday", "start_time"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")), name="hours_end_after_start"
            )
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M} at {self.location}"


class TimeOff(models.Model):
    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="timeoff_end_after_start")
        ]

    def __str__(self):
        return f"{self.practitioner} off {admin_datetime(self.start)} to {admin_datetime(self.end)}"


class LocationClosure(models.Model):
    """A whole day the location is closed (holidays), in the location's calendar."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["location", "date"], name="one_closure_per_location_day")]

    def __str__(self):
        return f"{self.location} closed {self.date}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CONFIRMED = "confirmed", _("Confirmed")
    CHECKED_IN = "checked_in", _("Checked in")
    COMPLETED = "completed", _("Completed")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")


class AppointmentSource(models.TextChoices):
    ONLINE = "online", "Online"
    FRONT_DESK = "front_desk", "Front desk"


def new_manage_key():
    return secrets.token_urlsafe(24)


class Visit(models.Model):
    """Several services one client has back to back at one location, booked, confirmed and changed as one.

    Each appointment of the visit keeps its own service, practitioner, times and
    rooms or devices (so every no-double-booking guard applies to it unchanged);
    the visit only groups them. A single-service booking has no visit
    (Appointment.visit is empty). The visit's lead is its earliest appointment
    that is not cancelled: its manage link, confirmation and reminders stand for
    the whole visit. Holds no personal data: the client is its appointments'.
    """

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="visits")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Visit {self.pk} at {self.location}"


class Appointment(models.Model):
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    practitioner = models.ForeignKey(Practitioner, on_delete=models.PROTECT, related_name="appointments")
    # Empty for a single-service booking; set for each appointment of a visit of several services.
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments", editable=False
    )
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    # end + the service's buffer: the practitioner is busy until then. The
    # no-overlap constraint on PostgreSQL is over [start, occupied_until).
    occupied_until = models.DateTimeField(editable=False)
    status = models.CharField(max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    source = models.CharField(max_length=20, choices=AppointmentSource.choices, default=AppointmentSource.ONLINE)
    notes = models.TextField(blank=True)
    # Half of the private manage link; the other half is a signature.
    manage_key = models.CharField(max_length=64, default=new_manage_key, editable=False, unique=True)
    confirmation_emailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["practitioner", "start"]), models.Index(fields=["location", "start"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="appointment_end_after_start")
        ]

    def __str__(self):
        return f"{self.client} - {self.service} at {admin_datetime(self.start, self.location.tzinfo)}"

    def save(self, *args, **kwargs):
        self.occupied_until = self.end + self.service.buffer_after
        super().save(*args, **kwargs)

    def clean(self):
        if self.start and self.end and self.end <= self.start:
            raise ValidationError("An appointment must end after it starts.")

    @property
    def local_start(self):
        return self.start.astimezone(self.location.tzinfo)

    @property
    def local_end(self):
        return self.end.astimezone(self.location.tzinfo)

    @property
    def is_cancelled(self):
        return self.status == AppointmentStatus.CANCELLED


class AssignedUnit(models.Model):
    """A room or device held for an appointment, from its start until its end plus the kind's clean-up time.

    start and occupied_until copy the appointment's times (the constraint below
    cannot read another table). `released` mirrors "the appointment is
    cancelled": on PostgreSQL a trigger keeps it so (however the status
    changes) and an exclusion constraint refuses two unreleased holds of one
    unit that overlap. Availability reads the appointment's own status.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="assigned_units")
    unit = models.ForeignKey(ResourceUnit, on_delete=models.PROTECT, related_name="assignments")
    start = models.DateTimeField()
    occupied_until = models.DateTimeField()
    released = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["unit__name"]
        verbose_name = "assigned room or device"
        verbose_name_plural = "assigned rooms and devices"
        indexes = [models.Index(fields=["unit", "start"])]
        constraints = [
            models.UniqueConstraint(fields=["appointment", "unit"], name="one_hold_per_appointment_unit"),
            models.CheckConstraint(
                condition=models.Q(occupied_until__gt=models.F("start")), name="unit_hold_ends_after_start"
            ),
        ]

    def __str__(self):
        return str(self.unit.name)


class SlotHold(models.Model):
    """A time kept off the booking pages for a while (a waitlist offer waiting for its YES).

    Availability treats it as busy for everyone but a booking that names the hold;
    it lapses by itself at `expires_at`, so a forgotten hold never blocks a time for long.
    Holds no personal data: who it is held for lives with the app that asked for it.
    """

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="slot_holds")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="slot_holds")
    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="slot_holds")
    start = models.DateTimeField()
    occupied_until = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["practitioner", "start"])]

    def __str__(self):
        zone = self.location.tzinfo
        until = admin_time(self.expires_at, zone)
        return f"{self.practitioner} held from {admin_datetime(self.start, zone)} until {until}"


class HeldUnit(models.Model):
    """A room or device a held time keeps for itself (the laser a waitlist offer needs), as AssignedUnit does
    for an appointment: from the hold's start until its end plus the kind's clean-up time.

    Lapses with its hold (expires_at); deleted with it. Availability and the booking services count it
    as busy for everyone but a booking that names its hold.
    """

    hold = models.ForeignKey(SlotHold, on_delete=models.CASCADE, related_name="units")
    unit = models.ForeignKey(ResourceUnit, on_delete=models.CASCADE, related_name="holds")
    start = models.DateTimeField()
    occupied_until = models.DateTimeField()

    class Meta:
        verbose_name = "held room or device"
        verbose_name_plural = "held rooms and devices"
        indexes = [models.Index(fields=["unit", "start"])]

    def __str__(self):
        return str(self.unit.name)
