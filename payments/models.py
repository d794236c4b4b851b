"""Payments: what a booking asks for, the cancellation policy, and the money records.

Only Stripe's ids and a card's brand, last four digits and expiry are stored:
the card number never reaches this server (Stripe's page or Payment Element
collects it). Money is an integer in the currency's minor unit (cents) with its
ISO currency code, never a float.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.models import Location


class RequirementKind(models.TextChoices):
    NONE = "none", "No payment"
    CARD_ON_FILE = "card_on_file", "Card on file (nothing charged now)"
    DEPOSIT_FIXED = "deposit_fixed", "Deposit: a fixed amount"
    DEPOSIT_PERCENT = "deposit_percent", "Deposit: a percentage of the price"


def format_money(amount: int, currency: str) -> str:
    """12345, "usd" -> "$123.45" (two-decimal currencies; others as minor units with the code)."""
    if currency.lower() == "usd":
        return f"${amount // 100:,}.{amount % 100:02d}"
    return f"{amount} {currency.upper()} (minor units)"


class PaymentRequirement(models.Model):
    """What booking a service at a location asks of the client."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="payment_requirements")
    service = models.ForeignKey("appointments.Service", on_delete=models.CASCADE, related_name="payment_requirements")
    kind = models.CharField(max_length=20, choices=RequirementKind.choices, default=RequirementKind.NONE)
    currency = models.CharField(max_length=3, default="usd")
    price_amount = models.PositiveIntegerField(
        "price (cents)", null=True, blank=True, help_text="The service's price here, in cents: a percentage is of it."
    )
    deposit_amount = models.PositiveIntegerField("fixed deposit (cents)", null=True, blank=True)
    deposit_percent = models.PositiveSmallIntegerField("deposit percentage", null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "service"], name="one_payment_requirement_per_service_location")
        ]
        ordering = ["location", "service"]

    def __str__(self):
        return f"{self.service} at {self.location}: {self.get_kind_display()}"

    def clean(self):
        self.currency = (self.currency or "").lower()
        if self.kind == RequirementKind.DEPOSIT_FIXED and not self.deposit_amount:
            raise ValidationError({"deposit_amount": "A fixed deposit needs its amount in cents (more than 0)."})
        if self.kind == RequirementKind.DEPOSIT_PERCENT:
            if not self.deposit_percent or not 1 <= self.deposit_percent <= 100:
                raise ValidationError({"deposit_percent": "A percentage deposit needs a percentage from 1 to 100."})
            if not self.price_amount:
                raise ValidationError({"price_amount": "A percentage deposit needs the service's price in cents."})

    def deposit_due(self) -> int:
        """The deposit in minor units, computed here only (never taken from a form); 0 when none is asked."""
        if self.kind == RequirementKind.DEPOSIT_FIXED:
            return self.deposit_amount or 0
        if self.kind == RequirementKind.DEPOSIT_PERCENT and self.price_amount and self.deposit_percent:
            # Whole cents, rounded half up, so 15% of $99.99 is $15.00.
            return (self.price_amount * self.deposit_percent + 50) // 100
        return 0


class CancellationPolicy(models.Model):
    """One version of a location's cancellation policy. A version never changes once saved:
    a client who accepted it is held to exactly its wording; a change is a new version."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="cancellation_policies")
    version = models.PositiveIntegerField(editable=False)
    window_hours = models.PositiveIntegerField(
        default=24, help_text="Cancelling less than this many hours before the visit counts as late."
    )
    late_cancel_fee = models.PositiveIntegerField("late-cancel fee (cents)", default=0)
    no_show_fee = models.PositiveIntegerField("no-show fee (cents)", default=0)
    currency = models.CharField(max_length=3, default="usd")
    wording = models.TextField(editable=False, help_text="The plain-words text shown to clients, as saved.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "version"], name="one_cancellation_policy_version_per_location")
        ]
        ordering = ["location", "-version"]
        verbose_name_plural = "cancellation policies"

    def __str__(self):
        return f"{self.location} cancellation policy v{self.version}"

    def plain_words(self) -> str:
        late = format_money(self.late_cancel_fee, self.currency)
        no_show = format_money(self.no_show_fee, self.currency)
        parts = [f"You can cancel or reschedule free of charge until {self.window_hours} hours before your visit."]
        if self.late_cancel_fee:
            parts.append(f"Cancelling later than that costs {late}, charged to the card you saved.")
        if self.no_show_fee:
            parts.append(f"Missing your visit without cancelling costs {no_show}, charged to the card you saved.")
        return " ".join(parts)


class StripeCustomer(models.Model):
    """The client's customer at Stripe. After an erasure the row loses its client until Stripe confirms the deletion."""

    client = models.OneToOneField(
        "clinic.Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="stripe_customer"
    )
    stripe_customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deletion_requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.stripe_customer_id


