"""The exact wording of every consent prompt.

The ledger stores the text a person saw, so these strings are evidence: change
them deliberately, and past records keep the wording that was shown then.
"""

from django.conf import settings

from .models import ConsentPurpose


def booking_notices():
    """The prompts on the booking form, keyed by purpose."""
    clinic = settings.CLINIC_NAME
    # The frequency the marketing opt-ins promise is the cap campaigns enforce (messaging.permissions).
    cap = settings.MARKETING_MAX_PER_30_DAYS
    return {
        ConsentPurpose.PRIVACY_POLICY: (f"I have read and accept the {clinic} privacy policy."),
        ConsentPurpose.SMS_REMINDERS: (
            f"Text me appointment confirmations and reminders from {clinic} "
            "(about 2 messages per appointment). Msg & data rates may apply. "
            "Reply STOP to opt out, HELP for help. Consent is not a condition of booking."
        ),
        ConsentPurpose.SMS_MARKETING: (
            f"Text me occasional offers and news from {clinic} (up to {cap} messages a month). "
            "Msg & data rates may apply. Reply STOP to opt out, HELP for help. "
            "Consent is not a condition of booking."
        ),
        ConsentPurpose.EMAIL_MARKETING: (
            f"Email me occasional offers and news from {clinic} (up to {cap} emails a month). "
            "Unsubscribe at any time with the link in every email."
        ),
    }


def phone_call_notices():
    """The words the front desk reads to a caller booking by phone, keyed by purpose.

    Only texts about the caller's own appointments are asked by phone: marketing texts need
    consent in writing (TCPA), so a caller who wants them opts in on a page or by text.
    """
    clinic = settings.CLINIC_NAME
    return {
        ConsentPurpose.PRIVACY_POLICY: (
            f"{clinic} keeps your name, contact details and appointments to book and remind you of your visits. "
            f"Our privacy policy, on our website, says how we use them and your rights."
        ),
        ConsentPurpose.SMS_REMINDERS: (
            f"May {clinic} text this mobile number your appointment confirmations and reminders? "
            "About 2 messages per appointment. Message and data rates may apply. "
            "Reply STOP to opt out or HELP for help. You do not have to agree to book."
        ),
    }


def waitlist_notices():
    """The prompts on the waitlist form, keyed by purpose (the texting one in the booking form's words)."""
    clinic = settings.CLINIC_NAME
    per_day = settings.WAITLIST_MAX_OFFERS_PER_DAY
    return {
        ConsentPurpose.PRIVACY_POLICY: booking_notices()[ConsentPurpose.PRIVACY_POLICY],
        ConsentPurpose.SMS_WAITLIST: (
            f"Text me when a time I am waiting for opens up at {clinic} (up to {per_day} messages a day; "
            f"reply YES within {settings.WAITLIST_OFFER_MINUTES} minutes to take it). "
            "Msg & data rates may apply. Reply STOP to opt out, HELP for help. "
            "Consent is not a condition of booking."
        ),
    }


COOKIE_BANNER_VERSION = "2026-11"
COOKIE_GROUP_TEXT = {
    "preferences": "Preference cookies remember your choices on this site.",
    "analytics": "Analytics cookies (Google Analytics, Google Tag Manager) tell us how the site is used.",
    "marketing": "Marketing cookies (Meta Pixel for Facebook and Instagram) let us show you our ads elsewhere.",
    "do_not_sell": (
        "Do Not Sell or Share My Personal Information: no sharing for targeted advertising from this browser."
    ),
}


def cookie_banner_text(group):
    """The banner's wording for one choice, with its version: what the ledger stores."""
    return (
        f"[cookie banner {COOKIE_BANNER_VERSION}] We use necessary cookies to run this site. With your permission "
        f"we also use optional cookies. {COOKIE_GROUP_TEXT[group]}"
    )
