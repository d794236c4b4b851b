"""Demo privacy data: the published policy that states the clinic's real practices, and its subprocessors."""

from datetime import date, timedelta

from django.db import transaction

from .models import PolicyVersion, Subprocessor

POLICY_VERSION = "2026-12"

POLICY_BODY = """\
This policy explains how California Aesthetics ("we", "us") collects, uses and shares your personal information when you visit our website, book with us or message us, and the choices and rights you have. It covers both of our locations, in Milpitas and Glendale, California.

## 1. Information we collect
- When you book: your first and last name, email address, mobile phone number, and your confirmation that you are 18 or older.
- Your choices about appointment texts, marketing texts and marketing email, with the exact wording you were shown, the time, your IP address and browser (user agent), as a record of your consent.
- Your appointments (location, service, practitioner, time, status) and notes our front desk adds.
- Text messages you send us and that we send you, and their delivery status.
- When you visit the website: technical information such as your IP address and browser. Analytics and advertising cookies are set only if you accept them.

## 2. How we use it
- To schedule, confirm, reschedule and cancel appointments, and to send the reminders you ask for.
- To answer your messages and send you administrative information, such as changes to this policy.
- To send occasional offers by text or email, only if you opted in to that channel. Every marketing text says how to stop; every marketing email has an unsubscribe link.
- With your consent only: to understand how our website is used (Google Analytics, Google Tag Manager) and to show you our ads on Facebook and Instagram (Meta Pixel).

## 3. Cookies
- Necessary cookies keep the site working and secure (your session, security tokens, and your cookie choices). They are always on.
- Preference, analytics and marketing cookies are off until you choose. The banner offers Accept all, Reject all and Manage, equally. You can change your choice at any time with the "Cookie settings" link at the bottom of every page.
- No analytics or advertising script is loaded before you accept it. If you withdraw, it is removed from the next page and we delete the cookies we can.
- We honor the Global Privacy Control signal: a browser that sends it is opted out of sharing for advertising, whatever the banner says.

## 4. How we share it
- We do not sell your personal information. We share it with service providers who work for us, listed below with what they receive, under contracts that bind them to protect it.
- We disclose information when the law requires it (for example a court order or subpoena), to protect our rights, people's safety or against fraud, or as part of a merger or sale of our business.
- Sharing for targeted advertising (the Meta Pixel) happens only if you accept marketing cookies. Use "Your Privacy Choices" at the bottom of any page, or a Global Privacy Control signal, to opt out of it.

## 5. Text messages (A2P messaging)
- If you opt in, we text you booking confirmations and reminders (about 2 per appointment) and, only with a separate opt-in, occasional offers (up to 4 a month). Message frequency varies. Message and data rates may apply.
- Reply STOP to any message to opt out of all our texts; you will get one confirmation and nothing more. Reply START to resubscribe. Reply HELP for help. Reply C to confirm your next appointment.
- We send no texts between 9 pm and 8 am your clinic's local time.
- Carriers are not liable for delayed or undelivered messages.

## 6. Your privacy rights
- You can ask to access your information and receive a copy in a portable format, to correct it, to delete it, to restrict or object to its processing, and to withdraw consent at any time. You can object to direct marketing at any time, and we will stop at once.
- Use the privacy request form linked at the bottom of every page, or contact a location below. We confirm your identity by email (and, for deletion or specific information, by a code to the phone we have on file) before we act.
- We answer within one month (GDPR and UK GDPR) or 45 days (California), and tell you if we need more time and why. A verified deletion request is completed within 14 days.
- Opting out of sale or sharing needs no verification and takes effect at once.

## 7. Retention
- We keep your information only as long as needed for these purposes or as the law requires. Text message contents are kept for 12 months. Records of privacy requests are kept for at least 24 months. Clients with no appointment for 7 years are anonymized, since California requires patient records to be kept at least that long.
- After deletion we keep only anonymized appointment records needed for accounting, and a one-way fingerprint of your phone and email so that your opt-outs stay honored.

## 8. Security
- Connections to our site are encrypted (HTTPS). Staff see only the locations they work at, and every view, export or deletion of a person's data by staff is recorded.
- No system is perfectly secure, and we cannot guarantee that unauthorized parties will never defeat our safeguards.

## 9. Children
- Our services are only for adults 18 and over. Online booking asks you to confirm you are 18 or older. If we learn we hold a child's information, we delete it.

## 10. Changes to this policy
- When we change this policy we publish the new version here with its effective date, keep earlier versions readable below, and email clients who gave us an email address.
"""

