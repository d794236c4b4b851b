"""A whole visit offered from the waitlist is booked once (threads on PostgreSQL, real row locks): two YES
texts and a stranger's online booking of the same visit at the same moment leave one visit, the client's."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client as HttpClient

from appointments import services as booking
from appointments.models import Appointment, AppointmentStatus, SlotHold
from tests.support.environment import requires_postgres
from tests.support.sms import CLINIC_NUMBER, inbound, twiml_message
from tests.support.visits import details, visit_clinic
from waitlist import services
from waitlist.models import OfferStatus, WaitlistOffer

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
VISIT = datetime(2026, 12, 8, 9, 0, tzinfo=LA)
ANA = "+14085550101"
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_two_yes_texts_and_an_online_booking_racing_for_one_held_visit_book_it_once():
    with time_machine.travel(NOW, tick=False):
        clinic = visit_clinic()
        clinic.location.sms_from_number = CLINIC_NUMBER
        clinic.location.save()
        entry = services.join_waitlist(
            location=clinic.location,
            service=clinic.consultation,
            more_services=[clinic.facial],
            practitioner=None,
            earliest_date=NOW.date(),
            latest_date=NOW.date() + timedelta(days=7),
            details=booking.ClientDetails(first_name="Ana", last_name="Lee", email="ana@example.com", mobile_phone=ANA),
            consents=services.WaitlistConsents(privacy_policy=True, sms_offers=True),
            meta=booking.RequestMeta(),
        )
        opening = services.record_freed_time(
            location_id=clinic.location.pk,
            practitioner_id=clinic.avery.pk,
            start=VISIT,
            end=VISIT + timedelta(minutes=30),
        )
        services.offer_opening(opening_id=opening.pk)  # offered already after commit, or now
        assert WaitlistOffer.objects.filter(status=OfferStatus.PENDING).count() == 1
        assert SlotHold.objects.count() == 2

        barrier = threading.Barrier(3)
        replies, refused = [], []

        def reply_yes(sid):
            try:
                barrier.wait()
                replies.append(twiml_message(inbound(HttpClient(), "YES", sid=sid, sender=ANA)))
            finally:
                connection.close()

        def book_online():
            try:
                barrier.wait()
                booking.book_visit(
                    location=clinic.location,
                    service_ids=[clinic.consultation.pk, clinic.facial.pk],
                    start=VISIT,
                    details=details(5),
                    consents=booking.BookingConsents(privacy_policy=True),
                )
            except booking.SlotUnavailable:
                refused.append(True)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=reply_yes, args=("SM" + "a" * 32,)),
            threading.Thread(target=reply_yes, args=("SM" + "b" * 32,)),
            threading.Thread(target=book_online),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    booked = list(Appointment.objects.exclude(status=AppointmentStatus.CANCELLED).order_by("start"))
    assert [(a.service_id, a.start) for a in booked] == [
        (clinic.consultation.pk, VISIT),
        (clinic.facial.pk, VISIT + timedelta(minutes=30)),
    ]
    assert {a.client_id for a in booked} == {entry.client_id} and booked[0].visit_id == booked[1].visit_id
    assert refused == [True]
    assert sorted(r.replace("&#x27;", "'").split(":")[0] for r in replies) == [
        "You're already booked for Tue 9",
        "You're booked",
    ], replies
    assert WaitlistOffer.objects.get().status == OfferStatus.ACCEPTED and not SlotHold.objects.exists()