class SavedCard(models.Model):
    """A card saved at Stripe for later charges: only Stripe's id, brand, last four digits and expiry."""

    client = models.ForeignKey("clinic.Client", on_delete=models.CASCADE, related_name="saved_cards")
    stripe_payment_method_id = models.CharField(max_length=255, unique=True)
    brand = models.CharField(max_length=30)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.brand} ending {self.last4} ({self.exp_month:02d}/{self.exp_year})"


class CardSetupStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the client"
    SUCCEEDED = "succeeded", "Card saved"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Stripe did not answer (to be checked)"


class CardSetup(models.Model):
    """A request to save a card (a Stripe SetupIntent); its id keys the call to Stripe."""

    client = models.ForeignKey(
        "clinic.Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="card_setups"
    )
    stripe_setup_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    status = models.CharField(max_length=20, choices=CardSetupStatus.choices, default=CardSetupStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Card setup #{self.pk}"


class PaymentKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    LATE_CANCEL_FEE = "late_cancel_fee", _("Late-cancel fee")
    NO_SHOW_FEE = "no_show_fee", _("No-show fee")
    BALANCE = "balance", _("Balance at checkout")


class PaymentMethod(models.TextChoices):
    """How the money was taken: through Stripe (online, or the card on file off-session), or at the desk,
    where the clinic's own till or card terminal took it and we only record the amount."""

    STRIPE = "stripe", _("Stripe")
    DESK_CASH = "desk_cash", _("Cash at the desk")
    DESK_CARD_TERMINAL = "desk_card_terminal", _("Card terminal at the desk")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Not yet at Stripe")
    UNKNOWN = "unknown", _("Stripe did not answer (to be checked)")
    REQUIRES_PAYMENT_METHOD = "requires_payment_method", _("Waiting for the client's card")
    REQUIRES_ACTION = "requires_action", _("Card needs the client's authentication")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Cancelled")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partly refunded")
    REFUNDED = "refunded", _("Refunded")


class Payment(models.Model):
    """One charge (a Stripe PaymentIntent). Its status moves only through payments.states.

    After an erasure the row keeps amount, currency, kind, location and dates for the
    books (PAYMENT_RECORD_RETENTION_YEARS), without the person.
    """

    client = models.ForeignKey(
        "clinic.Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="payments")
    appointment = models.ForeignKey(
        "appointments.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    kind = models.CharField(max_length=20, choices=PaymentKind.choices)
    amount = models.PositiveIntegerField(help_text="In the currency's minor unit (cents).")
    currency = models.CharField(max_length=3, default="usd")
    amount_refunded = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=30, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    status_reason = models.CharField(max_length=300, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=255, blank=True, editable=False)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.STRIPE)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # Set for a fee charged to a saved card off-session: a retry must send exactly the same request.
    stripe_payment_method_id = models.CharField(max_length=255, blank=True)
    receipt_emailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("refund_payment", "Can refund a payment"),
            (
                "charge_fee_payment",
                "Can charge a late-cancel or no-show fee to a saved card (up to the policy's amount)",
            ),
            ("take_balance_payment", "Can take the balance at checkout (at the desk or the card on file)"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_refunded__lte=models.F("amount")), name="payment_never_refunded_over_amount"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {format_money(self.amount, self.currency)} (#{self.pk})"

    @property
    def idempotency_key(self) -> str:
        return f"payment-{self.pk}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Sent to Stripe / not confirmed yet"
    SUCCEEDED = "succeeded", "Refunded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField(help_text="In the currency's minor unit (cents).")
    currency = models.CharField(max_length=3, default="usd")
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    status_reason = models.CharField(max_length=300, blank=True)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    receipt_emailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self):
        return f"Refund {format_money(self.amount, self.currency)} of payment #{self.payment_id}"

    @property
    def idempotency_key(self) -> str:
        return f"refund-{self.pk}"


class ProcessedWebhookEvent(models.Model):
    """A Stripe event already applied: a replay or a retried delivery of the same id changes nothing."""

    event_id = models.CharField(max_length=255, primary_key=True)
    type = models.CharField(max_length=100)
    processed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.type} {self.event_id}"


