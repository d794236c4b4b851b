"""One selector answers "may we contact this person, for this purpose, now"; the STOP list wins over any consent."""

import itertools
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic.hashing import contact_hash
from clinic.models import Client
from messaging import permissions
from messaging.confirmations import queue_booking_confirmation
from messaging.inbound import ReplyRefused, send_staff_reply
from messaging.marketing import campaign_audience, start_campaign
from messaging.models import (
    Campaign,
    CampaignStatus,
    Channel,
    Direction,
    MessageKind,
    MessageStatus,
    SmsMessage,
    SmsOptOut,
)
from messaging.opt_outs import add_sms_opt_out
from messaging.outbox import queue_message
from messaging.permissions import Purpose, may_contact, may_contact_many
from messaging.reminders import dispatch_due_reminders
from messaging.sending import deliver_sms
from privacy import registry
from privacy.links import preferences_token
from privacy.models import ConsentPurpose, ConsentSource
from privacy.selectors import current_consents
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, StaffFactory, bookable_clinic, prove_contacts
from tests.support.sms import CLINIC_NUMBER
from tests.support.sms import inbound as text_in

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
PHONE = "+14085550143"


def consent(client, purpose, granted=True, source=ConsentSource.BOOKING_FORM):
    record_consent(client=client, purpose=purpose, granted=granted, notice_text="x", source=source)


# --- The fast SQL path agrees with the plain ORM version -----------------------

HISTORIES = {
    "none": [],
    "granted": [True],
    "withdrawn": [False],
    "granted_then_withdrawn": [True, False],
    "withdrawn_then_granted": [False, True],
    "granted_twice_then_withdrawn": [True, True, False],
}


