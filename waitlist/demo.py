"""Demo waitlist: two people waiting for a HydraFacial at Milpitas, and a time offered to the first of them."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from appointments.availability import find_free_slots
from appointments.models import Service
from appointments.services import ClientDetails, RequestMeta
from clinic.models import Location

from . import services
from .models import Opening, WaitlistEntry, WaitlistOffer

# Fictional numbers (555-01xx) and example.com addresses: nobody real is texted or emailed.
WAITING = [
    ("Maria", "Demo-Waitlist", "maria.waitlist@example.com", "+14085550171"),
    ("Tom", "Demo-Waitlist", "tom.waitlist@example.com", "+14085550172"),
]


@transaction.atomic
def seed_waitlist_demo_data(*, now=None):
    """Create the demo entries once, then offer the first free HydraFacial time two days out to the first.

    Returns (entries, offer). Running it again adds nothing. The offer goes through the waitlist's own
    rules (consent, texting hours, the daily cap): in quiet hours there is none yet, and the opening waits
    for the every-minute pass.
    """
    now = now or timezone.now()
    location = Location.objects.get(slug="milpitas")
    service = Service.objects.get(slug="hydrafacial")
    today = now.astimezone(location.tzinfo).date()
    entries = []
    for first, last, email, phone in WAITING:
        entry = WaitlistEntry.objects.filter(client__email=email, location=location, service=service).first()
        if entry is None:
            entry = services.join_waitlist(
                location=location,
                service=service,
                practitioner=None,
                earliest_date=today,
                latest_date=today + timedelta(days=14),
                details=ClientDetails(first_name=first, last_name=last, email=email, mobile_phone=phone),
                consents=services.WaitlistConsents(privacy_policy=True, sms_offers=True),
                meta=RequestMeta(user_agent="seed_demo"),
                now=now,
            )
        entries.append(entry)
    if WaitlistOffer.objects.filter(entry__in=entries).exists() or Opening.objects.filter(location=location).exists():
        return entries, WaitlistOffer.objects.filter(entry__in=entries).first()
    day = today + timedelta(days=2)
    slots = find_free_slots(location=location, service=service, start_date=day, end_date=day + timedelta(days=5))
    if not slots:
        return entries, None
    slot = slots[0]
    opening = services.record_freed_time(
        location_id=location.pk, practitioner_id=slot.practitioner_ids[0], start=slot.start, end=slot.end
    )
    return entries, services.offer_opening(opening_id=opening.pk, now=now)


def demo_waitlist_step() -> str:
    # After the policy: joining records its acceptance.
    entries, offer = seed_waitlist_demo_data()
    return (
        f"Demo waitlist: {len(entries)} entries, {'an' if offer else 'no'} offer waiting (offers go in texting hours)."
    )
