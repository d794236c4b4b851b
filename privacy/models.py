"""The consent ledger: an append-only record of every consent choice."""

import hashlib

from django.conf import settings
from django.db import models


class ConsentPurpose(models.TextChoices):
    PRIVACY_POLICY = "privacy_policy", "Privacy policy"
    SMS_REMINDERS = "sms_reminders", "SMS appointment reminders"
    SMS_MARKETING = "sms_marketing", "SMS marketing"
    EMAIL_MARKETING = "email_marketing", "Email marketing"


class ConsentSource(models.TextChoices):
    BOOKING_FORM = "booking_form", "Booking form"
    PREFERENCE_CENTER = "preference_center", "Preference center"
    SMS_KEYWORD = "sms_keyword", "SMS keyword"
    COOKIE_BANNER = "cookie_banner", "Cookie banner"
    ADMIN = "admin", "Admin"
    PRIVACY_REQUEST = "privacy_request", "Privacy request"
    GPC_SIGNAL = "gpc_signal", "Global Privacy Control signal"


class ConsentActor(models.TextChoices):
    CLIENT = "client", "Client"
    STAFF = "staff", "Staff user"
    SYSTEM = "system", "System"


class ImmutableRecordError(Exception):
    """Raised when code tries to change or delete a ledger row."""


class ConsentRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRecordError("Consent records are append-only.")

    def delete(self):
        raise ImmutableRecordError("Consent records are append-only.")


class ConsentRecord(models.Model):
    client = models.ForeignKey(
        "clinic.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="consent_records"
    )
    # For consents given before we know who someone is (cookies).
    visitor_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=40)
    granted = models.BooleanField()
    notice_text = models.TextField(help_text="The exact wording shown when the choice was made.")
    notice_sha256 = models.CharField(max_length=64, editable=False)
    source = models.CharField(max_length=30, choices=ConsentSource.choices)
    actor = models.CharField(max_length=10, choices=ConsentActor.choices, default=ConsentActor.CLIENT)
    staff_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    evidence = models.CharField(max_length=200, blank=True, help_text="For example an inbound message SID.")

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["client", "purpose", "-recorded_at"])]

    def __str__(self):
        verb = "granted" if self.granted else "withdrew"
        return f"{self.client or self.visitor_id} {verb} {self.purpose}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ImmutableRecordError("Consent records are append-only.")
        self.notice_sha256 = hashlib.sha256(self.notice_text.encode()).hexdigest()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Consent records are append-only.")
