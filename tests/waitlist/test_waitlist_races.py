"""Two YES replies for one time never both book (threads on PostgreSQL, real row locks)."""

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse

from appointments.models import Appointment
from appointments.services import ClientDetails, RequestMeta
from messaging.models import Direction, MessageKind, MessageStatus, SmsMessage
from tests.support.builders import StaffFactory, bookable_clinic
from tests.support.environment import requires_postgres
from tests.support.sms import CLINIC_NUMBER, inbound, twiml_message
from waitlist import services
from waitlist.models import OfferStatus, Opening, WaitlistOffer

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
FREED = datetime(2026, 12, 8, 15, 15, tzinfo=LA)
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinic():
    with time_machine.travel(NOW, tick=False):
        location, service, (person,) = bookable_clinic(hours=((time(8), time(20)),))
        location.sms_from_number = CLINIC_NUMBER
        location.save()
        yield location, service, person


def join(clinic, phone, name):
    location, service, _ = clinic
    return services.join_waitlist(
        location=location,
        service=service,
        practitioner=None,
        earliest_date=NOW.date(),
        latest_date=NOW.date() + timedelta(days=7),
        details=ClientDetails(first_name=name, last_name="Lee", email=f"{name}@example.com", mobile_phone=phone),
        consents=services.WaitlistConsents(privacy_policy=True, sms_offers=True),
        meta=RequestMeta(),
    )


def race(texts):
    """Send each (sender, sid) YES from its own thread at the same moment; return the replies."""
    barrier = threading.Barrier(len(texts))
    replies = []

    def reply_yes(sender, sid):
        try:
            barrier.wait()
            replies.append(twiml_message(inbound(HttpClient(), "YES", sid=sid, sender=sender)))
        finally:
            connection.close()

    threads = [threading.Thread(target=reply_yes, args=text) for text in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return replies


def test_two_yes_texts_from_one_number_at_once_book_the_time_once(clinic):
    join(clinic, "+14085550101", "ana")
    with time_machine.travel(NOW, tick=False):
        opening = services.record_freed_time(
            location_id=clinic[0].pk, practitioner_id=clinic[2].pk, start=FREED, end=FREED + timedelta(hours=1)
        )
        services.offer_opening(opening_id=opening.pk)
        replies = race([("+14085550101", "SM" + "a" * 32), ("+14085550101", "SM" + "b" * 32)])
    assert Appointment.objects.count() == 1
    assert sorted(r.split(":")[0].split(" ")[1] for r in replies) == ["already", "booked"], replies


def test_two_people_holding_offers_for_one_time_never_both_book_it(clinic):
    """Two live offers for one time, written behind the services' back: one booking, one polite "taken"."""
    location, service, person = clinic
    entries = [join(clinic, "+14085550101", "ana"), join(clinic, "+14085550102", "ben")]
    with time_machine.travel(NOW, tick=False):
        for entry in entries:
            opening = Opening.objects.create(
                location=location, practitioner=person, start=FREED, end=FREED + timedelta(hours=1)
            )
            # No hold: each YES finds the time free, so only the booking's own locking stands between them.
            text = SmsMessage.objects.create(
                direction=Direction.OUTBOUND,
                to_number=str(entry.client.mobile_phone),
                body="Offer",
                kind=MessageKind.WAITLIST_OFFER,
                status=MessageStatus.SENT,
            )
            WaitlistOffer.objects.create(opening=opening, entry=entry, expires_at=NOW + timedelta(minutes=15), sms=text)
        replies = race([("+14085550101", "SM" + "a" * 32), ("+14085550102", "SM" + "b" * 32)])
    assert Appointment.objects.count() == 1
    assert sum("booked" in r for r in replies) == 1 and sum("has been taken" in r for r in replies) == 1, replies
    assert WaitlistOffer.objects.filter(status=OfferStatus.ACCEPTED).count() == 1


@pytest.mark.policy("sms-waitlist")
def test_two_front_desk_hand_offers_to_one_number_at_once_leave_one_offer_waiting(clinic):
    """A family phone on two entries, two desks offering each a time at the same moment: one text, one refusal."""
    location, _, person = clinic
    parent, daughter = join(clinic, "+14085550101", "ana"), join(clinic, "+14085550101", "dee")
    # A superuser: this flushed database has no role groups (they come from data migrations).
    staff = StaffFactory(locations=[location], is_superuser=True)
    barrier = threading.Barrier(2)
    statuses = []

    def offer(entry, hour):
        try:
            desk = HttpClient()
            desk.force_login(staff)
            start = datetime(2026, 12, 7, hour, 0, tzinfo=LA).astimezone(ZoneInfo("UTC"))  # among the first offered
            url = reverse("admin:waitlist_waitlistentry_offer", args=[entry.pk])
            barrier.wait()
            statuses.append(desk.post(url, {"time": f"{start.isoformat()}|{person.pk}"}).status_code)
        finally:
            connection.close()

    with time_machine.travel(NOW, tick=False):
        threads = [threading.Thread(target=offer, args=args) for args in ((parent, 12), (daughter, 13))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert sorted(statuses) == [200, 302], statuses  # the refused one is the form again, with why
    assert WaitlistOffer.objects.filter(status=OfferStatus.PENDING).count() == 1
    assert SmsMessage.objects.filter(kind=MessageKind.WAITLIST_OFFER).count() == 1
