"""The waitlist for a whole visit: a client waits for several services back to back; an offer holds the whole
visit (every practitioner, room and device), YES books all of it as one visit, and a late YES books nothing."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from appointments.availability import find_free_slots
from appointments.models import Appointment, AppointmentStatus, HeldUnit, SlotHold, Visit
from appointments.services import ClientDetails, RequestMeta, change_visit_status
from appointments.visit_availability import find_visit_slots
from messaging.models import MessageKind, SmsMessage
from tests.support.sms import CLINIC_NUMBER, inbound, twiml_message
from tests.support.visits import book, visit_clinic
from waitlist import services
from waitlist.models import EntryStatus, OfferStatus, Opening, OpeningStatus, WaitlistEntry, WaitlistOffer

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)  # Monday morning, texting hours
TUESDAY = NOW.date() + timedelta(days=1)
ANA, BEN = "+14085550101", "+14085550102"
pytestmark = pytest.mark.django_db


def tue(hour, minute=0):
    return datetime(2026, 12, 8, hour, minute, tzinfo=LA)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(clock):
    clinic = visit_clinic()
    clinic.location.sms_from_number = CLINIC_NUMBER
    clinic.location.save()
    return clinic


def join(clinic, phone, services_wanted, *, name="Ana"):
    first, *more = services_wanted
    return services.join_waitlist(
        location=clinic.location,
        service=first,
        more_services=more,
        practitioner=None,
        earliest_date=NOW.date(),
        latest_date=NOW.date() + timedelta(days=7),
        details=ClientDetails(
            first_name=name, last_name="Lee", email=f"{name.lower()}@example.com", mobile_phone=phone
        ),
        consents=services.WaitlistConsents(privacy_policy=True, sms_offers=True),
        meta=RequestMeta(ip_address="203.0.113.9"),
    )


def cancel_a_booked_visit(clinic, django_capture_on_commit_callbacks):
    """Consultation with Avery at 9:00 then HydraFacial with Blake (and the room) at 9:30 on Tuesday, cancelled
    by the front desk (the client called: too close to change online)."""
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        first, _ = book(clinic, [clinic.consultation, clinic.facial], tue(9), i=9)
    with django_capture_on_commit_callbacks(execute=True):
        change_visit_status(appointment_id=first.pk, status=AppointmentStatus.CANCELLED)


def visit_starts(clinic):
    slots = find_visit_slots(
        location=clinic.location,
        services=[clinic.consultation, clinic.facial],
        start_date=TUESDAY,
        end_date=TUESDAY,
    )
    return {slot.start for slot in slots}


def facial_free_at(clinic, start):
    slots = find_free_slots(location=clinic.location, service=clinic.facial, start_date=TUESDAY, end_date=TUESDAY)
    return any(slot.start == start for slot in slots)


def test_joining_from_the_page_for_a_whole_visit_keeps_its_services_in_order(client, clinic):
    page = reverse("waitlist:join", args=[clinic.location.slug, clinic.consultation.slug])
    assert 'name="then_2"' in client.get(page).content.decode()
    response = client.post(
        page,
        {
            "then_2": str(clinic.facial.pk),
            "then_3": "",
            "practitioner": "any",
            "earliest_date": NOW.date().isoformat(),
            "latest_date": (NOW.date() + timedelta(days=7)).isoformat(),
            "first_name": "Ana",
            "last_name": "Lee",
            "email": "ana@example.com",
            "mobile_phone": "(408) 555-0101",
            "is_adult": "on",
            "accept_privacy_policy": "on",
            "sms_offers": "on",
        },
    )
    assert response.status_code == 200
    assert "Consultation then HydraFacial (one visit, back to back)" in response.content.decode()
    assert WaitlistEntry.objects.get().visit_services() == [clinic.consultation, clinic.facial]


def test_a_cancelled_visit_is_offered_whole_and_every_part_is_held(clinic, django_capture_on_commit_callbacks):
    """Rule: an offer of a visit holds each of its services' practitioner, room and device, not only the first."""
    join(clinic, ANA, [clinic.consultation, clinic.facial])
    cancel_a_booked_visit(clinic, django_capture_on_commit_callbacks)

    offer = WaitlistOffer.objects.get()
    assert offer.entry.client.mobile_phone == ANA and offer.status == OfferStatus.PENDING
    text = SmsMessage.objects.get(kind=MessageKind.WAITLIST_OFFER)
    assert "a visit of Consultation then HydraFacial" in text.body and "to take Tue 9:00 AM" in text.body
    assert [(h.practitioner, h.start) for h in SlotHold.objects.order_by("start")] == [
        (clinic.avery, tue(9)),
        (clinic.blake, tue(9, 30)),
    ]
    assert HeldUnit.objects.filter(unit=clinic.room).exists()  # the HydraFacial's room too
    # Nobody else can book any part of it meanwhile.
    assert tue(9) not in visit_starts(clinic) and not facial_free_at(clinic, tue(9, 30))


