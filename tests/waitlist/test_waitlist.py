"""The waitlist fills freed times by SMS: consent, order, holds, YES/NO, expiry, caps, quiet hours, STOP."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.html import escape

from appointments.availability import find_free_slots
from appointments.models import (
    Appointment,
    AppointmentStatus,
    HeldUnit,
    LocationClosure,
    ResourceType,
    ResourceUnit,
    SlotHold,
)
from appointments.services import (
    ClientDetails,
    RequestMeta,
    cancel_appointment_by_client,
    change_appointment_status,
    reschedule_appointment_by_client,
)
from clinic.models import Client
from clinic.roles import CLINIC_MANAGER, FRONT_DESK
from messaging.keywords import Keyword, classify, register_keyword, registered_handler, unregister_keyword
from messaging.models import MessageKind, SmsMessage
from privacy import registry
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from privacy.notices import waitlist_notices
from privacy.services import record_consent
from tests.support.booking import post_booking
from tests.support.builders import (
    AppointmentFactory,
    ClientFactory,
    PractitionerFactory,
    StaffFactory,
    WorkingHoursFactory,
    bookable_clinic,
    needs,
)
from tests.support.front_desk import ADD_URL, add_form, front_desk_user
from tests.support.sms import CLINIC_NUMBER, inbound, twiml_message
from waitlist import services
from waitlist.models import EntryStatus, OfferStatus, Opening, OpeningStatus, WaitlistEntry, WaitlistOffer

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)  # Monday morning, texting hours
FREED = datetime(2026, 12, 8, 15, 15, tzinfo=LA)  # Tuesday 3:15 PM
TODAY, NEXT_WEEK = NOW.date(), NOW.date() + timedelta(days=7)
ANA, BEN, CAL = "+14085550101", "+14085550102", "+14085550103"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(db, clock):
    location, service, (person,) = bookable_clinic(hours=((time(8), time(20)),))
    location.sms_from_number = CLINIC_NUMBER
    location.save()
    return location, service, person


def join(clinic, phone, *, name="Ana", practitioner=None, first=TODAY, last=NEXT_WEEK):
    location, service, _ = clinic
    return services.join_waitlist(
        location=location,
        service=service,
        practitioner=practitioner,
        earliest_date=first,
        latest_date=last,
        details=ClientDetails(
            first_name=name, last_name="Lee", email=f"{name.lower()}@example.com", mobile_phone=phone
        ),
        consents=services.WaitlistConsents(privacy_policy=True, sms_offers=True),
        meta=RequestMeta(ip_address="203.0.113.9"),
    )


def freed(clinic, start=FREED):
    location, _, person = clinic
    return services.record_freed_time(
        location_id=location.pk, practitioner_id=person.pk, start=start, end=start + timedelta(hours=1)
    )


def offers_to(phone):
    return WaitlistOffer.objects.filter(entry__client__mobile_phone=phone)


def slot_is_free(clinic, start=FREED):
    location, service, _ = clinic
    day = start.date()
    return any(
        s.start == start for s in find_free_slots(location=location, service=service, start_date=day, end_date=day)
    )


# --- Joining ------------------------------------------------------------------------------------


@pytest.mark.policy("sms-waitlist")
def test_joining_from_the_page_makes_a_new_record_and_records_the_texting_consent_in_its_exact_words(client, clinic):
    location, service, _ = clinic
    stranger = ClientFactory(mobile_phone=ANA, first_name="Old", last_name="Record")
    response = client.post(
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
    )
    assert response.status_code == 200 and "on the waitlist" in response.content.decode()
    entry = WaitlistEntry.objects.get()
    assert entry.client != stranger and entry.client.first_name == "Ana"
    stranger.refresh_from_db()
    assert (stranger.first_name, stranger.last_name) == ("Old", "Record")  # never read nor changed
    consent = ConsentRecord.objects.get(client=entry.client, purpose=ConsentPurpose.SMS_WAITLIST)
    assert consent.granted and consent.source == ConsentSource.WAITLIST_FORM
    assert consent.notice_text == waitlist_notices()[ConsentPurpose.SMS_WAITLIST]
    assert "Reply STOP to opt out, HELP for help." in consent.notice_text
    assert ConsentRecord.objects.get(client=entry.client, purpose=ConsentPurpose.PRIVACY_POLICY).granted


@pytest.mark.policy("sms-waitlist")
def test_joining_without_agreeing_to_texts_is_refused_with_a_message_and_writes_nothing(client, clinic):
    location, service, _ = clinic
    response = client.post(
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
        },
    )
    assert response.status_code == 400
    assert "please agree to be texted" in response.content.decode()
    assert not WaitlistEntry.objects.exists() and not Client.objects.exists()


def test_the_choose_a_time_page_links_to_the_waitlist(client, clinic):
    location, service, _ = clinic
    page = client.get(reverse("appointments:choose_time", args=[location.slug, service.slug])).content.decode()
    assert reverse("waitlist:join", args=[location.slug, service.slug]) in page
    form = client.get(reverse("waitlist:join", args=[location.slug, service.slug])).content.decode()
    assert escape(waitlist_notices()[ConsentPurpose.SMS_WAITLIST]) in form and 'name="sms_offers"' in form


# --- Freed times and offers -----------------------------------------------------------------------


def test_a_cancellation_offers_the_time_to_the_first_in_line_and_holds_it(clinic, django_capture_on_commit_callbacks):
    location, service, person = clinic
    join(clinic, ANA)
    join(clinic, BEN, name="Ben")
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        booked = AppointmentFactory(location=location, service=service, practitioner=person, start=FREED)
    with django_capture_on_commit_callbacks(execute=True):
        cancel_appointment_by_client(appointment_id=booked.pk)
    offer = WaitlistOffer.objects.get()
    assert offer.entry.client.mobile_phone == ANA and offer.status == OfferStatus.PENDING
    text = SmsMessage.objects.get(kind=MessageKind.WAITLIST_OFFER)
    assert str(text.to_number) == ANA
    assert "Reply YES within 15 minutes to take Tue 3:15 PM" in text.body
    assert not slot_is_free(clinic)  # held: nobody else sees it


def test_a_reschedule_and_a_front_desk_cancellation_free_their_old_times(clinic, django_capture_on_commit_callbacks):
    location, service, person = clinic
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        moved = AppointmentFactory(location=location, service=service, practitioner=person, start=FREED)
        cancelled = AppointmentFactory(
            location=location, service=service, practitioner=person, start=FREED + timedelta(days=1)
        )
    with django_capture_on_commit_callbacks(execute=True):
        reschedule_appointment_by_client(appointment_id=moved.pk, new_start=FREED + timedelta(hours=2))
        change_appointment_status(appointment_id=cancelled.pk, status=AppointmentStatus.CANCELLED)
    assert sorted(Opening.objects.values_list("start", flat=True)) == [FREED, FREED + timedelta(days=1)]


def manager(location):
    user = StaffFactory(locations=[location])
    user.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    return user


def test_new_working_hours_added_in_the_admin_free_their_times_and_the_waitlist_offers_one(
    client, clinic, django_capture_on_commit_callbacks
):
    location, service, _ = clinic
    newcomer = PractitionerFactory(name="New Hire", locations=[location], services=[service])
    skill = newcomer.service_skills.get()
    skill.location = location  # a location-limited manager names the location of a skill
    skill.save()
    join(clinic, ANA, practitioner=newcomer)
    client.force_login(manager(location))
    form = {
        "name": newcomer.name,
        "title": "",
        "is_active": "on",
        "locations": [location.pk],
        "service_skills-TOTAL_FORMS": 1,
        "service_skills-INITIAL_FORMS": 1,
        "service_skills-0-id": skill.pk,
        "service_skills-0-practitioner": newcomer.pk,
        "service_skills-0-service": service.pk,
        "service_skills-0-location": location.pk,
        "service_skills-0-duration_minutes": "",
        "working_hours-TOTAL_FORMS": 1,
        "working_hours-INITIAL_FORMS": 0,
        "working_hours-0-location": location.pk,
        "working_hours-0-weekday": FREED.weekday(),  # Tuesdays
        "working_hours-0-start_time": "09:00",
        "working_hours-0-end_time": "17:00",
        "time_off-TOTAL_FORMS": 0,
        "time_off-INITIAL_FORMS": 0,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:appointments_practitioner_change", args=[newcomer.pk]), form)
    assert response.status_code == 302, re.findall(r"errorlist.*?</ul>", response.content.decode(), re.S)
    tuesday_9 = FREED.replace(hour=9, minute=0)
    assert tuesday_9 in set(Opening.objects.values_list("start", flat=True))  # and the Tuesdays after it
    offer = offers_to(ANA).get()
    assert offer.opening.start == tuesday_9 and offer.opening.practitioner == newcomer


def test_a_closure_lifted_in_the_admin_frees_the_days_hours_and_the_waitlist_offers_them(
    client, clinic, django_capture_on_commit_callbacks
):
    location, _, person = clinic
    closure = LocationClosure.objects.create(location=location, date=FREED.date(), reason="Staff training")
    join(clinic, ANA, first=FREED.date(), last=FREED.date())
    client.force_login(manager(location))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:appointments_locationclosure_delete", args=[closure.pk]), {"post": "yes"})
    assert response.status_code == 302 and not LocationClosure.objects.exists()
    opening = Opening.objects.get()
    assert (opening.practitioner, opening.start) == (person, FREED.replace(hour=8, minute=0))
    assert offers_to(ANA).get().opening == opening


def test_yes_books_the_held_time_on_the_waitlist_record(client, clinic):
    entry = join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    reply = twiml_message(inbound(client, "Yes", sender=ANA))
    assert reply.startswith("You&#x27;re booked") or reply.startswith("You're booked")
    appointment = Appointment.objects.get(start=FREED)
    assert appointment.client == entry.client and appointment.status == AppointmentStatus.BOOKED
    entry.refresh_from_db()
    assert entry.status == EntryStatus.BOOKED and not SlotHold.objects.exists()
    assert Opening.objects.get().status == OpeningStatus.FILLED


def test_no_passes_the_time_to_the_next_in_line(client, clinic, django_capture_on_commit_callbacks):
    join(clinic, ANA)
    join(clinic, BEN, name="Ben")
    services.offer_opening(opening_id=freed(clinic).pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert "passed that time on" in twiml_message(inbound(client, "NO", sender=ANA))
    assert offers_to(ANA).get().status == OfferStatus.DECLINED
    assert offers_to(BEN).get().status == OfferStatus.PENDING


def test_an_unanswered_offer_expires_and_moves_to_the_next_in_line(clinic, clock):
    join(clinic, ANA)
    join(clinic, BEN, name="Ben")
    services.offer_opening(opening_id=freed(clinic).pk)
    clock.move_to(NOW + timedelta(minutes=14))
    assert services.expire_offers() == 0 and not offers_to(BEN).exists()
    clock.move_to(NOW + timedelta(minutes=16))
    assert services.expire_offers() == 1
    assert offers_to(ANA).get().status == OfferStatus.EXPIRED
    assert offers_to(BEN).get().status == OfferStatus.PENDING


def test_a_late_yes_gets_a_polite_taken_reply_with_the_next_free_time_and_books_nothing(client, clinic, clock):
    join(clinic, ANA)
    join(clinic, BEN, name="Ben")
    services.offer_opening(opening_id=freed(clinic).pk)
    clock.move_to(NOW + timedelta(minutes=16))
    services.expire_offers()
    reply = twiml_message(inbound(client, "YES", sender=ANA))
    assert "Sorry, Tue 3:15 PM has been taken." in reply and "The next free time" in reply
    assert not Appointment.objects.exists()
    assert offers_to(BEN).get().status == OfferStatus.PENDING


def test_offers_go_in_waitlist_order(clinic, clock):
    clock.move_to(NOW - timedelta(hours=2))
    join(clinic, BEN, name="Ben")
    clock.move_to(NOW - timedelta(hours=1))
    join(clinic, ANA)
    clock.move_to(NOW)
    services.offer_opening(opening_id=freed(clinic).pk)
    assert WaitlistOffer.objects.get().entry.client.mobile_phone == BEN


def test_someone_with_an_offer_waiting_is_not_offered_a_second_time_meanwhile(clinic):
    join(clinic, ANA)
    join(clinic, BEN, name="Ben")
    services.offer_opening(opening_id=freed(clinic).pk)
    services.offer_opening(opening_id=freed(clinic, FREED.replace(hour=9)).pk)
    assert offers_to(ANA).count() == 1 and offers_to(BEN).count() == 1


def test_an_entry_for_another_practitioner_or_other_days_is_not_offered_the_time(clinic):
    location, service, person = clinic
    other = type(person).objects.create(name="Other")
    other.locations.add(location)
    other.services.add(service)
    join(clinic, ANA, practitioner=other)
    join(clinic, BEN, name="Ben", first=NOW.date() + timedelta(days=3))
    join(clinic, CAL, name="Cal", practitioner=person)
    services.offer_opening(opening_id=freed(clinic).pk)
    assert WaitlistOffer.objects.get().entry.client.mobile_phone == CAL


# --- Guards: consent, STOP, quiet hours, cap -----------------------------------------------------------


def test_a_yes_after_the_minutes_are_up_is_too_late_even_before_the_expiry_pass_runs(client, clinic, clock):
    join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    clock.move_to(NOW + timedelta(minutes=15))
    assert "has been taken" in twiml_message(inbound(client, "YES", sender=ANA))
    assert not Appointment.objects.exists()


@pytest.mark.policy("sms-waitlist")
def test_no_offer_goes_to_someone_whose_waitlist_consent_was_withdrawn(clinic):
    first = join(clinic, ANA)
    join(clinic, BEN, name="Ben")
    record_consent(
        client=first.client,
        purpose=ConsentPurpose.SMS_WAITLIST,
        granted=False,
        notice_text="Withdrawn",
        source=ConsentSource.PREFERENCE_CENTER,
    )
    services.offer_opening(opening_id=freed(clinic).pk)
    assert WaitlistOffer.objects.get().entry.client.mobile_phone == BEN


@pytest.mark.policy("sms-waitlist")
def test_no_offer_goes_to_a_number_on_the_stop_list(client, clinic):
    join(clinic, ANA)
    join(clinic, BEN, name="Ben")
    inbound(client, "STOP", sender=ANA, sid="SM" + "7" * 32)
    services.offer_opening(opening_id=freed(clinic).pk)
    assert WaitlistOffer.objects.get().entry.client.mobile_phone == BEN


@pytest.mark.policy("sms-waitlist")
def test_stop_wins_over_yes_after_an_offer(client, clinic):
    join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    inbound(client, "STOP", sender=ANA, sid="SM" + "7" * 32)
    reply = twiml_message(inbound(client, "YES", sender=ANA, sid="SM" + "8" * 32))
    assert reply == "" and not Appointment.objects.exists()


@pytest.mark.policy("sms-waitlist")
def test_a_stop_withdraws_the_offer_waiting_on_that_number_and_the_time_moves_to_the_next_person(
    client, clinic, django_capture_on_commit_callbacks
):
    join(clinic, ANA)
    join(clinic, BEN, name="Ben")
    services.offer_opening(opening_id=freed(clinic).pk)
    with django_capture_on_commit_callbacks(execute=True):
        inbound(client, "Stop texting me", sender=ANA, sid="SM" + "7" * 32)
    assert offers_to(ANA).get().status == OfferStatus.WITHDRAWN
    assert offers_to(ANA).get().hold is None
    assert offers_to(BEN).get().status == OfferStatus.PENDING  # held for Ben now, not for a number that left
    assert SlotHold.objects.count() == 1


@pytest.mark.policy("sms-waitlist")
def test_an_offer_queued_before_a_stop_is_not_sent(client, clinic, sms_outbox):
    join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)  # queued; its send task runs after commit
    inbound(client, "STOP", sender=ANA, sid="SM" + "7" * 32)
    from messaging.sending import deliver_sms

    text = SmsMessage.objects.get(kind=MessageKind.WAITLIST_OFFER)
    assert deliver_sms(message_id=text.pk).outcome == "skipped"
    assert not any(m.get("to") == ANA for m in sms_outbox if isinstance(m, dict))


@pytest.mark.policy("sms-waitlist")
def test_carrier_keywords_cannot_be_registered_by_an_app():
    for word in ("STOP", "start", "Help"):
        with pytest.raises(ImproperlyConfigured):
            register_keyword(name="hijack", words=[word], handler=lambda text: "")
    with pytest.raises(ImproperlyConfigured):
        register_keyword(name="hijack", words=["YES"], handler=lambda text: "")  # taken by the waitlist


@pytest.mark.policy("sms-waitlist")
def test_no_offer_goes_out_in_quiet_hours_and_the_pass_offers_it_when_texting_opens(clinic, clock):
    join(clinic, ANA)
    clock.move_to(datetime(2026, 12, 7, 21, 30, tzinfo=LA))
    opening = freed(clinic)
    assert services.offer_opening(opening_id=opening.pk) is None
    clock.move_to(datetime(2026, 12, 8, 7, 59, tzinfo=LA))
    services.expire_offers()
    assert not WaitlistOffer.objects.exists()
    clock.move_to(datetime(2026, 12, 8, 8, 0, tzinfo=LA))
    services.expire_offers()
    assert offers_to(ANA).get().status == OfferStatus.PENDING


@pytest.mark.policy("sms-waitlist")
def test_a_number_gets_at_most_the_daily_number_of_offers(client, clinic, settings):
    settings.WAITLIST_MAX_OFFERS_PER_DAY = 2
    join(clinic, ANA)
    join(clinic, BEN, name="Ben")
    for hour in (9, 11):
        opening = freed(clinic, FREED.replace(hour=hour))
        services.offer_opening(opening_id=opening.pk)
        offer = WaitlistOffer.objects.get(opening=opening)
        if offer.entry.client.mobile_phone == ANA:
            inbound(client, "NO", sid=f"SM{hour:032d}", sender=ANA)  # Ana texts back: her number is hers
    assert offers_to(ANA).count() == 2
    third = freed(clinic, FREED.replace(hour=13))
    services.offer_opening(opening_id=third.pk)
    assert WaitlistOffer.objects.get(opening=third).entry.client.mobile_phone == BEN


@pytest.mark.policy("sms-waitlist")
def test_a_number_typed_by_a_stranger_and_never_heard_from_gets_one_offer_a_day(client, clinic, settings):
    # Anyone can type anyone's number into the waitlist form: until the number texts us, it gets
    # no more than the booking forms' one unsolicited text a day, however many times free up.
    settings.WAITLIST_MAX_OFFERS_PER_DAY = 3
    join(clinic, ANA)
    first = freed(clinic, FREED.replace(hour=9))
    services.offer_opening(opening_id=first.pk)
    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        services.expire_offers()  # never answered
        second = freed(clinic, FREED.replace(hour=11))
        services.offer_opening(opening_id=second.pk)
    assert offers_to(ANA).count() == 1
    assert not WaitlistOffer.objects.filter(opening=second).exists()

    inbound(client, "HELP", sid="SM" + "7" * 32, sender=ANA)  # the number's holder writes back
    with time_machine.travel(NOW + timedelta(minutes=25), tick=False):
        services.offer_opening(opening_id=second.pk)
    assert offers_to(ANA).count() == 2


# --- Front desk ---------------------------------------------------------------------------------------


def front_desk(location):
    user = StaffFactory(locations=[location])
    user.groups.add(Group.objects.get(name=FRONT_DESK))
    return user


def test_front_desk_sees_only_their_locations_waitlist(client, clinic):
    location, _, _ = clinic
    other = bookable_clinic()
    mine = join(clinic, ANA)
    theirs = join(other, BEN, name="Ben")
    client.force_login(front_desk(location))
    page = client.get(reverse("admin:waitlist_waitlistentry_changelist")).content.decode()
    assert str(mine.client) in page and str(theirs.client) not in page
    assert client.get(reverse("admin:waitlist_waitlistentry_offer", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:waitlist_waitlistentry_change", args=[theirs.pk])).status_code == 404


def test_front_desk_offers_a_time_by_hand_and_it_is_held(client, clinic):
    location, _, person = clinic
    entry = join(clinic, ANA)
    client.force_login(front_desk(location))
    url = reverse("admin:waitlist_waitlistentry_offer", args=[entry.pk])
    page = client.get(url).content.decode()
    noon = datetime(2026, 12, 7, 12, 0, tzinfo=LA)  # the first free time, two hours' notice from NOW
    value = f"{noon.astimezone(ZoneInfo('UTC')).isoformat()}|{person.pk}"
    assert value in page
    response = client.post(url, {"time": value})
    assert response.status_code == 302
    offer = WaitlistOffer.objects.get()
    assert offer.offered_by is not None and offer.opening.start == noon and not slot_is_free(clinic, noon)
    assert SmsMessage.objects.get(kind=MessageKind.WAITLIST_OFFER).body.count("take Mon 12:00 PM") == 1


# --- Privacy -------------------------------------------------------------------------------------------


@pytest.mark.policy("sms-waitlist")
def test_export_and_erasure_cover_the_waitlist(clinic):
    entry = join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    bundle = registry.export_subject([entry.client.pk])
    assert bundle["waitlist_entries"][0]["service"] == entry.service.name
    assert bundle["waitlist_offers"][0]["status"] == OfferStatus.PENDING
    registry.erase_subject([entry.client.pk])
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WITHDRAWN
    assert not SlotHold.objects.exists() and slot_is_free(clinic)


def test_a_yes_with_no_offer_goes_to_the_front_desk_inbox(client, clinic):
    reply = twiml_message(inbound(client, "yes", sender=ANA))
    assert reply == ""
    assert SmsMessage.objects.get(direction="in").read_at is None


def test_a_held_time_cannot_be_booked_online_by_someone_else_and_is_free_again_once_nobody_takes_it(
    client, clinic, clock
):
    location, service, _ = clinic
    join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    assert post_booking(client, location, service, FREED).status_code == 409
    clock.move_to(NOW + timedelta(minutes=16))
    services.expire_offers()  # nobody else waits: the time goes back to the booking pages
    assert not SlotHold.objects.exists() and slot_is_free(clinic)
    assert post_booking(client, location, service, FREED, email="other@example.com").status_code == 302


def test_a_hand_offer_the_rules_refuse_says_why_on_the_page(client, clinic):
    location, _, person = clinic
    entry = join(clinic, ANA)
    record_consent(
        client=entry.client,
        purpose=ConsentPurpose.SMS_WAITLIST,
        granted=False,
        notice_text="Withdrawn",
        source=ConsentSource.PREFERENCE_CENTER,
    )
    client.force_login(front_desk(location))
    noon = datetime(2026, 12, 7, 12, 0, tzinfo=LA)
    response = client.post(
        reverse("admin:waitlist_waitlistentry_offer", args=[entry.pk]),
        {"time": f"{noon.astimezone(ZoneInfo('UTC')).isoformat()}|{person.pk}"},
    )
    assert response.status_code == 200
    assert "cannot be texted an offer: No current consent" in response.content.decode()
    assert not WaitlistOffer.objects.exists() and not Opening.objects.exists()


# --- Attacks: who a YES books for, STOP and consent, quiet hours and the cap by hand ---


@pytest.mark.policy("sms-waitlist")
def test_a_number_shared_by_two_waitlist_records_gets_one_offer_at_a_time_so_a_yes_books_the_one_it_answers(
    client, clinic
):
    # A parent and a daughter joined with the one family phone: each record has its own entry.
    parent = join(clinic, ANA, name="Ana")
    daughter = join(clinic, ANA, name="Dee")
    first = services.offer_opening(opening_id=freed(clinic).pk)
    assert first is not None and first.entry == parent
    # A second time opens while the parent's offer waits: it must not go to the same phone,
    # or the YES the parent sends for the first text books the daughter's.
    second = services.offer_opening(opening_id=freed(clinic, FREED.replace(hour=9)).pk)
    assert second is None or str(second.entry.client.mobile_phone) != ANA
    assert offers_to(ANA).filter(status=OfferStatus.PENDING).count() == 1
    twiml_message(inbound(client, "YES", sender=ANA))
    booked = Appointment.objects.get()
    assert booked.client == parent.client and booked.start == FREED
    assert not daughter.offers.filter(status=OfferStatus.ACCEPTED).exists()


@pytest.mark.policy("sms-waitlist")
def test_a_hand_offer_to_a_number_with_an_offer_waiting_is_refused(clinic):
    location, _, person = clinic
    join(clinic, ANA, name="Ana")
    daughter = join(clinic, ANA, name="Dee")
    services.offer_opening(opening_id=freed(clinic).pk)
    with pytest.raises(services.WaitlistRefused):
        services.offer_by_hand(
            entry_id=daughter.pk,
            practitioner_id=person.pk,
            start=FREED.replace(hour=11),
            staff_user=StaffFactory(locations=[location]),
        )


@pytest.mark.policy("sms-waitlist")
def test_a_yes_from_another_number_books_nobodys_offer(client, clinic):
    join(clinic, ANA)
    ClientFactory(mobile_phone=BEN)  # a client of the clinic, never on the waitlist
    services.offer_opening(opening_id=freed(clinic).pk)
    reply = twiml_message(inbound(client, "Y", sender=BEN))
    assert reply == "" and not Appointment.objects.exists()
    assert WaitlistOffer.objects.get().status == OfferStatus.PENDING


@pytest.mark.policy("sms-waitlist")
def test_a_hand_offer_in_quiet_hours_or_over_the_daily_cap_is_refused_and_texts_nothing(clinic, settings):
    location, _, person = clinic
    staff = StaffFactory(locations=[location])
    entry = join(clinic, ANA)
    with time_machine.travel(NOW.replace(hour=22), tick=False):
        with pytest.raises(services.WaitlistRefused):
            services.offer_by_hand(entry_id=entry.pk, practitioner_id=person.pk, start=FREED, staff_user=staff)
    settings.WAITLIST_MAX_OFFERS_PER_DAY = 1
    services.offer_opening(opening_id=freed(clinic).pk)
    services.decline_offer(phone=ANA)
    with pytest.raises(services.WaitlistRefused):
        services.offer_by_hand(
            entry_id=entry.pk, practitioner_id=person.pk, start=FREED + timedelta(hours=2), staff_user=staff
        )
    assert SmsMessage.objects.filter(kind=MessageKind.WAITLIST_OFFER).count() == 1


@pytest.mark.policy("sms-waitlist")
@pytest.mark.parametrize("word", ["ＳＴＯＰ", "stop.", "Stop!", " s\u200btop ", "HELP?", "ＳＴＡＲＴ", "opt-out"])
def test_no_spelling_of_a_carrier_keyword_can_be_registered_or_shadowed(word):
    with pytest.raises(ImproperlyConfigured):
        register_keyword(name="hijack", words=[word], handler=lambda text: "mine")
    register_keyword(name="hijack", words=["HIJACK"], handler=lambda text: "mine")
    try:
        assert classify(word) != Keyword.NONE and registered_handler(word) is None
    finally:
        unregister_keyword("hijack")


@pytest.mark.policy("sms-waitlist")
def test_yes_from_a_number_that_stopped_and_never_started_again_books_nothing(client, clinic):
    join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    inbound(client, "ＳＴＯＰ", sender=ANA, sid="SM" + "7" * 32)
    for sid, word in (("8", "Ｙｅｓ"), ("9", "y.")):
        assert twiml_message(inbound(client, word, sender=ANA, sid="SM" + sid * 32)) == ""
    assert not Appointment.objects.exists()


# --- Held times ------------------------------------------------------------------------------------


def test_an_expired_hold_blocks_nothing_even_before_the_expiry_pass_runs_and_cannot_be_booked_with(
    client, clinic, clock
):
    join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    assert not slot_is_free(clinic)
    clock.move_to(NOW + timedelta(minutes=16))  # the pass has not run: the hold row is still there
    assert SlotHold.objects.exists() and slot_is_free(clinic)
    reply = twiml_message(inbound(client, "YES", sender=ANA))
    assert "taken" in reply and not Appointment.objects.exists()


def test_the_front_desk_cannot_book_a_held_time_and_the_yes_then_books_it(client, clinic):
    location, service, person = clinic
    entry = join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    walk_in = ClientFactory(preferred_location=location)
    client.force_login(front_desk_user(location))
    local = FREED.astimezone(location.tzinfo)
    form = add_form(location, service, person, walk_in, local.hour, local.minute, start_0=local.date().isoformat())
    response = client.post(ADD_URL, form)
    assert response.status_code == 200
    assert "held for a waitlist offer until Mon 10:15" in response.content.decode().replace("&#x27;", "'")
    # Not even with "book outside working hours": a hold is an overlap, which nothing overrides.
    assert client.post(ADD_URL, {**form, "override_working_hours": "on"}).status_code == 200
    assert not Appointment.objects.exists()
    client.logout()
    assert "booked" in twiml_message(inbound(client, "YES", sender=ANA))
    assert list(Appointment.objects.values_list("client", flat=True)) == [entry.client.pk]


@pytest.fixture
def laser(clinic):
    """A second practitioner who could take the time, and the one laser the service needs."""
    location, service, person = clinic
    second = PractitionerFactory(locations=[location], services=[service])
    WorkingHoursFactory(
        practitioner=second, location=location, weekday=FREED.weekday(), start_time=time(8), end_time=time(20)
    )
    needs(service, location, laser=(1, 15))
    return second


def test_a_held_time_keeps_the_laser_so_nobody_else_can_take_it_and_the_yes_finds_it_free(client, clinic, laser):
    location, service, person = clinic
    entry = join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    day = FREED.date()
    # The other practitioner is free at 3:15, but the held time keeps the one laser (and its clean-up).
    other_times = find_free_slots(location=location, service=service, start_date=day, end_date=day)
    assert FREED not in [s.start for s in other_times]
    assert FREED + timedelta(minutes=45) not in [s.start for s in other_times]
    assert post_booking(client, location, service, FREED, practitioner=laser.pk).status_code == 409
    walk_in = ClientFactory(preferred_location=location)
    client.force_login(front_desk_user(location))
    form = add_form(location, service, laser, walk_in, 15, 15, start_0=day.isoformat())
    page = client.post(ADD_URL, form).content.decode()
    assert "no laser" in page.lower() and "is free from 15:15" in page
    assert not Appointment.objects.exists()
    client.logout()
    assert "booked" in twiml_message(inbound(client, "YES", sender=ANA))
    booked = Appointment.objects.get()
    assert booked.client == entry.client and booked.assigned_units.count() == 1
    assert not HeldUnit.objects.exists()


# --- Scoping -----------------------------------------------------------------------------------------


@pytest.mark.policy("security")
def test_another_locations_offers_openings_entries_and_rooms_stay_out_of_reach_with_tampered_ids(client, clinic):
    location, _, _ = clinic
    other = bookable_clinic()
    other_location, _, (other_person,) = other
    theirs = join(other, BEN, name="Ben")
    opening = services.record_freed_time(
        location_id=other_location.pk,
        practitioner_id=other_person.pk,
        start=FREED,
        end=FREED + timedelta(hours=1),
    )
    offer = services.offer_opening(opening_id=opening.pk)
    assert offer is not None
    room = ResourceUnit.objects.create(
        location=other_location, resource_type=ResourceType.objects.create(name="Laser"), name="Glendale laser"
    )
    client.force_login(front_desk_user(location))
    for name, pk in (
        ("waitlist_waitlistoffer_change", offer.pk),
        ("waitlist_opening_change", opening.pk),
        ("waitlist_waitlistentry_change", theirs.pk),
        ("appointments_resourceunit_change", room.pk),
    ):
        assert client.get(reverse(f"admin:{name}", args=[pk])).status_code in (302, 404), name
    hand_offer = reverse("admin:waitlist_waitlistentry_offer", args=[theirs.pk])
    assert client.post(hand_offer, {"time": f"{FREED.isoformat()}|{other_person.pk}"}).status_code == 404
    for name, query in (
        ("waitlist_waitlistoffer_changelist", ""),
        ("waitlist_opening_changelist", f"?location__id__exact={other_location.pk}"),
        ("waitlist_waitlistentry_changelist", f"?location__id__exact={other_location.pk}&q=Ben"),
        ("appointments_resourceunit_changelist", f"?location__id__exact={other_location.pk}"),
    ):
        page = client.get(reverse(f"admin:{name}") + query).content.decode()
        assert str(theirs.client) not in page and "Glendale laser" not in page, name
    assert WaitlistOffer.objects.get().status == OfferStatus.PENDING


# --- Offer texts that would arrive too late ------------------------------------------------------------


@pytest.mark.policy("sms-waitlist")
def test_an_offer_text_not_sent_before_its_offer_expires_is_skipped_never_sent_late(clinic, sms_outbox):
    from messaging.sending import deliver_sms

    join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    text = SmsMessage.objects.get(kind=MessageKind.WAITLIST_OFFER)
    # The worker was down or retrying: "Reply YES within 15 minutes" must not arrive 16 minutes later.
    assert deliver_sms(message_id=text.pk, now=NOW + timedelta(minutes=16)).outcome == "skipped"
    assert not any(m.get("to") == ANA for m in sms_outbox if isinstance(m, dict))


@pytest.mark.policy("sms-waitlist")
def test_an_offer_text_caught_by_quiet_hours_is_skipped_not_held_until_morning(clinic, sms_outbox):
    from messaging import quiet_hours
    from messaging.sending import deliver_sms

    location, _, _ = clinic
    join(clinic, ANA)
    tz = location.tzinfo
    closing = NOW.replace(hour=23, minute=59)
    while not quiet_hours.is_allowed(closing, tz) and closing > NOW:
        closing -= timedelta(minutes=1)
    with time_machine.travel(closing - timedelta(minutes=1), tick=False):
        offer = services.offer_opening(opening_id=freed(clinic).pk)
    assert offer is not None
    text = SmsMessage.objects.get(kind=MessageKind.WAITLIST_OFFER)
    # The worker picks it up a minute later, when texting hours have closed.
    assert deliver_sms(message_id=text.pk, now=closing + timedelta(minutes=1)).outcome == "skipped"


@pytest.mark.policy("sms-waitlist")
def test_a_yes_from_the_records_new_number_cannot_take_an_offer_texted_to_its_old_one(client, clinic):
    # The record's number was corrected to a family member's phone while the offer waited:
    # that phone never got the offer, so its YES books nothing.
    entry = join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    entry.client.mobile_phone = BEN
    entry.client.save(update_fields=["mobile_phone"])
    assert twiml_message(inbound(client, "YES", sender=BEN)) == ""
    assert not Appointment.objects.exists()
    assert WaitlistOffer.objects.get().status == OfferStatus.PENDING


@pytest.mark.policy("sms-waitlist")
def test_a_yes_for_an_entry_withdrawn_while_its_offer_waited_books_nothing_and_frees_the_time(client, clinic):
    entry = join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    entry.status = EntryStatus.WITHDRAWN  # the front desk took the person off the list (admin status)
    entry.save(update_fields=["status"])
    assert twiml_message(inbound(client, "YES", sender=ANA)) == ""
    assert not Appointment.objects.exists() and not SlotHold.objects.exists()
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WITHDRAWN
    assert SmsMessage.objects.get(direction="in").read_at is None  # the front desk reads it


# --- New hours: every free part of a span is offered, not only its first time --------------------------


TUESDAY_9 = FREED.replace(hour=9, minute=0)


def new_hours(clinic, start=TUESDAY_9, hours=3):
    """A span of new working hours announced (appointments' time_freed for WorkingHours)."""
    location, _, person = clinic
    return services.record_freed_time(
        location_id=location.pk, practitioner_id=person.pk, start=start, end=start + timedelta(hours=hours)
    )


def test_when_a_span_of_new_hours_is_taken_its_rest_is_offered_to_the_next_in_line(
    client, clinic, django_capture_on_commit_callbacks
):
    join(clinic, ANA)
    join(clinic, BEN, name="Ben")
    with django_capture_on_commit_callbacks(execute=True):
        span = new_hours(clinic)
    assert offers_to(ANA).get().opening.start == TUESDAY_9

    with django_capture_on_commit_callbacks(execute=True):
        inbound(client, "YES", sender=ANA)

    assert Appointment.objects.get().start == TUESDAY_9
    offer = offers_to(BEN).get()
    assert (offer.opening.start, offer.opening.end) == (TUESDAY_9 + timedelta(hours=1), span.end)
    assert "to take Tue 10:00 AM" in SmsMessage.objects.filter(to_number=BEN).get().body


def test_a_span_whose_first_time_is_taken_is_offered_from_its_first_free_time(
    clinic, django_capture_on_commit_callbacks
):
    location, service, person = clinic
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        AppointmentFactory(location=location, service=service, practitioner=person, start=TUESDAY_9)
    join(clinic, ANA)
    join(clinic, BEN, name="Ben")

    with django_capture_on_commit_callbacks(execute=True):
        span = new_hours(clinic)

    ana = offers_to(ANA).get()
    assert (ana.opening.start, ana.opening.end) == (TUESDAY_9 + timedelta(hours=1), span.end)
    assert "to take Tue 10:00 AM" in SmsMessage.objects.filter(to_number=ANA).get().body
    # The time before it stays open for others (nothing free there now: nobody else is offered it).
    span.refresh_from_db()
    assert (span.start, span.end, span.status) == (TUESDAY_9, TUESDAY_9 + timedelta(hours=1), OpeningStatus.OPEN)
    assert not offers_to(BEN).exists()


def test_new_hours_already_started_today_offer_their_rest(clinic, django_capture_on_commit_callbacks):
    from appointments.models import WorkingHours
    from appointments.services import announce_new_working_hours

    location, service, _ = clinic
    newcomer = PractitionerFactory(name="New Hire", locations=[location], services=[service])
    hours = WorkingHours.objects.create(
        practitioner=newcomer, location=location, weekday=NOW.weekday(), start_time=time(8), end_time=time(18)
    )
    with django_capture_on_commit_callbacks(execute=True):
        announce_new_working_hours(hours=hours, now=NOW)
    today = Opening.objects.filter(start__date=NOW.date()).get()
    assert (today.start, today.end) == (NOW, NOW.replace(hour=18))


# --- Visits: each service of a cancelled or moved visit frees its own time ------------------------------


def test_a_cancelled_visit_frees_each_of_its_services_times_for_the_waitlist(db, django_capture_on_commit_callbacks):
    from appointments.services import cancel_visit_by_client, change_visit_status
    from tests.support.visits import at, book, visit_clinic

    visits = visit_clinic()
    online = book(visits, [visits.consultation, visits.facial], at(9))
    at_the_desk = book(visits, [visits.neurotoxin, visits.facial], at(13), i=1)

    with django_capture_on_commit_callbacks(execute=True):
        cancel_visit_by_client(appointment_id=online[1].pk)
        change_visit_status(appointment_id=at_the_desk[0].pk, status=AppointmentStatus.CANCELLED)

    freed = sorted(Opening.objects.values_list("practitioner_id", "start", "end"))
    assert freed == sorted((part.practitioner_id, part.start, part.end) for part in [*online, *at_the_desk])


# --- Services that take a deposit or a card on file ---------------------------------------------------


def asks_for_a_deposit(clinic):
    from payments.models import PaymentRequirement

    location, service, _ = clinic
    PaymentRequirement.objects.create(location=location, service=service, kind="deposit_fixed", deposit_amount=5000)


@pytest.mark.policy("sms-waitlist")
def test_a_service_that_takes_a_deposit_is_never_booked_unpaid_through_the_waitlist(client, clinic):
    """The rule the booking page keeps (a deposit or a card before the time is booked) holds for a YES too:
    an offer texted before the clinic asked for a deposit books nothing, frees the time and says how to book."""
    location, service, _ = clinic
    join(clinic, ANA)
    services.offer_opening(opening_id=freed(clinic).pk)
    asks_for_a_deposit(clinic)
    reply = twiml_message(inbound(client, "YES", sender=ANA))
    assert not Appointment.objects.exists()
    assert "deposit or a card" in reply
    assert reverse("appointments:choose_time", args=[location.slug, service.slug]) in reply
    assert offers_to(ANA).get().status == OfferStatus.EXPIRED
    assert not SlotHold.objects.exists()  # the time is free for the booking page (where the deposit is taken)


@pytest.mark.policy("sms-waitlist")
def test_the_waitlist_neither_takes_nor_offers_a_service_that_takes_a_deposit(client, clinic):
    """Joining says to book online; an entry made before the deposit rule gets no offer, automatic or by hand.

    (The times page's cached body keeps its waitlist link: the join page is what answers.)
    """
    location, service, person = clinic
    entry = join(clinic, ANA)
    asks_for_a_deposit(clinic)
    with pytest.raises(services.WaitlistRefused, match="deposit or a card"):
        join(clinic, BEN, name="Ben")
    assert services.offer_opening(opening_id=freed(clinic).pk) is None
    with pytest.raises(services.WaitlistRefused, match="deposit or a card"):
        services.offer_by_hand(
            entry_id=entry.pk,
            practitioner_id=person.pk,
            start=FREED.replace(hour=11),
            staff_user=StaffFactory(locations=[location]),
        )
    assert not WaitlistOffer.objects.exists() and not SlotHold.objects.exists()
    assert not SmsMessage.objects.filter(kind=MessageKind.WAITLIST_OFFER).exists()
