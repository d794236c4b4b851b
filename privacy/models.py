"""The consent ledger: an append-only record of every consent choice."""

import hashlib

from django.conf import settings
from django.db import models

from clinic.languages import language_choices

from .ledger import rewriting_ledger


class ConsentPurpose(models.TextChoices):
    PRIVACY_POLICY = "privacy_policy", "Privacy policy"
    SMS_REMINDERS = "sms_reminders", "SMS appointment reminders"
    SMS_MARKETING = "sms_marketing", "SMS marketing"
    EMAIL_MARKETING = "email_marketing", "Email marketing"
    # Texts offering a freed time to someone on the waitlist (reply YES to take it).
    SMS_WAITLIST = "sms_waitlist", "SMS waitlist offers"
    COOKIES_PREFERENCES = "cookies_preferences", "Preference cookies"
    COOKIES_ANALYTICS = "cookies_analytics", "Analytics cookies"
    COOKIES_MARKETING = "cookies_marketing", "Marketing cookies"
    # Granted = may sell/share (CCPA); withdrawn = "Do Not Sell or Share".
    SALE_SHARING = "sale_sharing", "Sale or sharing of personal information"


class ConsentSource(models.TextChoices):
    BOOKING_FORM = "booking_form", "Booking form"
    WAITLIST_FORM = "waitlist_form", "Waitlist form"
    PREFERENCE_CENTER = "preference_center", "Preference center"
    # The client themself, signed in to their account (clients without passwords: accounts app).
    ACCOUNT = "account", "The client's own account (signed in)"
    SMS_KEYWORD = "sms_keyword", "SMS keyword"
    # The person pressed "Yes" on the page a link mailed to the address opened (email double opt-in).
    EMAIL_CONFIRMATION = "email_confirmation", "Confirmation link emailed to the address"
    COOKIE_BANNER = "cookie_banner", "Cookie banner"
    ADMIN = "admin", "Admin"
    # Said aloud on a call to the front desk, after a named staff member read the exact words (staff_user).
    PHONE_CALL = "phone_call", "Said on a phone call to the front desk"
    PRIVACY_REQUEST = "privacy_request", "Privacy request"
    GPC_SIGNAL = "gpc_signal", "Global Privacy Control signal"
    RECORD_MERGE = "record_merge", "Client records merged (a withdrawal carried over)"


class ConsentActor(models.TextChoices):
    CLIENT = "client", "Client"
    STAFF = "staff", "Staff user"
    SYSTEM = "system", "System"


class ImmutableRecordError(Exception):
    """Raised when code tries to change or delete a ledger row."""


class PolicyVersion(models.Model):
    """One version of the privacy policy. Published versions stay readable for good."""

    version = models.CharField(max_length=30, unique=True, help_text='A label such as "2026-12".')
    effective_date = models.DateField()
    body = models.TextField(
        help_text='Plain text. A line starting with "## " is a heading; blank lines separate paragraphs; '
        '"- " starts a bullet.'
    )
    summary_of_changes = models.TextField(blank=True, help_text="What changed, for the email to clients.")
    is_published = models.BooleanField("published", default=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-effective_date", "-id"]

    def __str__(self):
        return f"Privacy policy {self.version} (effective {self.effective_date})"


class PolicyTranslation(models.Model):
    """The clinic's own text of one policy version in another language (the body is in LANGUAGE_CODE's).

    Part of the version: written before it is published and, like it, never changed after.
    """

    policy = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="translations")
    # Choices are settings.LANGUAGES (a callable: adding a language needs no migration).
    language = models.CharField(max_length=10, choices=language_choices)
    body = models.TextField(help_text="The policy's text in this language, written like the main text.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["policy", "language"], name="one_policy_text_per_language")]

    def __str__(self):
        return f"{self.policy.version} ({self.language})"


class PolicyChangeNotice(models.Model):
    """That a client was (or is to be) emailed about a new policy version: at most once each."""

    policy = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="notices")
    client = models.ForeignKey("clinic.Client", null=True, on_delete=models.SET_NULL, related_name="policy_notices")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["policy", "client"], name="one_policy_notice_per_client")]

    def __str__(self):
        return f"Notice of policy {self.policy_id} to client #{self.client_id}"


class Subprocessor(models.Model):
    """A company that processes clients' data for the clinic; listed on the policy page."""

    name = models.CharField(max_length=120)
    purpose = models.CharField(max_length=200)
    data_shared = models.CharField(max_length=300)
    country = models.CharField(max_length=80)
    only_with_consent = models.BooleanField(
        default=False, help_text="Used only after the visitor accepts the matching cookies."
    )
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


def notice_digest(notice_text: str) -> str:
    """The fingerprint a consent record keeps of the exact wording shown."""
    return hashlib.sha256(notice_text.encode()).hexdigest()


class ConsentRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRecordError("Consent records are append-only.")

    def delete(self):
        raise ImmutableRecordError("Consent records are append-only.")

    def anonymise(self):
        """Erasure's one way in: strip what identifies the person; the choice and wording stay."""
        with rewriting_ledger():
            return super().update(ip_address=None, user_agent="", evidence="", visitor_id="")

    def reassign_client(self, client):
        """Merging two records of one person (clinic.identity.merge_clients) is the other way in:
        the rows move to the kept record unchanged, every choice and its evidence intact."""
        with rewriting_ledger():
            return super().update(client=client)


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
    # The language the notice was shown in (notice_text holds its exact words in it).
    language = models.CharField(max_length=10, default="en", editable=False)
    source = models.CharField(max_length=30, choices=ConsentSource.choices)
    actor = models.CharField(max_length=10, choices=ConsentActor.choices, default=ConsentActor.CLIENT)
    staff_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    evidence = models.CharField(max_length=200, blank=True, help_text="For example an inbound message SID.")
    policy_version = models.ForeignKey(
        PolicyVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="acceptances",
        help_text="For privacy-policy acceptances: the version accepted.",
    )

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
        self.notice_sha256 = notice_digest(self.notice_text)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Consent records are append-only.")


# Privacy requests and their audit trail live in their own module.
from .requests_models import (  # noqa: E402, F401
    AuditAction,
    DataSubjectRequest,
    ErasureTombstone,
    PrivacyAuditEvent,
    Regime,
    RequestChannel,
    RequestStatus,
    RequestType,
)