def test_yes_books_the_whole_visit_as_one_visit_on_the_waitlist_record(
    client, clinic, django_capture_on_commit_callbacks
):
    entry = join(clinic, ANA, [clinic.consultation, clinic.facial])
    cancel_a_booked_visit(clinic, django_capture_on_commit_callbacks)

    reply = twiml_message(inbound(client, "YES", sender=ANA))

    assert "booked: Consultation then HydraFacial on Tue 9:00 AM" in reply.replace("&#x27;", "'")
    booked = list(Appointment.objects.exclude(status=AppointmentStatus.CANCELLED).order_by("start"))
    assert [(a.service, a.practitioner, a.start) for a in booked] == [
        (clinic.consultation, clinic.avery, tue(9)),
        (clinic.facial, clinic.blake, tue(9, 30)),
    ]
    assert {a.client for a in booked} == {entry.client}
    assert booked[0].visit is not None and booked[0].visit == booked[1].visit
    assert Visit.objects.filter(appointments__status=AppointmentStatus.BOOKED).distinct().count() == 1
    assert booked[1].assigned_units.filter(unit=clinic.room).exists()
    assert not SlotHold.objects.exists() and not HeldUnit.objects.exists()
    entry.refresh_from_db()
    assert entry.status == EntryStatus.BOOKED and entry.appointment == booked[0]
    assert WaitlistOffer.objects.get().status == OfferStatus.ACCEPTED


def test_an_expired_visit_offer_releases_every_hold_and_a_late_yes_books_nothing(
    client, clinic, clock, django_capture_on_commit_callbacks
):
    join(clinic, ANA, [clinic.consultation, clinic.facial])
    join(clinic, BEN, [clinic.consultation], name="Ben")
    cancel_a_booked_visit(clinic, django_capture_on_commit_callbacks)
    clock.move_to(NOW + timedelta(minutes=16))
    services.expire_offers()

    assert WaitlistOffer.objects.get(entry__client__mobile_phone=ANA).status == OfferStatus.EXPIRED
    # Every part given back: Ben (next in line, the consultation alone) is offered Avery's 9:00.
    ben = WaitlistOffer.objects.get(entry__client__mobile_phone=BEN)
    assert ben.status == OfferStatus.PENDING and ben.opening.start == tue(9)
    assert facial_free_at(clinic, tue(9, 30))
    reply = twiml_message(inbound(client, "YES", sender=ANA))
    assert "Sorry, Tue 9:00 AM has been taken." in reply and "Consultation then HydraFacial" in reply
    assert not Appointment.objects.exclude(status=AppointmentStatus.CANCELLED).exists()


def test_an_offer_is_of_the_whole_visit_only_where_it_fits(clinic, django_capture_on_commit_callbacks):
    """A freed consultation time with no HydraFacial after it (Blake busy) is not offered to a visit-waiter."""
    from tests.support.builders import AppointmentFactory, ClientFactory

    join(clinic, ANA, [clinic.consultation, clinic.facial])
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        AppointmentFactory(
            location=clinic.location,
            service=clinic.facial,
            practitioner=clinic.blake,
            client=ClientFactory(),
            start=tue(9, 30),
        )
    services.offer_opening(
        opening_id=services.record_freed_time(
            location_id=clinic.location.pk, practitioner_id=clinic.avery.pk, start=tue(9), end=tue(9, 30)
        ).pk
    )
    assert not WaitlistOffer.objects.exists()
    assert Opening.objects.get().status == OpeningStatus.OPEN