def test_send_time_sql_and_orm_selector_give_the_same_answer_on_varied_data():
    """For every mix of consent history, opt-out, restriction, erasure, phone flag, country and shared
    numbers, may_contact (one raw SQL statement) == may_contact_many (ORM) == a plain reference."""
    clients = []
    shared = "+14085550999"
    add_sms_opt_out(phone="+14085550888", reason="STOP", source="sms_keyword", withdraw_consents=False)
    phones = [None, shared, "+14085550888", "+33612345678"]  # own number, shared, opted out, abroad
    combos = itertools.product(
        HISTORIES.items(), HISTORIES.items(), [False, True], [False, True], [False, True], phones
    )
    for n, ((_, reminders), (_, marketing), restricted, erased, problem, phone) in enumerate(combos):
        if n % 5:  # a fifth of the 1,152 mixes, spread evenly, keeps the test quick
            continue
        person = ClientFactory(
            mobile_phone=phone or f"+1408556{n:04d}",
            processing_restricted=restricted,
            mobile_phone_problem="Not a mobile" if problem else "",
        )
        if (n // 5) % 3:  # two in three proved the number (a code or JOIN); the rest only typed it
            prove_contacts(person, email=False)
        if erased:
            Client.objects.filter(pk=person.pk).update(erased_at=NOW)
            person.refresh_from_db()
        for granted in reminders:
            consent(person, ConsentPurpose.SMS_REMINDERS, granted)
        for granted in marketing:
            consent(person, ConsentPurpose.SMS_MARKETING, granted)
        clients.append(person)
    # Same-instant records: the later id wins in both versions.
    twin = ClientFactory(mobile_phone="+14085550777")
    with time_machine.travel(NOW, tick=False):
        consent(twin, ConsentPurpose.SMS_REMINDERS, True)
        consent(twin, ConsentPurpose.SMS_REMINDERS, False)
    clients.append(twin)
    opted = set(SmsOptOut.objects.values_list("phone_hash", flat=True))

    for purpose, ledger in (
        (Purpose.TRANSACTIONAL, ConsentPurpose.SMS_REMINDERS),
        (Purpose.SMS_MARKETING, ConsentPurpose.SMS_MARKETING),
        (Purpose.MARKETING_CONFIRMATION, ConsentPurpose.SMS_MARKETING),
    ):
        batch = may_contact_many(clients=clients, purpose=purpose, check_cap=False)
        latest = current_consents(client_ids=[c.pk for c in clients], purpose=ledger)
        for person in clients:
            single = may_contact(client=person, purpose=purpose, check_cap=False)
            expected = (
                person.erased_at is None
                and not person.processing_restricted
                and not person.mobile_phone_problem
                and permissions.country_allowed(person.mobile_phone)
                and contact_hash(person.mobile_phone) not in opted
                and latest[person.pk]
                # Double opt-in: marketing itself needs the number proven; asking to confirm does not.
                and (purpose != Purpose.SMS_MARKETING or person.phone_verified_at is not None)
            )
            assert single == batch[person.pk], (person.pk, purpose)
            assert single.allowed == bool(expected), (person.pk, purpose, single)
            granted, opted_out = permissions.latest_consent_and_opt_out(
                client_id=person.pk, purpose=ledger, phone_hash=contact_hash(person.mobile_phone)
            )
            assert (bool(granted), opted_out) == (latest[person.pk], contact_hash(person.mobile_phone) in opted)


# --- The STOP list wins, on every path, even over another record's consent --------


@pytest.fixture
def shared_number(client):
    """Dana texted STOP. Later someone books with the same number on a new record and ticks everything."""
    location, service, (practitioner,) = bookable_clinic(hours=((time(8), time(20)),))
    location.sms_from_number = CLINIC_NUMBER
    location.save()
    dana = ClientFactory(mobile_phone=PHONE)
    consent(dana, ConsentPurpose.SMS_REMINDERS)
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        text_in(client, "STOP", "SM" + "1" * 32)
    newcomer = ClientFactory(mobile_phone=PHONE, email="newcomer@example.com")
    for purpose in (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_MARKETING, ConsentPurpose.EMAIL_MARKETING):
        consent(newcomer, purpose)
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        appointment = AppointmentFactory(
            location=location,
            service=service,
            practitioner=practitioner,
            client=newcomer,
            start=NOW + timedelta(days=1),
        )
    return dana, newcomer, appointment


def texts_to(outbox, phone=PHONE):
    return [m for m in outbox if m.to == phone]


@pytest.mark.policy("sms-stop")
def test_stop_wins_over_another_records_consent_for_reminders(
    shared_number, sms_outbox, django_capture_on_commit_callbacks
):
    for hours in (0, 22):
        now = NOW + timedelta(hours=hours)
        with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
            dispatch_due_reminders(now=now)
    assert texts_to(sms_outbox) == []
    assert not SmsMessage.objects.filter(kind=MessageKind.REMINDER).exists()  # not even queued


@pytest.mark.policy("sms-stop")
def test_stop_wins_over_another_records_consent_for_booking_confirmations(
    shared_number, sms_outbox, django_capture_on_commit_callbacks
):
    _, _, appointment = shared_number
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert queue_booking_confirmation(appointment_id=appointment.pk) is None
    assert texts_to(sms_outbox) == []


@pytest.mark.policy("sms-stop")
def test_stop_wins_over_another_records_consent_for_campaigns(
    shared_number, sms_outbox, django_capture_on_commit_callbacks
):
    _, newcomer, _ = shared_number
    assert newcomer not in campaign_audience(channel=Channel.SMS).clients
    campaign = Campaign.objects.create(
        name="Offer", channel=Channel.SMS, body="20% off", send_at=NOW, status=CampaignStatus.SCHEDULED
    )
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        start_campaign(campaign_id=campaign.pk, now=NOW)
    assert texts_to(sms_outbox) == []
    # A campaign row queued for the newcomer anyway (say, before the STOP) is stopped at send time.
    row = queue_message(
        to_number=PHONE, body="Offer", location=None, client=newcomer, kind=MessageKind.MARKETING, now=NOW
    )
    with time_machine.travel(NOW, tick=False):
        assert deliver_sms(message_id=row.pk).outcome == "skipped"
    assert texts_to(sms_outbox) == []


@pytest.mark.policy("sms-stop")
def test_stop_wins_for_staff_replies_from_the_inbox(
    client, shared_number, sms_outbox, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        text_in(client, "Hi, is parking free?", "SM" + "2" * 32)
    inbound = SmsMessage.objects.get(direction=Direction.INBOUND, twilio_sid="SM" + "2" * 32)
    with pytest.raises(ReplyRefused), time_machine.travel(NOW, tick=False):
        send_staff_reply(inbound_id=inbound.pk, body="Yes it is", staff_user=StaffFactory())
    # A reply queued before a STOP is stopped at send time.
    reply = queue_message(to_number=PHONE, body="Yes", location=None, client=None, kind=MessageKind.OTHER, now=NOW)
    with time_machine.travel(NOW, tick=False):
        assert deliver_sms(message_id=reply.pk).outcome == "skipped"
    assert texts_to(sms_outbox) == []


@pytest.mark.policy("sms-stop")
def test_stop_wins_for_keyword_replies_except_the_single_stop_confirmation(client, shared_number):
    with time_machine.travel(NOW, tick=False):
        replies = [
            text_in(client, body, f"SM{n:032d}").content.decode()
            for n, body in enumerate(["HELP", "C", "INFO", "STOP"], 3)
        ]
    assert all("<Message>" not in reply for reply in replies)  # the STOP confirmation went out once, days ago
    assert not SmsMessage.objects.filter(
        kind=MessageKind.KEYWORD_REPLY, created_at__gte=NOW - timedelta(hours=1)
    ).exists()


@pytest.mark.policy("sms-stop")
def test_booking_with_a_stopped_number_and_turning_texts_on_by_link_never_texts_it(
    client, shared_number, sms_outbox, django_capture_on_commit_callbacks
):
    """STOP; someone books with that number and ticks reminders; the preference link turns texts on:
    still never texted."""
    _, newcomer, appointment = shared_number
    page = f"/messaging/preferences/{preferences_token(newcomer)}/"
    html = client.post(page, {"sms_reminders": "on", "sms_marketing": "on"}).content.decode()
    assert "text START to" in html
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        queue_booking_confirmation(appointment_id=appointment.pk)
    for hours in (0, 22):
        now = NOW + timedelta(hours=hours)
        with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
            dispatch_due_reminders(now=now)
    assert texts_to(sms_outbox) == []
    # The phone's own START is what lifts it.
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert "resubscribed" in text_in(client, "START", "SM" + "9" * 32).content.decode()
    assert not SmsOptOut.objects.exists()


# --- A code the person asked for is a reply, not marketing ---------------------------


@pytest.mark.policy("sms-stop")
def test_a_person_who_texted_stop_still_gets_the_privacy_code_they_asked_for(
    shared_number, sms_outbox, django_capture_on_commit_callbacks
):
    dana, _, _ = shared_number
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        message = registry.send_verification_sms(phone=PHONE, body="Your code is 123456.", client=dana)
    assert message is not None
    assert [m.body for m in texts_to(sms_outbox)] == ["Your code is 123456."]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_a_verification_code_goes_only_to_the_phone_on_file_and_is_rate_limited(
    sms_outbox, django_capture_on_commit_callbacks
):
    person = ClientFactory(mobile_phone=PHONE)
    assert registry.send_verification_sms(phone="+14085550100", body="code", client=person) is None
    assert registry.send_verification_sms(phone=PHONE, body="code", client=None) is None
    with django_capture_on_commit_callbacks(execute=True):
        sent = [registry.send_verification_sms(phone=PHONE, body=f"code {n}", client=person) for n in range(7)]
    assert [m is not None for m in sent] == [True] * 5 + [False] * 2
    assert len(sms_outbox) == 5


@pytest.mark.policy("sms-stop")
def test_through_the_pages_a_booking_and_the_preference_link_never_text_a_stopped_number(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    """Dana texts STOP. A stranger books online with Dana's number, ticks reminders, and turns texts on by link."""
    from django.urls import reverse

    from appointments.models import Appointment

    sunday = datetime(2026, 12, 6, 18, 0, tzinfo=LA)
    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    ClientFactory(mobile_phone=PHONE, email="dana@example.com")
    with time_machine.travel(sunday, tick=False), django_capture_on_commit_callbacks(execute=True):
        text_in(client, "STOP", "SM" + "1" * 32)
        client.post(
            reverse("appointments:details", args=[location.slug, service.slug]),
            {
                "start": datetime(2026, 12, 7, 10, 0, tzinfo=LA).isoformat(),
                "practitioner": "any",
                "first_name": "Stranger",
                "last_name": "Danger",
                "email": "stranger@example.com",
                "mobile_phone": "(408) 555-0143",
                "is_adult": "on",
                "accept_privacy_policy": "on",
                "sms_reminders": "on",
                "sms_marketing": "on",
            },
        )
        appointment = Appointment.objects.get()
        client.post(
            f"/messaging/preferences/{preferences_token(appointment.client)}/",
            {"sms_reminders": "on", "sms_marketing": "on"},
        )
    for now in (sunday + timedelta(hours=1), datetime(2026, 12, 7, 8, 0, tzinfo=LA)):
        with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
            dispatch_due_reminders(now=now)
    assert appointment.client.mobile_phone == PHONE
    assert texts_to(sms_outbox) == []  # (the STOP confirmation was the TwiML answer; nothing since)
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()
