"""Data-subject requests and the audit trail of everything done with a person's data."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.timefmt import admin_datetime

from .ledger import rewriting_ledger


class RequestType(models.TextChoices):
    ACCESS = "access", _("Access: a copy of my data")
    PORTABILITY = "portability", _("Portability: my data in a machine-readable file")
    RECTIFICATION = "rectification", _("Correction of my data")
    ERASURE = "erasure", _("Deletion of my data")
    RESTRICTION = "restriction", _("Restriction of processing")
    OBJECTION = "objection", _("Objection to direct marketing")
    WITHDRAW_CONSENT = "withdraw_consent", _("Withdraw all my consents")
    OPT_OUT_SALE = "opt_out_sale", _("Do not sell or share my personal information")


class RequestStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    VERIFIED = "verified", "Verified"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    REFUSED = "refused", "Refused"
    EXPIRED = "expired", "Expired (never verified)"


class Regime(models.TextChoices):
    GDPR = "gdpr", "GDPR / UK GDPR"
    CCPA = "ccpa", "CCPA / CPRA"


class RequestChannel(models.TextChoices):
    WEB = "web", "Web form"
    PHONE = "phone", "Phone"
    LETTER = "letter", "Letter"
    EMAIL = "email", "Email"
    IN_PERSON = "in_person", "In person"


def new_reference():
    return "PR-" + secrets.token_hex(4).upper()


class DataSubjectRequest(models.Model):
    reference = models.CharField(max_length=20, unique=True, default=new_reference, editable=False)
    request_type = models.CharField(max_length=20, choices=RequestType.choices)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    details = models.TextField(blank=True)
    channel = models.CharField(max_length=12, choices=RequestChannel.choices, default=RequestChannel.WEB)
    regime = models.CharField(max_length=8, choices=Regime.choices)
    status = models.CharField(
        max_length=12, choices=RequestStatus.choices, default=RequestStatus.RECEIVED, db_index=True
    )
    clients = models.ManyToManyField("clinic.Client", blank=True, related_name="privacy_requests")
    received_at = models.DateTimeField(db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(db_index=True)
    extended_due_at = models.DateTimeField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    extension_notified_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    refusal_basis = models.TextField(blank=True, help_text="The legal basis for refusing, told to the requester.")
    legal_hold = models.BooleanField(
        default=False, help_text="Data must be kept (litigation, court order): erasure is refused."
    )
    legal_hold_reason = models.TextField(blank=True)
    # Single-use email verification: the link carries this nonce, cleared on use.
    verification_nonce = models.CharField(max_length=64, blank=True, editable=False)
    # The one-time SMS code to the phone on file (stored hashed), for deletion and specific data.
    sms_code_hash = models.CharField(max_length=64, blank=True, editable=False)
    sms_code_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    sms_code_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    sms_codes_sent = models.PositiveSmallIntegerField(default=0, editable=False)
    email_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The app could not (or no longer can) prove identity by text: staff check it another way.
    # Such a request is never expired or purged for want of a code.
    identity_check_needed = models.BooleanField(
        "needs identity check by staff",
        default=False,
        db_index=True,
        help_text="We could not text a code to the phone on file: confirm identity another way, then mark verified.",
    )
    identity_check_reason = models.CharField(max_length=200, blank=True, editable=False)
    # The export download link: single use (this nonce, cleared on download) and short-lived.
    export_nonce = models.CharField(max_length=64, blank=True, editable=False)
    export_link_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.TextField(blank=True, help_text="What was done, for the record.")

    class Meta:
        ordering = ["due_at"]
        verbose_name = "privacy request"
        permissions = [("export_datasubjectrequest", "Can download a person's data export")]

    def __str__(self):
        return f"{self.reference} ({self.get_request_type_display()})"

    @property
    def deadline(self):
        return self.extended_due_at or self.due_at

    @property
    def is_open(self):
        return self.status in (RequestStatus.RECEIVED, RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS)


class AuditAction(models.TextChoices):
    REQUEST_RECEIVED = "request_received", "Request received"
    REQUEST_VERIFIED = "request_verified", "Request verified"
    REQUEST_EXTENDED = "request_extended", "Deadline extended"
    REQUEST_COMPLETED = "request_completed", "Request completed"
    REQUEST_REFUSED = "request_refused", "Request refused"
    REQUEST_EXPIRED = "request_expired", "Request expired"
    REQUEST_UPDATED = "request_updated", "Request updated"
    DATA_VIEWED = "data_viewed", "Personal data viewed"
    DATA_EXPORTED = "data_exported", "Personal data exported"
    DATA_CORRECTED = "data_corrected", "Personal data corrected"
    DATA_ERASED = "data_erased", "Personal data erased"
    PROCESSING_RESTRICTED = "processing_restricted", "Processing restricted"
    RESTRICTION_LIFTED = "restriction_lifted", "Restriction lifted"
    CONSENT_WITHDRAWN = "consent_withdrawn", "Consents withdrawn"
    IDENTITY_CHECK_NEEDED = "identity_check_needed", "Identity check by staff needed"
    EXPORT_LINK_SENT = "export_link_sent", "Export link sent"
    RETENTION_APPLIED = "retention_applied", "Retention rules applied"
    CLIENTS_MERGED = "clients_merged", "Client records merged"
    SMS_OPT_OUT_LIFTED = "sms_opt_out_lifted", "Text opt-out lifted by staff on the person's behalf"


class PrivacyAuditEventQuerySet(models.QuerySet):
    def reassign_client(self, client):
        """Merging two records of one person (clinic.identity.merge_clients): the events follow the kept record."""
        with rewriting_ledger():
            return self.update(client=client)


class PrivacyAuditEvent(models.Model):
    """Who did what, when, with a person's data or a privacy request. Append-only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=30, choices=AuditAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=150, blank=True, help_text="Who, when no staff user: the requester, the system."
    )
    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    client = models.ForeignKey("clinic.Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.TextField(blank=True)

    objects = PrivacyAuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.get_action_display()} at {admin_datetime(self.at)}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)


class ErasureTombstone(models.Model):
    """A keyed hash of an erased email address or phone number, and when it was erased.

    Nothing else about the person is kept. After a database restore,
    `reapply_erasures` erases again the clients of a restored backup who match
    one and were created before that erasure (never someone who came back later).
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email address"
        PHONE = "phone", "Phone number"

    contact_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    erased_at = models.DateTimeField()

    class Meta:
        # Its index (contact_hash first) also serves lookups by hash.
        constraints = [models.UniqueConstraint(fields=["contact_hash", "erased_at"], name="one_tombstone_per_erasure")]

    def __str__(self):
        return f"{self.get_kind_display()} erased {self.erased_at:%Y-%m-%d}"