def test_front_desk_offers_a_whole_visit_by_hand_and_every_part_is_held(client, clinic):
    from tests.support.front_desk import front_desk_user

    entry = join(clinic, ANA, [clinic.consultation, clinic.facial])
    client.force_login(front_desk_user(clinic.location))
    url = reverse("admin:waitlist_waitlistentry_offer", args=[entry.pk])
    page = client.get(url).content.decode()
    value = f"{tue(9).astimezone(ZoneInfo('UTC')).isoformat()}|{clinic.avery.pk}"
    assert value in page and "Consultation with Avery, then HydraFacial with Blake" in page
    assert (
        "Consultation then HydraFacial"
        in client.get(reverse("admin:waitlist_waitlistentry_changelist")).content.decode()
    )
    assert client.post(url, {"time": value}).status_code == 302
    offer = WaitlistOffer.objects.get()
    assert offer.opening.start == tue(9) and offer.more_holds.count() == 1
    assert tue(9) not in visit_starts(clinic) and not facial_free_at(clinic, tue(9, 30))


def test_the_visit_page_links_to_the_waitlist_for_the_whole_visit_with_its_services_chosen(client, clinic):
    from tests.support.visits import visit_url

    query = {"service_1": clinic.consultation.pk, "service_2": clinic.facial.pk}
    page = client.get(visit_url(clinic.location), query).content.decode()
    link = (
        reverse("waitlist:join", args=[clinic.location.slug, clinic.consultation.slug]) + f"?then_2={clinic.facial.pk}"
    )
    assert f'href="{link}"' in page
    form = client.get(link).content.decode()
    assert f'<option value="{clinic.facial.pk}" selected>HydraFacial</option>' in form


def _cancel_blakes_facial_at_eleven(clinic, django_capture_on_commit_callbacks):
    """A single HydraFacial with Blake, Tue 11:00-12:00, cancelled by the front desk: Blake's time is freed."""
    from appointments.services import change_appointment_status
    from tests.support.builders import AppointmentFactory, ClientFactory

    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        facial = AppointmentFactory(
            location=clinic.location,
            service=clinic.facial,
            practitioner=clinic.blake,
            client=ClientFactory(),
            start=tue(11),
        )
    with django_capture_on_commit_callbacks(execute=True):
        change_appointment_status(appointment_id=facial.pk, status=AppointmentStatus.CANCELLED)


def test_a_freed_time_of_a_later_services_practitioner_fills_an_any_practitioner_visit(
    client, clinic, django_capture_on_commit_callbacks
):
    """Rule: a whole-visit entry for any practitioner matches whoever freed the time, for whichever of its
    services they perform (as a single service's entry does), not only the first service's practitioner."""
    entry = join(clinic, ANA, [clinic.consultation, clinic.facial])
    # Blake frees 11:00-12:00; only Avery does consultations, so Blake's part is the HydraFacial.
    _cancel_blakes_facial_at_eleven(clinic, django_capture_on_commit_callbacks)

    offer = WaitlistOffer.objects.get()
    assert offer.entry == entry and offer.opening.practitioner == clinic.blake and offer.opening.start == tue(11)
    assert "to take Tue 11:00 AM" in SmsMessage.objects.get(kind=MessageKind.WAITLIST_OFFER).body
    assert [(h.practitioner, h.start) for h in SlotHold.objects.order_by("start")] == [
        (clinic.avery, tue(11)),
        (clinic.blake, tue(11, 30)),
    ]

    reply = twiml_message(inbound(client, "YES", sender=ANA))
    assert "booked: Consultation then HydraFacial on Tue 11:00 AM" in reply.replace("&#x27;", "'")
    booked = list(Appointment.objects.exclude(status=AppointmentStatus.CANCELLED).order_by("start"))
    assert [(a.service, a.practitioner, a.start) for a in booked] == [
        (clinic.consultation, clinic.avery, tue(11)),
        (clinic.facial, clinic.blake, tue(11, 30)),
    ]
    # Blake's 11:00-11:30, before their part, is still free: it stays on offer for the next person.
    assert Opening.objects.filter(
        practitioner=clinic.blake, start=tue(11), end=tue(11, 30), status=OpeningStatus.OPEN
    ).exists()


def test_a_visit_entry_matched_through_a_later_service_keeps_the_daily_offer_cap(
    clinic, django_capture_on_commit_callbacks
):
    """Rule: at most the day's offers per number, whole-visit entries matched this way included."""
    first = join(clinic, ANA, [clinic.consultation, clinic.facial])
    join(clinic, BEN, [clinic.consultation, clinic.facial], name="Ben")
    # Ana's number (never heard from: one offer a day) had its offer today already.
    earlier = Opening.objects.create(
        location=clinic.location, practitioner=clinic.avery, start=tue(15), end=tue(15, 30), status=OpeningStatus.LAPSED
    )
    WaitlistOffer.objects.create(opening=earlier, entry=first, status=OfferStatus.EXPIRED, expires_at=NOW)

    _cancel_blakes_facial_at_eleven(clinic, django_capture_on_commit_callbacks)

    offer = WaitlistOffer.objects.get(status=OfferStatus.PENDING)
    assert offer.entry.client.mobile_phone == BEN and offer.opening.start == tue(11)


