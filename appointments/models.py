"""Services, practitioners, their hours and the appointments they hold."""

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models

from clinic.models import Client, Location


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


class Practitioner(models.Model):
    name = models.CharField(max_length=120)
    title = models.CharField(max_length=120, blank=True, help_text="For example Nurse Injector, Esthetician.")
    locations = models.ManyToManyField(Location, related_name="practitioners")
    services = models.ManyToManyField(Service, related_name="practitioners")
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


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
        return f"{self.practitioner} off {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M}"


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
    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    CHECKED_IN = "checked_in", "Checked in"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"
    CANCELLED = "cancelled", "Cancelled"


class AppointmentSource(models.TextChoices):
    ONLINE = "online", "Online"
    FRONT_DESK = "front_desk", "Front desk"


def new_manage_key():
    return secrets.token_urlsafe(24)


class Appointment(models.Model):
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    practitioner = models.ForeignKey(Practitioner, on_delete=models.PROTECT, related_name="appointments")
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
        return f"{self.client} - {self.service} at {self.local_start:%Y-%m-%d %H:%M %Z}"

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
        return f"{self.practitioner} held from {self.start:%Y-%m-%d %H:%M} until {self.expires_at:%H:%M}"
