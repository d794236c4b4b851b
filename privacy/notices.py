"""The exact wording of every consent prompt.

The ledger stores the text a person saw, so these strings are evidence: change
them deliberately, and past records keep the wording that was shown then.
"""

from django.conf import settings

from .models import ConsentPurpose


def booking_notices():
    """The prompts on the booking form, keyed by purpose."""
    clinic = settings.CLINIC_NAME
    return {
        ConsentPurpose.PRIVACY_POLICY: (
            f"I have read and accept the {clinic} privacy policy."
        ),
        ConsentPurpose.SMS_REMINDERS: (
            f"Text me appointment confirmations and reminders from {clinic} "
            "(about 2 messages per appointment). Msg & data rates may apply. "
            "Reply STOP to opt out, HELP for help. Consent is not a condition of booking."
        ),
        ConsentPurpose.SMS_MARKETING: (
            f"Text me occasional offers and news from {clinic} (up to 4 messages a month). "
            "Msg & data rates may apply. Reply STOP to opt out, HELP for help. "
            "Consent is not a condition of booking."
        ),
        ConsentPurpose.EMAIL_MARKETING: (
            f"Email me occasional offers and news from {clinic} (up to 4 emails a month). "
            "Unsubscribe at any time with the link in every email."
        ),
    }