class CheckoutStatus(models.TextChoices):
    POLICY = "policy", "Reading the cancellation policy"
    AT_STRIPE = "at_stripe", "On Stripe's payment page"
    EXPIRED = "expired", "Abandoned: the held time was released"
    BOOKED = "booked", "Booked"
    REFUNDED = "refunded", "Paid after the time was taken: refunded"
    NOT_BOOKED = "not_booked", "Card saved after the time was taken: not booked"


def new_checkout_key():
    import secrets

    return secrets.token_urlsafe(24)


class BookingCheckout(models.Model):
    """An online booking waiting for its deposit or card (Stripe Checkout), its time held meanwhile.

    Ends in exactly one of: booked, refunded (paid after the time was taken), not booked (a card saved
    after the time was taken: nothing charged) or expired (abandoned; a payment arriving later still
    books the time if it is free, else is refunded). The key in its links is the client's only handle.
    """

    key = models.CharField(max_length=64, unique=True, default=new_checkout_key, editable=False)
    client = models.ForeignKey(
        "clinic.Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="booking_checkouts"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="booking_checkouts")
    service = models.ForeignKey("appointments.Service", on_delete=models.PROTECT, related_name="booking_checkouts")
    practitioner = models.ForeignKey(
        "appointments.Practitioner", on_delete=models.PROTECT, related_name="booking_checkouts"
    )
    start = models.DateTimeField()
    hold = models.ForeignKey(
        "appointments.SlotHold", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hold_expires_at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=20, choices=RequirementKind.choices)
    policy = models.ForeignKey(CancellationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    policy_accepted_at = models.DateTimeField(null=True, blank=True)
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="booking_checkout"
    )
    card_setup = models.OneToOneField(
        CardSetup, null=True, blank=True, on_delete=models.SET_NULL, related_name="booking_checkout"
    )
    # A visit of several services: its parts in order, [{"service": id, "practitioner": id, "hold": id}] (the
    # service, practitioner and hold fields above are then the first part's / none); booked as one visit.
    visit_parts = models.JSONField(default=list, blank=True, editable=False)
    visit = models.ForeignKey(
        "appointments.Visit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # The client record was made by this checkout's booking form (not a signed-in client's own, not found):
    # only such a record is erased when the checkout is abandoned (forget_abandoned_checkout_clients).
    client_made_for_it = models.BooleanField(default=False, editable=False)
    stripe_checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True, editable=False)
    status = models.CharField(max_length=20, choices=CheckoutStatus.choices, default=CheckoutStatus.POLICY)
    appointment = models.ForeignKey(
        "appointments.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Online booking checkout #{self.pk} ({self.get_status_display()})"

    @property
    def idempotency_key(self) -> str:
        return f"checkout-{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in (CheckoutStatus.BOOKED, CheckoutStatus.REFUNDED, CheckoutStatus.NOT_BOOKED)

    @property
    def is_visit(self) -> bool:
        return bool(self.visit_parts)

    @property
    def hold_ids(self) -> list[int]:
        """The time(s) held for it: the single booking's hold, or each part's of a visit."""
        if self.visit_parts:
            return [part["hold"] for part in self.visit_parts if part.get("hold")]
        return [self.hold_id] if self.hold_id else []


class LocalStripeObject(models.Model):
    """What the local payments backend (no Stripe account) remembers: its simulated Checkout pages, payments
    and refunds. In the database, not in a process's memory, so a restart or another worker process of
    `make run` / gunicorn sees the same page the client is on. Never used with the Stripe backend."""

    key = models.CharField(max_length=120, primary_key=True)  # "<kind>:<simulated Stripe id>"
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.key
