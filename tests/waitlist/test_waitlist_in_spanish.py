"""The waitlist in Spanish: joining remembers the language and records the Spanish words shown;
the offer is texted in Spanish, and SÍ (with or without its accent) takes it, answered in Spanish."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from appointments.models import Appointment
from messaging.models import MessageKind, SmsMessage
from privacy.models import ConsentPurpose, ConsentRecord
from privacy.notices import waitlist_notices
from tests.support.builders import bookable_clinic
from tests.support.sms import CLINIC_NUMBER, inbound, twiml_message
from waitlist import services
from waitlist.models import WaitlistEntry

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
FREED = datetime(2026, 12, 8, 15, 15, tzinfo=LA)  # Tuesday 3:15 PM
ANA = "+14085550101"


@pytest.fixture
def clinic():
    with time_machine.travel(NOW, tick=False):
        location, service, (person,) = bookable_clinic(hours=((time(8), time(20)),))
        location.sms_from_number = CLINIC_NUMBER
        location.save()
        yield location, service, person


def join_in_spanish(client, location, service):
    return client.post(
        reverse("waitlist:join", args=[location.slug, service.slug]),
        {
            "practitioner": "any",
            "earliest_date": "2026-12-07",
            "latest_date": "2026-12-14",
            "first_name": "Ana",
            "last_name": "Lee",
            "email": "ana@example.com",
            "mobile_phone": "(408) 555-0101",
            "is_adult": "on",
            "accept_privacy_policy": "on",
            "sms_offers": "on",
        },
        HTTP_ACCEPT_LANGUAGE="es",
    )


@pytest.mark.policy("sms-waitlist")
@pytest.mark.parametrize("yes", ["SÍ", "si"])
def test_a_spanish_waitlist_gets_spanish_offers_and_si_takes_them(client, clinic, yes):
    location, service, person = clinic
    assert join_in_spanish(client, location, service).status_code == 200
    entry = WaitlistEntry.objects.get()
    assert entry.client.language == "es"
    consent = ConsentRecord.objects.get(client=entry.client, purpose=ConsentPurpose.SMS_WAITLIST)
    with translation.override("es"):
        assert consent.notice_text == waitlist_notices()[ConsentPurpose.SMS_WAITLIST]
    assert consent.language == "es" and "responda SI dentro de" in consent.notice_text
    opening = services.record_freed_time(
        location_id=location.pk, practitioner_id=person.pk, start=FREED, end=FREED + timedelta(hours=1)
    )
    services.offer_opening(opening_id=opening.pk)
    offer = SmsMessage.objects.get(kind=MessageKind.WAITLIST_OFFER)
    assert "hay un horario libre" in offer.body and "Responda SI en" in offer.body and "mar 3:15 PM" in offer.body
    reply = twiml_message(inbound(client, yes, sender=ANA))
    assert reply.startswith("Listo, su cita de")
    assert Appointment.objects.get(start=FREED).client == entry.client
