"""The marketing frequency cap holds when two campaigns start at the same moment (PostgreSQL, real threads)."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from messaging.marketing import start_campaign
from messaging.models import Campaign, CampaignStatus, Channel, MessageKind, SmsMessage
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import ClientFactory, prove_contacts
from tests.support.environment import requires_postgres

PHONE = "+14085550189"


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.policy("sms-program")
def test_two_campaigns_started_at_once_stay_within_the_cap(settings):
    """Rule: at most MARKETING_MAX_PER_30_DAYS marketing texts per number in 30 days, whichever campaigns race."""
    person = ClientFactory(mobile_phone=PHONE)
    prove_contacts(person)  # marketing needs the owner's confirmation (double opt-in)
    record_consent(
        client=person,
        purpose=ConsentPurpose.SMS_MARKETING,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=3), tick=False):
        for _ in range(settings.MARKETING_MAX_PER_30_DAYS - 1):
            SmsMessage.objects.create(
                to_number=PHONE, client=person, body="old offer", kind=MessageKind.MARKETING, status="delivered"
            )
    campaigns = [
        Campaign.objects.create(
            name=f"Offer {n}", channel=Channel.SMS, body="20% off", send_at=now, status=CampaignStatus.SCHEDULED
        )
        for n in range(2)
    ]
    barrier = threading.Barrier(len(campaigns))

    def start(campaign_id):
        try:
            barrier.wait()
            start_campaign(campaign_id=campaign_id, now=now)
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(c.pk,)) for c in campaigns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert (
        SmsMessage.objects.filter(kind=MessageKind.MARKETING, to_number=PHONE).count()
        == settings.MARKETING_MAX_PER_30_DAYS
    )
