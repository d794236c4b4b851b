"""A client's account: no password, a one-time proof of the email or phone on file, then a limited session.

Clients are not Django users: a signed-in browser holds a random key (in its
Django session) whose hash names an AccountSession row keyed to the Client
record. Ending the row ends the session, wherever the browser is ("sign out
everywhere" ends every row of the client).
"""

from django.db import models

from clinic.models import Client


class Channel(models.TextChoices):
    EMAIL = "email", "A link emailed to the address on file"
    SMS = "sms", "A code texted to the phone on file"


class ChallengePurpose(models.TextChoices):
    SIGN_IN = "sign_in", "Sign in"
    # A fresh code while signed in: opens the data download and the account's deletion (verified requests).
    FRESH_CODE = "fresh_code", "A fresh code for a sensitive step"
    # A code sent to a new email address: it replaces the old one only once proven.
    NEW_EMAIL = "new_email", "Prove a new email address"
    # A code texted to a new mobile number: it replaces the old one only once proven.
    NEW_PHONE = "new_phone", "Prove a new mobile number"


class SignInChallenge(models.Model):
    """One emailed link or texted code: short-lived, few tries, single use. Only its hash is kept."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="sign_in_challenges")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    purpose = models.CharField(max_length=20, choices=ChallengePurpose.choices, default=ChallengePurpose.SIGN_IN)
    secret_hash = models.CharField(max_length=64, editable=False)
    # For NEW_EMAIL / NEW_PHONE: the address or number asked for, until proven (then it is the record's).
    new_contact = models.CharField(max_length=254, blank=True)
    # A texted sign-in code: hash of the ask's key, held by the asking browser's session. The ask is answered
    # by a worker, so the request does the same work whether or not the number is on file.
    ask_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["client", "created_at"])]

    def __str__(self):
        return f"{self.get_purpose_display()} by {self.channel} for client #{self.client_id}"


class AccountSession(models.Model):
    """A signed-in browser of a client. Live while not ended and not past expires_at."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="account_sessions")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Hash of the browser's long-lived device cookie: a sign-in from a browser never seen before is emailed.
    device_hash = models.CharField(max_length=64, editable=False)
    signed_in_by = models.CharField(max_length=10, choices=Channel.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # When the client last proved a fresh code in this session (the data download needs one).
    fresh_code_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["client", "ended_at"])]

    def __str__(self):
        return f"Account session of client #{self.client_id}"
