"""Text messages: the log of every SMS in and out, reminder rules and the opt-out list."""

from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField


class Direction(models.TextChoices):
    OUTBOUND = "out", "Outbound"
    INBOUND = "in", "Inbound"


class MessageKind(models.TextChoices):
    CONFIRMATION = "confirmation", "Booking confirmation"
    REMINDER = "reminder", "Reminder"
    MARKETING = "marketing", "Marketing"
    KEYWORD_REPLY = "keyword_reply", "Keyword reply"
    VERIFICATION = "verification", "Verification code"
    # A code to a number the client is changing to from their account: proves it before it replaces the old one.
    NEW_NUMBER_CODE = "new_number_code", "Code proving a new mobile number"
    # "Reply JOIN to get offers": sent alone when the booking asked for no reminder texts.
    MARKETING_CONFIRMATION = "join_request", "Marketing opt-in confirmation request (JOIN)"
    WAITLIST_OFFER = "waitlist_offer", "Waitlist offer (reply YES)"
    # The link to a visit's forms, or the request to sign them again: texts about an appointment, so they need
    # the client's consent to appointment texts at send time (not a reply's), and go only while the visit stands.
    FORMS = "forms", "Forms link or request to sign again"
    OTHER = "other", "Other"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Handed to provider"  # committed before the provider call
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent"
    RECEIVED = "received", "Received"


