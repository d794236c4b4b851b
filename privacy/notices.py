"""The exact wording of every consent prompt.

The ledger stores the text a person saw, so these strings are evidence: change
them deliberately, and past records keep the wording that was shown then.
Each is translated (gettext): called in the visitor's language, it returns the words
shown to them, and the ledger records those words and that language.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from .models import ConsentPurpose


def booking_notices():
    """The prompts on the booking form, keyed by purpose."""
    clinic = settings.CLINIC_NAME
    # The frequency the marketing opt-ins promise is the cap campaigns enforce (messaging.permissions).
    cap = settings.MARKETING_MAX_PER_30_DAYS
    return {
        ConsentPurpose.PRIVACY_POLICY: _("I have read and accept the %(clinic)s privacy policy.") % {"clinic": clinic},
        ConsentPurpose.SMS_REMINDERS: _(
            "Text me appointment confirmations and reminders from %(clinic)s "
            "(about 2 messages per appointment). Msg & data rates may apply. "
            "Reply STOP to opt out, HELP for help. Consent is not a condition of booking."
        )
        % {"clinic": clinic},
        ConsentPurpose.SMS_MARKETING: _(
            "Text me occasional offers and news from %(clinic)s (up to %(cap)s messages a month). "
            "Msg & data rates may apply. Reply STOP to opt out, HELP for help. "
            "Consent is not a condition of booking."
        )
        % {"clinic": clinic, "cap": cap},
        ConsentPurpose.EMAIL_MARKETING: _(
            "Email me occasional offers and news from %(clinic)s (up to %(cap)s emails a month). "
            "Unsubscribe at any time with the link in every email."
        )
        % {"clinic": clinic, "cap": cap},
    }


def phone_call_notices():
    """The words the front desk reads to a caller booking by phone, keyed by purpose, in the active
    language (the phone booking page renders them in the caller's language, and the ledger keeps that).

    Only texts about the caller's own appointments are asked by phone: marketing texts need
    consent in writing (TCPA), so a caller who wants them opts in on a page or by text.
    """
    clinic = settings.CLINIC_NAME
    return {
        ConsentPurpose.PRIVACY_POLICY: _(
            "%(clinic)s keeps your name, contact details and appointments to book and remind you of your visits. "
            "Our privacy policy, on our website, says how we use them and your rights."
        )
        % {"clinic": clinic},
        ConsentPurpose.SMS_REMINDERS: _(
            "May %(clinic)s text this mobile number your appointment confirmations and reminders? "
            "About 2 messages per appointment. Message and data rates may apply. "
            "Reply STOP to opt out or HELP for help. You do not have to agree to book."
        )
        % {"clinic": clinic},
    }


def waitlist_notices():
    """The prompts on the waitlist form, keyed by purpose (the texting one in the booking form's words)."""
    clinic = settings.CLINIC_NAME
    per_day = settings.WAITLIST_MAX_OFFERS_PER_DAY
    return {
        ConsentPurpose.PRIVACY_POLICY: booking_notices()[ConsentPurpose.PRIVACY_POLICY],
        ConsentPurpose.SMS_WAITLIST: _(
            "Text me when a time I am waiting for opens up at %(clinic)s (up to %(per_day)s messages a day; "
            "reply YES within %(minutes)s minutes to take it). "
            "Msg & data rates may apply. Reply STOP to opt out, HELP for help. "
            "Consent is not a condition of booking."
        )
        % {"clinic": clinic, "per_day": per_day, "minutes": settings.WAITLIST_OFFER_MINUTES},
    }


# 2026-12: the compact banner (one short sentence, so it fits a third of a 360x640 screen).
COOKIE_BANNER_VERSION = "2026-12"
COOKIE_GROUP_TEXT = {
    "preferences": gettext_lazy("Preference cookies remember your choices on this site."),
    "analytics": gettext_lazy("Analytics cookies (Google Analytics, Google Tag Manager) tell us how the site is used."),
    "marketing": gettext_lazy(
        "Marketing cookies (Meta Pixel for Facebook and Instagram) let us show you our ads elsewhere."
    ),
    "do_not_sell": gettext_lazy(
        "Do Not Sell or Share My Personal Information: no sharing for targeted advertising from this browser."
    ),
}


# The cookie groups' names and descriptions are stored in the database (privacy migration 0004) in
# English; these marks put them in the catalog so the cookie settings page shows them translated.
COOKIE_GROUP_WORDS = [
    gettext_noop("Preferences"),
    gettext_noop("Remember your choices on this site."),
    gettext_noop("Analytics"),
    gettext_noop("Google Analytics and Google Tag Manager tell us how the site is used."),
    gettext_noop("Marketing"),
    gettext_noop("The Meta Pixel lets us show you our ads on Facebook and Instagram."),
]


def cookie_banner_text(group):
    """The banner's wording for one choice, with its version: what the ledger stores."""
    # The banner's sentence itself (the same msgid as templates/privacy/_cookie_banner.html), then the group.
    shown = _(
        "Necessary cookies run this site. "
        "Preference, analytics (Google) and marketing (Meta) cookies only if you agree."
    )
    return f"[cookie banner {COOKIE_BANNER_VERSION}] {shown} {COOKIE_GROUP_TEXT[group]}"