def test_a_visit_offered_from_a_time_freed_on_the_day_clocks_go_forward_follows_in_real_time(
    client, django_capture_on_commit_callbacks
):
    """DST: on 2027-03-14 Los Angeles skips 2:00-3:00. Blake's 1:30 AM HydraFacial (an hour: until 3:30 AM)
    is cancelled; a whole visit's entry is offered 1:30 AM, its consultation until 3:00 AM (30 real minutes)
    and the HydraFacial from 3:00 AM with Blake, held and booked at those instants."""
    from appointments.services import change_appointment_status
    from tests.support.builders import AppointmentFactory, ClientFactory

    monday = datetime(2027, 3, 8, 10, tzinfo=LA)
    with time_machine.travel(monday, tick=False):
        clinic = visit_clinic(hours=(datetime.min.time(), datetime(2000, 1, 1, 6).time()))
        clinic.location.sms_from_number = CLINIC_NUMBER
        clinic.location.save()
        services.join_waitlist(
            location=clinic.location,
            service=clinic.consultation,
            more_services=[clinic.facial],
            practitioner=None,
            earliest_date=monday.date(),
            latest_date=monday.date() + timedelta(days=7),
            details=ClientDetails(first_name="Ana", last_name="Lee", email="ana@example.com", mobile_phone=ANA),
            consents=services.WaitlistConsents(privacy_policy=True, sms_offers=True),
            meta=RequestMeta(ip_address="203.0.113.9"),
        )
        facial = AppointmentFactory(
            location=clinic.location,
            service=clinic.facial,
            practitioner=clinic.blake,
            client=ClientFactory(),
            start=datetime(2027, 3, 14, 9, 30, tzinfo=ZoneInfo("UTC")),  # 1:30 AM PST
        )
        assert facial.end.astimezone(LA).strftime("%H:%M %Z") == "03:30 PDT"
        with django_capture_on_commit_callbacks(execute=True):
            change_appointment_status(appointment_id=facial.pk, status=AppointmentStatus.CANCELLED)

        offer = WaitlistOffer.objects.get()
        assert "to take Sun 1:30 AM" in SmsMessage.objects.get(kind=MessageKind.WAITLIST_OFFER).body
        utc = ZoneInfo("UTC")
        assert [
            (h.practitioner, h.start.astimezone(utc).strftime("%H:%M")) for h in SlotHold.objects.order_by("start")
        ] == [
            (clinic.avery, "09:30"),
            (clinic.blake, "10:00"),
        ]
        assert twiml_message(inbound(client, "YES", sender=ANA))
    booked = list(Appointment.objects.exclude(status=AppointmentStatus.CANCELLED).order_by("start"))
    assert [(a.practitioner, a.start.astimezone(LA).strftime("%H:%M %Z")) for a in booked] == [
        (clinic.avery, "01:30 PST"),
        (clinic.blake, "03:00 PDT"),
    ]
    assert booked[1].start - booked[0].start == timedelta(minutes=30)
    assert offer.opening.start == booked[0].start


def test_a_visit_whose_later_part_starts_off_the_booking_grid_is_still_held_and_offered(
    clinic, django_capture_on_commit_callbacks
):
    """A consultation with 10 minutes of clean-up puts the HydraFacial at 9:40, between the 15-minute starts a
    single service is offered at: the offer still holds that part (as the visit's own payment step does)."""
    clinic.consultation.buffer_after_minutes = 10
    clinic.consultation.save()
    join(clinic, ANA, [clinic.consultation, clinic.facial])
    services.offer_opening(
        opening_id=services.record_freed_time(
            location_id=clinic.location.pk, practitioner_id=clinic.avery.pk, start=tue(9), end=tue(9, 30)
        ).pk
    )
    offer = WaitlistOffer.objects.get()
    assert [(h.practitioner, h.start) for h in SlotHold.objects.order_by("start")] == [
        (clinic.avery, tue(9)),
        (clinic.blake, tue(9, 40)),
    ]
    assert offer.more_holds.get().start == tue(9, 40)
