"""The preference center: a client sees and changes what we may send them.

Reached by a signed link that expires (PREFERENCE_LINK_MAX_AGE_DAYS), sent in
every email. Changes take effect at once and go into the consent ledger. SMS
choices here and STOP/START by text agree: turning every SMS program off puts
the number on the opt-out list (as STOP does), and turning one on lifts it (as
START does).
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from clinic import identity
from clinic.hashing import contact_hash
from privacy.links import LinkExpired, LinkInvalid, client_from_preferences_token, preferences_url  # noqa: F401
from privacy.models import ConsentActor, ConsentPurpose, ConsentSource
from privacy.selectors import current_consents
from privacy.services import record_consent

from .models import EmailOptOut, SmsOptOut

CHOICES = {
    ConsentPurpose.SMS_REMINDERS: "Text me appointment confirmations and reminders (about 2 per visit). Msg & data rates may apply.",
    ConsentPurpose.SMS_MARKETING: "Text me occasional offers and news (up to 4 a month). Msg & data rates may apply.",
    ConsentPurpose.EMAIL_MARKETING: "Email me occasional offers and news (up to 4 a month).",
}
SMS_PURPOSES = (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_MARKETING)


def current_preferences(client):
    state = {purpose: current_consents(client_ids=[client.pk], purpose=purpose).get(client.pk, False) for purpose in CHOICES}
    if client.mobile_phone and SmsOptOut.objects.filter(phone_hash=contact_hash(client.mobile_phone)).exists():
        for purpose in SMS_PURPOSES:
            state[purpose] = False
    if client.email and EmailOptOut.objects.filter(email_hash=contact_hash(client.email)).exists():
        state[ConsentPurpose.EMAIL_MARKETING] = False
    return state


def update_preferences(*, client, choices, ip_address=None, user_agent=""):
    """Apply the client's choices; returns the purposes that changed."""
    from .services import record_opt_out

    before = current_preferences(client)
    changed = [p for p in CHOICES if bool(choices.get(p)) != before[p]]
    with transaction.atomic():
        for purpose in changed:
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
        if client.mobile_phone and any(p in changed for p in SMS_PURPOSES):
            if any(choices.get(p) for p in SMS_PURPOSES):
                # A STOP is lifted only for its phone's owner: the link proves the email, not a
                # typed number (anyone can book with a stranger's). Else START from the phone.
                if client.phone_verified_at:
                    SmsOptOut.objects.filter(phone_hash=contact_hash(client.mobile_phone)).delete()
            else:
                # The withdrawals were just recorded above.
                record_opt_out(
                    phone=str(client.mobile_phone),
                    reason="Turned off all texts in the preference center",
                    source=ConsentSource.PREFERENCE_CENTER,
                    withdraw_consents=False,
                )
        if client.email and ConsentPurpose.EMAIL_MARKETING in changed and choices.get(ConsentPurpose.EMAIL_MARKETING):
            EmailOptOut.objects.filter(email_hash=contact_hash(client.email)).delete()
    return changed


def email_preferences_link(*, email):
    """Email a preference link if the address is a client's; the caller answers the same either way."""
    # Several records may hold one address (each online booking is its own record): the oldest is the person's own.
    client = identity.clients_with_email(email).order_by("pk").first()
    if client is None:
        return False
    context = {"client": client, "url": preferences_url(client), "clinic_name": settings.CLINIC_NAME,
               "days": settings.PREFERENCE_LINK_MAX_AGE_DAYS}
    send_mail(
        subject=f"Your {settings.CLINIC_NAME} message preferences",
        message=render_to_string("messaging/email/preferences_link.txt", context),
        from_email=None,
        recipient_list=[client.email],
    )
    return True