SUBPROCESSORS = [
    ("Twilio", "Sending and receiving text messages", "Mobile phone number, message text", "United States", False),
    ("SendGrid (Twilio)", "Sending email", "Name, email address, email content", "United States", False),
    (
        "Google Cloud Platform",
        "Hosting the website and database",
        "All information described in this policy",
        "United States",
        False,
    ),
    # Listed on the policy page only while payments go through Stripe (payments.selectors.payments_are_on).
    (
        "Stripe",
        "Taking card payments, deposits, fees and refunds",
        "The card details you enter on Stripe's own page, amounts, our reference number for you",
        "United States",
        False,
    ),
    (
        "Google Analytics",
        "Website usage statistics",
        "Pseudonymous usage data, IP address, browser",
        "United States",
        True,
    ),
    (
        "Google Tag Manager",
        "Loading the analytics and advertising tags you accept",
        "IP address, browser",
        "United States",
        True,
    ),
    (
        "Meta Platforms (Facebook, Instagram)",
        "Advertising (Meta Pixel)",
        "Pseudonymous browsing data, IP address, browser",
        "United States",
        True,
    ),
]


@transaction.atomic
def seed_privacy_demo_data():
    """Publish the demo policy (without emailing anyone) and list the subprocessors. Idempotent."""
    policy, _ = PolicyVersion.objects.update_or_create(
        version=POLICY_VERSION,
        defaults={"effective_date": date(2026, 11, 1), "body": POLICY_BODY, "is_published": True},
    )
    for position, (name, purpose, data, country, consent_only) in enumerate(SUBPROCESSORS):
        Subprocessor.objects.update_or_create(
            name=name,
            defaults={
                "purpose": purpose,
                "data_shared": data,
                "country": country,
                "only_with_consent": consent_only,
                "position": position,
            },
        )
    return policy


DEMO_REQUEST_EMAIL = "emery.demo-fictional@example.com"


def seed_demo_privacy_request(*, now=None):
    """An access request received weeks ago, so its deadline is close (the digest's "due soon")."""
    from django.conf import settings
    from django.utils import timezone

    from .requests_models import DataSubjectRequest, RequestChannel, RequestType
    from .subject_requests import due_date, regime, submit_request

    existing = DataSubjectRequest.objects.filter(email=DEMO_REQUEST_EMAIL).first()
    if existing:
        return existing
    now = now or timezone.now()
    # Received so that it falls due in about half the "due soon" window.
    received = now - (due_date(now, regime()) - now) + timedelta(days=max(settings.PRIVACY_DUE_SOON_DAYS // 2, 1))
    return submit_request(
        request_type=RequestType.ACCESS,
        email=DEMO_REQUEST_EMAIL,
        details="Please send me a copy of everything you hold about me. (Demo request.)",
        channel=RequestChannel.EMAIL,
        now=received,
    )


# seed_demo's steps (registered in PrivacyConfig.ready(); clinic.demo runs them in order).


def demo_policy_step() -> str:
    return f"Privacy policy {seed_privacy_demo_data().version} published."


def demo_request_step() -> str:
    request = seed_demo_privacy_request()
    return f"Demo privacy request {request.reference} due {request.deadline:%Y-%m-%d}."
