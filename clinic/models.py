"""The clinic's shared core: its locations, its clients and which staff work where."""

import functools
import zoneinfo

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber

from .hashing import normalise_email
from .languages import language_choices


@functools.cache
def timezone_choices() -> list[tuple[str, str]]:
    """The zones of this machine's time-zone database, for the admin's list and validation.

    A callable, not a list: the migration records a reference to it, so an update of
    the database (a zone added or renamed) never produces a migration.
    """
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


def _stored_phone(value: PhoneNumber | str | None) -> str:
    """A loaded number as the database holds it (E.164), without re-validating it: str() costs ~60 us a row."""
    if isinstance(value, PhoneNumber):
        return value.raw_input or ""
    return value or ""


class Location(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    address = models.TextField()
    phone = PhoneNumberField()
    email = models.EmailField(blank=True)
    timezone = models.CharField(max_length=64, choices=timezone_choices, default="America/Los_Angeles")
    is_active = models.BooleanField("active", default=True)
    sms_from_number = PhoneNumberField(
        "SMS sender number",
        blank=True,
        help_text="This location's texting number; empty to use the Twilio Messaging Service.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def map_url(self):
        """A map of the address (the clinic's own, nothing about the visitor in it)."""
        from urllib.parse import urlencode

        address = " ".join(self.address.split())
        return "https://www.google.com/maps/search/?" + urlencode({"api": "1", "query": f"{self.name}, {address}"})


class Client(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    # Stored lower-cased. Not unique: an online booking is never matched to an
    # older record by what was typed (see clinic/identity.py), so two records
    # may share an email until the person proves control and they are merged.
    email = models.EmailField(blank=True)
    mobile_phone = PhoneNumberField(blank=True)
    # When the person last proved control of this email / this phone (a link
    # to the address, a code to the number). Empty: only typed, never proven.
    email_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    phone_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    date_of_birth = models.DateField(null=True, blank=True)
    preferred_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="clients"
    )
    # When the client last attested being 18 or older (services are adults-only).
    adult_attested_at = models.DateTimeField(null=True, blank=True)
    # Restriction of processing (a privacy right): stored, but no reminders,
    # no marketing, nothing but storage until lifted.
    processing_restricted = models.BooleanField(default=False)
    # Set when the SMS provider says the number cannot take texts.
    mobile_phone_problem = models.CharField(max_length=200, blank=True)
    # The language the client booked in: their texts and emails are written in it (clinic/languages.py).
    # Choices are settings.LANGUAGES (a callable: adding a language needs no migration).
    language = models.CharField(max_length=10, choices=language_choices, default="en")
    # For the front desk, e.g. the differing contact details of a merged duplicate.
    notes = models.TextField("front desk notes", blank=True)
    # Set when the person was erased (anonymised) on request or by retention.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["mobile_phone"]),
            models.Index(Lower("email"), name="client_email_lower_idx"),
        ]

    def __str__(self):
        return self.full_name

    def save(self, *args, **kwargs):
        self.email = normalise_email(self.email)
        loaded = getattr(self, "_loaded_contact", None)
        update_fields = kwargs.get("update_fields")
        if loaded is not None:
            # A proof is of one address or number: a corrected one is unproven until shown again.
            if loaded[0] is not None and self.email != (loaded[0] or "").lower() and self.email_verified_at:
                self.email_verified_at = None
                if update_fields is not None:
                    kwargs["update_fields"] = update_fields = {*update_fields, "email_verified_at"}
            if loaded[1] is not None and str(self.mobile_phone or "") != loaded[1] and self.phone_verified_at:
                self.phone_verified_at = None
                if update_fields is not None:
                    kwargs["update_fields"] = {*update_fields, "phone_verified_at"}
        super().save(*args, **kwargs)
        self._loaded_contact = (self.email, str(self.mobile_phone or ""))

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    @classmethod
    def from_db(cls, db, field_names, values):
        client = super().from_db(db, field_names, values)
        # As loaded, so a changed email or phone loses its proof (save, above).
        loaded = client.__dict__  # deferred fields are absent: None, never compared
        client._loaded_contact = (
            loaded.get("email"),
            _stored_phone(loaded["mobile_phone"]) if "mobile_phone" in loaded else None,
        )
        return client


class StaffProfile(models.Model):
    """Which locations' records a staff user may reach in the admin.

    Deny by default: a staff user sees a location's clients, appointments, texts,
    consents and campaigns only if the location is listed here, or `all_locations`
    is ticked. No locations and no tick (or no profile at all) sees none.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    all_locations = models.BooleanField(
        "All locations",
        default=False,
        help_text="Works across every location: sees every location's records, privacy requests and the "
        "audit trail. Leave unticked and pick locations below to limit this person to them.",
    )
    locations = models.ManyToManyField(Location, blank=True, related_name="staff")

    def __str__(self):
        return f"Staff profile of {self.user}"
