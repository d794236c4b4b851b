"""Demo texts and a campaign draft: the inbox shows a "C" confirmation, a question and a STOP."""

from datetime import timedelta

from django.utils import timezone

from appointments.demo import DEMO_CLIENTS, demo_phone

from .inbound import handle_inbound_sms
from .models import Campaign, CampaignStatus, Channel

# (client index in appointments.demo.DEMO_CLIENTS, text, fixed message id so a second run adds nothing)
DEMO_TEXTS = [
    (7, "C", "SM" + "de30" * 8),
    (8, "Hi! Can I wear makeup to my chemical peel tomorrow, or should I come bare-faced?", "SM" + "de31" * 8),
    (5, "STOP", "SM" + "de32" * 8),
]
CAMPAIGN_NAME = "Demo: January glow-up (draft)"


def seed_demo_texts(*, clinic_number: str) -> int:
    """Texts from demo clients through the same service as the Twilio webhook; returns how many were new."""
    new = 0
    for index, body, sid in DEMO_TEXTS:
        result = handle_inbound_sms(
            message_sid=sid, from_number=demo_phone(DEMO_CLIENTS[index][2]), to_number=clinic_number, body=body
        )
        new += not result.duplicate
    return new


def seed_demo_campaign() -> Campaign:
    campaign, _ = Campaign.objects.get_or_create(
        name=CAMPAIGN_NAME,
        defaults={
            "channel": Channel.SMS,
            "body": "New year, fresh skin: 20% off HydraFacials booked in January.",
            "send_at": timezone.now() + timedelta(days=14),
            "status": CampaignStatus.DRAFT,
        },
    )
    return campaign


# seed_demo's steps (registered in MessagingConfig.ready(); clinic.demo runs them in order).


def demo_texts_step() -> str:
    from clinic.models import Location

    new = seed_demo_texts(clinic_number=str(Location.objects.get(slug="milpitas").phone))
    return f"Demo inbox: {new} new texts (a C confirmation, a question, a STOP)."


def demo_campaign_step() -> str:
    return f"Demo campaign draft: “{seed_demo_campaign().name}”."


def demo_simulate_sms_hint_step() -> str:
    from django.conf import settings

    # Works as printed: DEBUG gives both sides the development token, --url the port `make run` serves on.
    return (
        "Two-way texts without Twilio (another terminal): DEBUG=true .venv/bin/python manage.py "
        f"simulate_sms --url {settings.SITE_URL} --from {demo_phone(DEMO_CLIENTS[9][2])} C"
    )