class SmsMessage(models.Model):
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.OUTBOUND)
    from_number = models.CharField(max_length=40, blank=True)
    to_number = models.CharField(max_length=40)
    body = models.TextField()
    location = models.ForeignKey(
        "clinic.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="sms_messages"
    )
    client = models.ForeignKey(
        "clinic.Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="sms_messages"
    )
    appointment = models.ForeignKey(
        "appointments.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="sms_messages"
    )
    kind = models.CharField(max_length=20, choices=MessageKind.choices, default=MessageKind.OTHER)
    status = models.CharField(max_length=20, choices=MessageStatus.choices, default=MessageStatus.QUEUED, db_index=True)
    # One message per purpose, enforced by the database: "reminder:<appointment>:<minutes>:<start>".
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    # Which dispatch pass created the row, so it enqueues only its own rows.
    batch = models.UUIDField(null=True, blank=True, db_index=True)
    send_after = models.DateTimeField(null=True, blank=True)
    # When a send task was last queued for it; the dispatch pass re-queues a
    # due message whose task never ran (lost broker, worker crash).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # For reminders: the appointment start the text was written for; a moved
    # appointment makes the old text stale.
    appointment_start = models.DateTimeField(null=True, blank=True)
    # A text pointless after this time (a waitlist offer's "reply within 15 minutes"): it is
    # skipped rather than sent late, or held by quiet hours past it.
    send_before = models.DateTimeField(null=True, blank=True)
    twilio_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    campaign = models.ForeignKey(
        "Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="sms_messages"
    )
    # Inbound only: what the reply meant, and when the front desk read it.
    keyword = models.CharField(max_length=20, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Staff replies: the message answered and who wrote it.
    in_reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error_code = models.CharField(max_length=20, blank=True)
    status_reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    status_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "text message"
        indexes = [models.Index(fields=["status", "send_after"])]

    def __str__(self):
        arrow = "to" if self.direction == Direction.OUTBOUND else "from"
        number = self.to_number if self.direction == Direction.OUTBOUND else self.from_number
        return f"{self.get_kind_display()} {arrow} {number} ({self.get_status_display()})"


class InboundMessage(SmsMessage):
    """The front desk's inbox: texts clients sent that no keyword handled."""

    class Meta:
        proxy = True
        verbose_name = "inbox message"
        verbose_name_plural = "inbox"
        permissions = [("reply_inboundmessage", "Can reply to client texts")]


class ReminderRule(models.Model):
    """When a location reminds: one row per offset. No rows: the SMS_REMINDER_OFFSETS default."""

    location = models.ForeignKey("clinic.Location", on_delete=models.CASCADE, related_name="reminder_rules")
    minutes_before = models.PositiveIntegerField()

    class Meta:
        ordering = ["location", "-minutes_before"]
        constraints = [models.UniqueConstraint(fields=["location", "minutes_before"], name="one_rule_per_offset")]

    def __str__(self):
        return f"{self.location}: {self.minutes_before} minutes before"


class SmsOptOut(models.Model):
    """A number that must not be texted (STOP, carrier unsubscribe). Covers every program.

    Looked up by a keyed hash, so an erased client's opt-out still holds after
    the number itself is wiped.
    """

    phone_hash = models.CharField(max_length=64, unique=True)
    phone = PhoneNumberField(blank=True)
    reason = models.CharField(max_length=200)
    evidence = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "SMS opt-out"
        # Staff lifting a STOP because the person asked them to: clinic managers and privacy officers.
        permissions = [("lift_smsoptout", "Can lift an SMS opt-out on the person's behalf")]

    def __str__(self):
        return f"{self.phone or self.phone_hash[:12]} opted out"


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class Campaign(models.Model):
    """A marketing message to every client who currently consents to that channel."""

    name = models.CharField(max_length=120)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    location = models.ForeignKey(
        "clinic.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: clients of every location.",
    )
    subject = models.CharField(max_length=150, blank=True, help_text="Email only.")
    body = models.TextField(
        help_text='For SMS, "Reply STOP to opt out" is added. For email, an unsubscribe link is added.'
    )
    send_at = models.DateTimeField(help_text="When sending starts. Texts still wait for 08:00-21:00 local time.")
    status = models.CharField(max_length=12, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    audience_size = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Left out when it started: they had reached the marketing frequency cap (SMS_MARKETING_MAX_PER_30_DAYS).
    skipped_over_cap = models.PositiveIntegerField(
        "left out by the frequency cap", null=True, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-send_at"]

    def __str__(self):
        return self.name


class CampaignEmail(models.Model):
    """One marketing email to one client; unique, so a campaign never reaches anyone twice."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="emails")
    client = models.ForeignKey("clinic.Client", null=True, on_delete=models.SET_NULL, related_name="campaign_emails")
    to_email = models.EmailField()
    status = models.CharField(max_length=20, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    status_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "client"], name="one_email_per_client_per_campaign")]

    def __str__(self):
        return f"{self.campaign} to {self.to_email}"


class EmailOptOut(models.Model):
    """An address that unsubscribed from marketing email; looked up by keyed hash, like SmsOptOut."""

    email_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(blank=True)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "email opt-out"

    def __str__(self):
        return f"{self.email or self.email_hash[:12]} unsubscribed"


class OptOutChannel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"


class OptOutSource(models.TextChoices):
    SMS_KEYWORD = "sms_keyword", "Keyword texted from the number (STOP / START)"
    CARRIER = "carrier", "Carrier report (Twilio 21610)"
    PREFERENCE_CENTER = "preference_center", "Preference center"
    EMAIL_LINK = "email_link", "Link emailed to the address"
    ADMIN = "admin", "Staff, on the person's behalf"
    PRIVACY_REQUEST = "privacy_request", "Privacy request"
    ERASURE = "erasure", "Erasure (kept as a hash)"


class OptOutEvent(models.Model):
    """Why an opt-out was added or lifted: written by messaging.opt_outs, and only there.

    Holds the keyed hash, never the number or address, so it outlives erasure.
    """

    ADD, LIFT = "add", "lift"

    channel = models.CharField(max_length=10, choices=OptOutChannel.choices)
    contact_hash = models.CharField(max_length=64, db_index=True)
    action = models.CharField(max_length=10, choices=[(ADD, "Added"), (LIFT, "Lifted")])
    reason = models.CharField(max_length=200)
    source = models.CharField(max_length=20, choices=OptOutSource.choices)
    actor = models.CharField(max_length=20)  # privacy.ConsentActor values: client, staff, system
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evidence = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "opt-out change"

    def __str__(self):
        return f"{self.get_channel_display()} opt-out {self.action}: {self.reason}"
