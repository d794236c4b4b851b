"""The waitlist: who waits for which times, the times that freed up, and the offers texted for them."""

from django.conf import settings
from django.db import models

from appointments.models import Appointment, Practitioner, Service, SlotHold
from clinic.models import Client, Location
from clinic.timefmt import admin_datetime


class EntryStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    BOOKED = "booked", "Booked from an offer"
    WITHDRAWN = "withdrawn", "Withdrawn"


class WaitlistEntry(models.Model):
    """A client waiting for a time: a service at a location, a practitioner or any, between two dates."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="waitlist_entries")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="waitlist_entries")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="waitlist_entries")
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waitlist_entries",
        help_text="Empty: any practitioner.",
    )
    earliest_date = models.DateField()
    latest_date = models.DateField()
    status = models.CharField(max_length=20, choices=EntryStatus.choices, default=EntryStatus.WAITING)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]  # waitlist order: first come, first offered
        verbose_name_plural = "waitlist entries"
        indexes = [models.Index(fields=["location", "status", "latest_date"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latest_date__gte=models.F("earliest_date")), name="waitlist_dates_in_order"
            )
        ]

    def __str__(self):
        who = self.practitioner or "any practitioner"
        what = " then ".join(str(service) for service in self.visit_services())
        return f"{what} with {who}, {self.earliest_date:%b %-d}–{self.latest_date:%b %-d}"

    def visit_services(self) -> list[Service]:
        """The services waited for, in order: `service`, then those of a whole visit (WaitlistVisitService)."""
        return [self.service, *(part.service for part in self.more_services.all())]


class WaitlistVisitService(models.Model):
    """A service after the entry's own in the whole visit the client waits for (consultation, then neurotoxin).

    An entry with none waits for its one service. With some, an offer holds and the YES books the whole
    visit, back to back (appointments.book_visit): the entry's practitioner (or any) does its first service,
    any qualified practitioner the others.
    """

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="more_services")
    position = models.PositiveSmallIntegerField()
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["entry", "position"]
        constraints = [models.UniqueConstraint(fields=["entry", "position"], name="one_waitlist_service_per_position")]

    def __str__(self):
        return str(self.service)


class OpeningStatus(models.TextChoices):
    OPEN = "open", "Open"
    FILLED = "filled", "Filled from the waitlist"
    LAPSED = "lapsed", "Lapsed (passed, or nobody took it)"


class Opening(models.Model):
    """A time that freed up (from appointments' `time_freed` signal, or a time the front desk offers by hand)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="waitlist_openings")
    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="waitlist_openings")
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=20, choices=OpeningStatus.choices, default=OpeningStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["status", "start"])]

    def __str__(self):
        return f"{self.practitioner} at {admin_datetime(self.start, self.location.tzinfo)}"


class OfferStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a reply"
    ACCEPTED = "accepted", "Accepted (booked)"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn (the number opted out)"


class WaitlistOffer(models.Model):
    """One text offering an opening to one entry, with the time held until `expires_at`."""

    opening = models.ForeignKey(Opening, on_delete=models.CASCADE, related_name="offers")
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    status = models.CharField(max_length=20, choices=OfferStatus.choices, default=OfferStatus.PENDING)
    expires_at = models.DateTimeField()
    hold = models.ForeignKey(SlotHold, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # A whole visit's offer: the holds of its later services (`hold` is its first's); released with it.
    more_holds = models.ManyToManyField(SlotHold, blank=True, related_name="+")
    sms = models.ForeignKey("messaging.SmsMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who offered it by hand; empty when the waitlist offered it.",
    )
    appointment = models.ForeignKey(Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            # One live offer per time: the order holds and two people are never offered one time at once.
            models.UniqueConstraint(
                fields=["opening"],
                condition=models.Q(status="pending"),
                name="one_pending_offer_per_opening",
            )
        ]

    def __str__(self):
        return f"Offer of {self.opening} ({self.get_status_display()})"
