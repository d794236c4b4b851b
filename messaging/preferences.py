"""The preference center: a client sees and changes what we may send them.

Reached by a signed link that expires (PREFERENCE_LINK_MAX_AGE_DAYS), sent in
every email. Changes take effect at once and go into the consent ledger.
Turning every SMS program off puts the number on the opt-out list (as STOP
does). Turning texts back on records the consent but does not lift a STOP: the
link can reach someone who typed another person's number, so only START texted
from that phone lifts it (the page says so). Turning marketing email back on
for an unsubscribed address emails that address a link that lifts it.

Double opt-in. The page is reached only by links mailed to the address on file
(bound to it), so turning marketing email on here proves the address. A marketing
email box ticked on a booking form proves nothing: that address gets one email
with a signed link to a "Yes, send me offers" button (`confirm_email_marketing`),
single use. Turning SMS marketing on here asks the number to reply JOIN.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clinic import identity
from clinic.hashing import contact_hash
from clinic.models import Client
from clinic.plain_text import render_plain_text
from privacy.links import LinkExpired, LinkInvalid, client_from_preferences_token, preferences_url  # noqa: F401
from privacy.models import ConsentActor, ConsentPurpose, ConsentRecord, ConsentSource
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
EMAIL_OPT_IN_SALT = "messaging.email-marketing-confirm"
EMAIL_OPT_IN_MAX_AGE_DAYS = 30
EMAIL_OPT_IN_EVIDENCE = "confirmation link emailed to the address; the person pressed Yes"


@dataclass
class PreferenceUpdate:
    changed: list = field(default_factory=list)
    # Texts were turned on but the number is on the STOP list: only START from that phone lifts it.
    sms_still_stopped: bool = False
    # Marketing email was turned on for an unsubscribed address: a confirmation link went to it.
    email_confirmation_sent: bool = False
    # Marketing email was turned on for an address not yet proven: it was emailed a link to confirm.
    email_opt_in_confirmation_requested: bool = False
    # SMS marketing was turned on for a number not yet proven: it was asked to reply JOIN.
    sms_join_requested: bool = False


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


def update_preferences(
    *, client, choices, ip_address=None, user_agent="", source=ConsentSource.PREFERENCE_CENTER, email_proven=True
) -> PreferenceUpdate:
    """Apply the client's choices: consents are recorded; a STOP is never lifted from here.

    `source`: where the choice was made (the preference center's link, or the
    client's own signed-in account). `email_proven`: whether the person showed
    control of the email on file (the preference link is mailed to it; an
    account signed in by a texted code did not), else a marketing email opt-in
    waits for the address to confirm it.
    """
    before = current_preferences(client)
    result = PreferenceUpdate(changed=[p for p in CHOICES if bool(choices.get(p)) != before[p]])
    wants_email = bool(choices.get(ConsentPurpose.EMAIL_MARKETING))
    if wants_email and client.email and client.email_verified_at is None and email_proven:
        # Ticked here, by the reader of a link mailed to the address: the person's own confirmation.
        if ConsentPurpose.EMAIL_MARKETING not in result.changed:
            result.changed.append(ConsentPurpose.EMAIL_MARKETING)
    with transaction.atomic():
        if wants_email and client.email and email_proven:
            identity.mark_email_verified(client_ids=[client.pk], email=client.email)
        for purpose in result.changed:
            record_consent(
                client=client,
                purpose=purpose,
                granted=bool(choices.get(purpose)),
                notice_text=CHOICES[purpose],
                source=source,
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
        wants_sms = ConsentPurpose.SMS_MARKETING in result.changed and choices.get(ConsentPurpose.SMS_MARKETING)
        if wants_sms and client.mobile_phone and client.phone_verified_at is None and not result.sms_still_stopped:
            # The link proves the email, not the phone: the number's owner confirms by replying JOIN.
            client_id = client.pk
            transaction.on_commit(lambda: _ask_number_to_join(client_id))
            result.sms_join_requested = True
        wants_email = ConsentPurpose.EMAIL_MARKETING in result.changed and wants_email
        if client.email and wants_email and opt_outs.is_email_opted_out(client.email):
            email = client.email
            transaction.on_commit(lambda: _send_resubscribe_link(client, email))
            result.email_confirmation_sent = True
        elif client.email and wants_email and not email_proven and client.email_verified_at is None:
            client_id = client.pk
            transaction.on_commit(lambda: send_email_marketing_confirmation(client_id=client_id))
            result.email_opt_in_confirmation_requested = True
    return result


def resubscribe_token(client, email):
    # Names the opt-out it lifts: once lifted (or replaced by a newer unsubscribe) the link is spent.
    entry = EmailOptOut.objects.filter(email_hash=contact_hash(email)).values_list("pk", flat=True).first()
    return signing.dumps({"c": client.pk, "e": contact_hash(email), "o": entry}, salt=RESUBSCRIBE_SALT)


def _send_resubscribe_link(client, email):
    url = settings.SITE_URL + reverse("messaging:email_resubscribe", args=[resubscribe_token(client, email)])
    send_mail(
        subject=f"Confirm: marketing emails from {settings.CLINIC_NAME}",
        message=render_plain_text(
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
    # Followed from the address itself: proven, as the preference center's link.
    identity.mark_email_verified(client_ids=[client.pk], email=client.email)
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
        message=render_plain_text("messaging/email/preferences_link.txt", context),
        from_email=None,
        recipient_list=[client.email],
    )
    return True


def _ask_number_to_join(client_id):
    from .confirmations import queue_join_invitation

    queue_join_invitation(client_id=client_id)


# --- Email double opt-in (a box ticked on a booking form) -----------------------


def _latest_email_marketing_choice(client):
    return (
        ConsentRecord.objects.filter(client=client, purpose=ConsentPurpose.EMAIL_MARKETING)
        .order_by("-recorded_at", "-pk")
        .values_list("pk", "granted")
        .first()
    )


def email_marketing_confirmation_due(client) -> bool:
    """An email marketing opt-in on this record waits for the address's owner to confirm it."""
    if not client.email or client.email_verified_at is not None or client.erased_at or client.processing_restricted:
        return False
    latest = _latest_email_marketing_choice(client)
    return bool(latest and latest[1]) and not opt_outs.is_email_opted_out(client.email)


def email_marketing_confirmation_token(client):
    # Names the opt-in it confirms: confirming (a newer ledger row) or withdrawing spends the link.
    latest = _latest_email_marketing_choice(client)
    return signing.dumps(
        {"c": client.pk, "e": contact_hash(client.email), "r": latest[0] if latest else None}, salt=EMAIL_OPT_IN_SALT
    )


def send_email_marketing_confirmation(*, client_id) -> bool:
    """Email the address once a link to confirm the marketing opt-in ticked for it. True if sent."""
    client = Client.objects.filter(pk=client_id).first()
    if client is None or not email_marketing_confirmation_due(client):
        return False
    url = settings.SITE_URL + reverse(
        "messaging:email_marketing_confirm", args=[email_marketing_confirmation_token(client)]
    )
    send_mail(
        subject=f"Confirm: offers and news from {settings.CLINIC_NAME} by email",
        message=render_plain_text(
            "messaging/email/marketing_confirm.txt",
            {
                "url": url,
                "clinic_name": settings.CLINIC_NAME,
                "client": client,
                "per_month": settings.MARKETING_MAX_PER_30_DAYS,
                "days": EMAIL_OPT_IN_MAX_AGE_DAYS,
            },
        ),
        from_email=None,
        recipient_list=[client.email],
    )
    return True


def _email_opt_in_waiting(token, *, lock=False):
    """The record whose opt-in the link confirms, or None (tampered, expired, used, withdrawn, address changed)."""
    try:
        data = signing.loads(token, salt=EMAIL_OPT_IN_SALT, max_age=EMAIL_OPT_IN_MAX_AGE_DAYS * 86400)
        client_id, email_hash, record_id = int(data["c"]), str(data["e"]), data["r"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    clients = Client.objects.select_for_update() if lock else Client.objects
    client = clients.filter(pk=client_id, erased_at__isnull=True).first()
    if client is None or not client.email or contact_hash(client.email) != email_hash:
        return None
    latest = _latest_email_marketing_choice(client)
    if latest is None or latest[0] != record_id or not latest[1]:
        return None
    return client


def check_email_marketing_confirmation(token) -> bool:
    """Whether the link can still be used (the page shows its button only then)."""
    return _email_opt_in_waiting(token) is not None


def confirm_email_marketing(*, token, ip_address=None, user_agent="") -> Client | None:
    """The button on the page the emailed link opened was pressed: the address is proven, the opt-in confirmed."""
    with transaction.atomic():
        client = _email_opt_in_waiting(token, lock=True)
        if client is None:
            return None
        identity.mark_email_verified(client_ids=[client.pk], email=client.email, now=timezone.now())
        record_consent(
            client=client,
            purpose=ConsentPurpose.EMAIL_MARKETING,
            granted=True,
            notice_text=CHOICES[ConsentPurpose.EMAIL_MARKETING],
            source=ConsentSource.EMAIL_CONFIRMATION,
            actor=ConsentActor.CLIENT,
            ip_address=ip_address,
            user_agent=user_agent,
            evidence=EMAIL_OPT_IN_EVIDENCE,
        )
    return client
