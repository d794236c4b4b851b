"""The preference center: a client sees and changes what we may send them.

Reached by a signed link that expires (PREFERENCE_LINK_MAX_AGE_DAYS), sent in
every email. Changes take effect at once and go into the consent ledger.
Turning every SMS program off puts the number on the opt-out list (as STOP
does). Turning texts back on records the consent but does not lift a STOP: the
link can reach someone who typed another person's number, so only START texted
from that phone lifts it (the page says so). Turning marketing email back on
for an unsubscribed address emails that address a link that lifts it.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from clinic import identity
from clinic.hashing import contact_hash
from clinic.models import Client
from privacy.links import LinkExpired, LinkInvalid, client_from_preferences_token, preferences_url  # noqa: F401
from privacy.models import ConsentActor, ConsentPurpose, ConsentSource
from privacy.selectors import current_consents
from privacy.services import record_consent

from . import opt_outs
from .models import EmailOptOut, OptOutSource

CHOICES = {
    ConsentPurpose.SMS_REMINDERS: (
        "Text me appointment confirmations and reminders (about 2 per visit). Msg & data rates may apply."
    ),
    # The frequency promised is the cap campaigns enforce (MARKETING_MAX_PER_30_DAYS).
    ConsentPurpose.SMS_MARKETING: (
        f"Text me occasional offers and news (up to {settings.MARKETING_MAX_PER_30_DAYS} a month). "
        "Msg & data rates may apply."
    ),
    ConsentPurpose.EMAIL_MARKETING: (
        f"Email me occasional offers and news (up to {settings.MARKETING_MAX_PER_30_DAYS} a month)."
    ),
}
SMS_PURPOSES = (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_MARKETING)
RESUBSCRIBE_SALT = "messaging.email-resubscribe"


@dataclass
class PreferenceUpdate:
    changed: list = field(default_factory=list)
    # Texts were turned on but the number is on the STOP list: only START from that phone lifts it.
    sms_still_stopped: bool = False
    # Marketing email was turned on for an unsubscribed address: a confirmation link went to it.
    email_confirmation_sent: bool = False


def current_preferences(client):
    """What we may send, as the person sees it: their latest choice, and off while on an opt-out list."""
    state = {
        purpose: current_consents(client_ids=[client.pk], purpose=purpose).get(client.pk, False) for purpose in CHOICES
    }
    if opt_outs.is_sms_opted_out(client.mobile_phone):
        for purpose in SMS_PURPOSES:
            state[purpose] = False
    if opt_outs.is_email_opted_out(client.email):
        state[ConsentPurpose.EMAIL_MARKETING] = False
    return state


def update_preferences(*, client, choices, ip_address=None, user_agent="") -> PreferenceUpdate:
    """Apply the client's choices: consents are recorded; a STOP is never lifted from here."""
    before = current_preferences(client)
    result = PreferenceUpdate(changed=[p for p in CHOICES if bool(choices.get(p)) != before[p]])
    with transaction.atomic():
        for purpose in result.changed:
            record_consent(
                client=client,
                purpose=purpose,
                granted=bool(choices.get(purpose)),
                notice_text=CHOICES[purpose],
                source=ConsentSource.PREFERENCE_CENTER,
                actor=ConsentActor.CLIENT,
                ip_address=ip_address,
                user_agent=user_agent,
            )
        if client.mobile_phone and any(p in result.changed for p in SMS_PURPOSES):
            if any(choices.get(p) for p in SMS_PURPOSES):
                result.sms_still_stopped = opt_outs.is_sms_opted_out(client.mobile_phone)
            else:
                # The withdrawals were just recorded above.
                opt_outs.add_sms_opt_out(
                    phone=str(client.mobile_phone),
                    reason="Turned off all texts in the preference center",
                    source=OptOutSource.PREFERENCE_CENTER,
                    actor=ConsentActor.CLIENT,
                    withdraw_consents=False,
                )
        wants_email = ConsentPurpose.EMAIL_MARKETING in result.changed and choices.get(ConsentPurpose.EMAIL_MARKETING)
        if client.email and wants_email and opt_outs.is_email_opted_out(client.email):
            email = client.email
            transaction.on_commit(lambda: _send_resubscribe_link(client, email))
            result.email_confirmation_sent = True
    return result


def resubscribe_token(client, email):
    # Names the opt-out it lifts: once lifted (or replaced by a newer unsubscribe) the link is spent.
    entry = EmailOptOut.objects.filter(email_hash=contact_hash(email)).values_list("pk", flat=True).first()
    return signing.dumps({"c": client.pk, "e": contact_hash(email), "o": entry}, salt=RESUBSCRIBE_SALT)


def _send_resubscribe_link(client, email):
    url = settings.SITE_URL + reverse("messaging:email_resubscribe", args=[resubscribe_token(client, email)])
    send_mail(
        subject=f"Confirm: marketing emails from {settings.CLINIC_NAME}",
        message=render_to_string(
            "messaging/email/resubscribe.txt", {"url": url, "clinic_name": settings.CLINIC_NAME, "client": client}
        ),
        from_email=None,
        recipient_list=[email],
    )


def confirm_email_resubscribe(*, token, ip_address=None, user_agent="") -> Client | None:
    """The link mailed to the address was followed (and its button pressed): lift that address's opt-out."""
    try:
        data = signing.loads(token, salt=RESUBSCRIBE_SALT, max_age=settings.PREFERENCE_LINK_MAX_AGE_DAYS * 86400)
        client = Client.objects.get(pk=int(data["c"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, Client.DoesNotExist):
        return None
    # Only for the address the link was sent to, and only while the record still has it.
    if not client.email or contact_hash(client.email) != data["e"]:
        return None
    entry = EmailOptOut.objects.filter(email_hash=data["e"]).values_list("pk", flat=True).first()
    if entry is not None and entry != data.get("o"):
        return None  # an unsubscribe made after this link was sent: only a new link lifts it
    opt_outs.lift_email_opt_out(
        email=client.email,
        reason="Confirmed by the link emailed to the address",
        source=OptOutSource.EMAIL_LINK,
        actor=ConsentActor.CLIENT,
        evidence="resubscribe link emailed to the address",
    )
    return client


def email_preferences_link(*, email):
    """Email a preference link if the address is a client's; the caller answers the same either way."""
    # Several records may hold one address (each online booking is its own record): the oldest is the person's own.
    client = identity.clients_with_email(email).order_by("pk").first()
    if client is None:
        return False
    context = {
        "client": client,
        "url": preferences_url(client),
        "clinic_name": settings.CLINIC_NAME,
        "days": settings.PREFERENCE_LINK_MAX_AGE_DAYS,
    }
    send_mail(
        subject=f"Your {settings.CLINIC_NAME} message preferences",
        message=render_to_string("messaging/email/preferences_link.txt", context),
        from_email=None,
        recipient_list=[client.email],
    )
    return True
