"""Double opt-in: marketing reaches a number or address only once its owner confirmed.

A booking form proves nothing about who typed the number or the email, so a
marketing box ticked there is "asked for": the number gets one "Reply JOIN"
text, the address one email with a "Yes, send me offers" button. JOIN from
that number, or the button, confirms; nothing else does.
"""

import html
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from appointments.models import Appointment
from clinic.models import Client
from clinic.roles import CLINIC_MANAGER
from messaging import texts
from messaging.marketing import campaign_audience, start_campaign
from messaging.models import Campaign, CampaignEmail, CampaignStatus, Channel, MessageKind, SmsMessage, SmsOptOut
from messaging.opt_outs import add_sms_opt_out
from messaging.permissions import EMAIL_UNCONFIRMED, PHONE_UNCONFIRMED, Purpose, may_contact
from privacy.links import preferences_url
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from tests.support.booking import post_booking
from tests.support.builders import StaffFactory, bookable_clinic
from tests.support.sms import CLINIC_NUMBER, inbound, twiml_message

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 6, 11, 0, tzinfo=LA)  # a Sunday, inside texting hours
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
STRANGER = "+14085550177"  # the number a booker typed: not theirs
OTHER = "+14085550188"


@pytest.fixture
def clinic():
    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    location.sms_from_number = CLINIC_NUMBER
    location.save()
    return location, service


def book(client, clinic, *, start=MONDAY_10, phone=STRANGER, email="victim@example.com", **ticks):
    location, service = clinic
    ticked = {name: "on" for name, on in ticks.items() if on}
    response = post_booking(
        client,
        location,
        service,
        start,
        first_name="Mallory",
        last_name="Booker",
        email=email,
        mobile_phone=phone,
        **ticked,
    )
    assert response.status_code == 302, response.content[:300]
    return Appointment.objects.order_by("-pk").first().client


def text_in(client, body, sid, sender=STRANGER):
    response = inbound(client, body, sid=sid, sender=sender)
    assert response.status_code == 200
    return html.unescape(twiml_message(response))


def run_campaign(channel, run, name="Offer"):
    campaign = Campaign.objects.create(
        name=name, channel=channel, subject="Hi", body="20% off", send_at=NOW, status=CampaignStatus.SCHEDULED
    )
    with run():
        start_campaign(campaign_id=campaign.pk)
    return campaign


def to(outbox, phone=STRANGER):
    return [m.body for m in outbox if m.to == phone]


# --- SMS: JOIN from the number ---------------------------------------------------


@pytest.mark.policy("sms-program", "use-marketing-consent")
def test_a_strangers_number_ticked_for_marketing_gets_no_campaign_text_until_join_from_that_number(
    client, clinic, sms_outbox, django_capture_on_commit_callbacks
):
    """Rule: SMS marketing needs the number's owner: one "Reply JOIN" text, and campaigns only after JOIN."""
    run = lambda: django_capture_on_commit_callbacks(execute=True)  # noqa: E731
    with time_machine.travel(NOW, tick=False), run():
        booked = book(client, clinic, sms_marketing=True)
    # No reminders asked for: the JOIN request goes alone, once, in texting hours.
    assert to(sms_outbox) == [texts.join_invitation()]
    assert "JOIN" in texts.join_invitation() and "STOP" in texts.join_invitation()
    assert SmsMessage.objects.get(to_number=STRANGER).kind == MessageKind.MARKETING_CONFIRMATION
    assert may_contact(client=booked, purpose=Purpose.SMS_MARKETING).reason == PHONE_UNCONFIRMED

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        run_campaign(Channel.SMS, run)
    assert len(to(sms_outbox)) == 1, "a campaign texted a number whose owner never confirmed"

    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        reply = text_in(client, "join", "SM" + "a" * 32)
    assert reply == texts.join_confirmation()
    booked.refresh_from_db()
    assert booked.phone_verified_at is not None
    record = ConsentRecord.objects.filter(client=booked, purpose=ConsentPurpose.SMS_MARKETING).latest("pk")
    assert (record.granted, record.source, record.evidence) == (True, ConsentSource.SMS_KEYWORD, "SM" + "a" * 32)
    assert record.notice_text == texts.join_invitation()

    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        run_campaign(Channel.SMS, run, name="Second")
    assert to(sms_outbox)[-1].startswith("20% off")


@pytest.mark.policy("sms-program")
def test_the_join_request_rides_on_the_confirmation_text_when_reminders_were_asked(
    client, clinic, sms_outbox, django_capture_on_commit_callbacks
):
    """Rule: one text, not two: the booking confirmation carries the JOIN request."""
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        book(client, clinic, sms_reminders=True, sms_marketing=True)
    (body,) = to(sms_outbox)
    assert "is booked for" in body and body.endswith(texts.join_invitation())


@pytest.mark.policy("sms-program")
def test_join_requests_share_the_one_unsolicited_text_a_day_cap(
    client, clinic, sms_outbox, django_capture_on_commit_callbacks
):
    """Rule: a bot ticking marketing on many bookings with one number does not pump JOIN texts."""
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        book(client, clinic, sms_marketing=True)
        book(client, clinic, start=MONDAY_10 + timedelta(hours=2), sms_marketing=True)
        book(client, clinic, start=MONDAY_10 + timedelta(hours=3), sms_reminders=True, sms_marketing=True)
    assert to(sms_outbox) == [texts.join_invitation()]


@pytest.mark.policy("sms-program")
def test_join_from_another_number_confirms_nothing(client, clinic, sms_outbox, django_capture_on_commit_callbacks):
    """Rule: only a text from the number on the record confirms that record's opt-in."""
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        booked = book(client, clinic, sms_marketing=True)
        reply = text_in(client, "JOIN", "SM" + "b" * 32, sender=OTHER)
    booked.refresh_from_db()
    assert booked.phone_verified_at is None
    assert not ConsentRecord.objects.filter(source=ConsentSource.SMS_KEYWORD).exists()
    assert reply == texts.join_nothing_pending(clinic[0])
    assert not campaign_audience(channel=Channel.SMS)


@pytest.mark.policy("sms-program")
def test_a_replayed_join_does_nothing_twice(client, clinic, sms_outbox, django_capture_on_commit_callbacks):
    """Rule: Twilio retrying the same MessageSid records one consent and sends one reply."""
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        booked = book(client, clinic, sms_marketing=True)
        first = text_in(client, "ＪＯＩＮ", "SM" + "c" * 32)  # full-width: NFKC reads JOIN
        again = text_in(client, "ＪＯＩＮ", "SM" + "c" * 32)
    assert first == texts.join_confirmation() and again == ""
    assert ConsentRecord.objects.filter(client=booked, source=ConsentSource.SMS_KEYWORD).count() == 1
    assert SmsMessage.objects.filter(kind=MessageKind.KEYWORD_REPLY, to_number=STRANGER).count() == 1


@pytest.mark.policy("sms-program", "sms-stop")
def test_join_from_a_stopped_number_does_not_lift_the_stop_only_start_does(
    client, clinic, sms_outbox, django_capture_on_commit_callbacks
):
    """Rule: JOIN from a STOP'd number is stored and does nothing (no proof, no consent, no reply);
    after START, JOIN confirms."""
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        add_sms_opt_out(phone=STRANGER, reason="STOP", source="sms_keyword")
        booked = book(client, clinic, sms_marketing=True)
        assert to(sms_outbox) == []  # the STOP list wins over the JOIN request too
        assert text_in(client, "JOIN", "SM" + "d" * 32) == ""
        booked.refresh_from_db()
        assert booked.phone_verified_at is None and SmsOptOut.objects.exists()
        assert not ConsentRecord.objects.filter(source=ConsentSource.SMS_KEYWORD).exists()
        # START lifts the STOP (and restores appointment texts); the marketing opt-in ticked after the STOP
        # is still the record's latest choice, so JOIN now confirms it.
        text_in(client, "START", "SM" + "e" * 32)
        assert text_in(client, "JOIN", "SM" + "f" * 32) == texts.join_confirmation()
    booked.refresh_from_db()
    assert booked.phone_verified_at is not None
    assert may_contact(client=booked, purpose=Purpose.SMS_MARKETING)


def test_join_is_a_keyword_and_yes_is_not():
    """Rule: JOIN (any case, full width, punctuation) is the keyword; YES stays free for carriers and a waitlist."""
    from messaging.keywords import registered_handler

    assert {registered_handler(b).name for b in ("JOIN", "join", " Join! ", "ＪＯＩＮ")} == {"join"}
    assert registered_handler("YES").name != "join"


# --- Email: the button on the page the emailed link opens -------------------------


def confirmation_path(message):
    return re.search(r"http://testserver(/messaging/confirm-offers/\S+)", message.body).group(1)


@pytest.mark.policy("use-marketing-consent")
def test_an_address_ticked_for_marketing_gets_no_campaign_until_its_owner_presses_yes(
    client, clinic, django_capture_on_commit_callbacks
):
    """Rule: email marketing needs the address proven: one email with a link to a POST button; single use."""
    run = lambda: django_capture_on_commit_callbacks(execute=True)  # noqa: E731
    with time_machine.travel(NOW, tick=False), run():
        booked = book(client, clinic, email_marketing=True)
    (confirm,) = [m for m in mail.outbox if m.subject.startswith("Confirm: offers")]
    assert confirm.to == ["victim@example.com"]
    assert may_contact(client=booked, purpose=Purpose.EMAIL_MARKETING).reason == EMAIL_UNCONFIRMED
    run_campaign(Channel.EMAIL, run)
    assert not CampaignEmail.objects.exists()

    path = confirmation_path(confirm)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        page = client.get(path)  # a mail scanner following the link changes nothing
        assert page.status_code == 200 and b"Yes, send me offers" in page.content
        booked.refresh_from_db()
        assert booked.email_verified_at is None

        assert client.post(path, REMOTE_ADDR="203.0.113.9").status_code == 200
        booked.refresh_from_db()
        assert booked.email_verified_at is not None
        record = ConsentRecord.objects.filter(client=booked, purpose=ConsentPurpose.EMAIL_MARKETING).latest("pk")
        assert (record.granted, record.source, record.ip_address) == (
            True,
            ConsentSource.EMAIL_CONFIRMATION,
            "203.0.113.9",
        )
        assert "emailed" in record.evidence
        assert client.post(path).status_code == 404, "the link works once"
        assert client.get(path).status_code == 404
        assert ConsentRecord.objects.filter(source=ConsentSource.EMAIL_CONFIRMATION).count() == 1
        run_campaign(Channel.EMAIL, run, name="Second")
    assert CampaignEmail.objects.filter(client=booked).count() == 1


@pytest.mark.parametrize(
    "mangle", [lambda p: p[:-3] + "xyz/", lambda p: p.replace("confirm-offers/", "confirm-offers/A")]
)
def test_a_tampered_confirmation_link_is_404_and_never_500(client, clinic, mangle, django_capture_on_commit_callbacks):
    """Rule: a link not as signed confirms nothing and answers 404."""
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        booked = book(client, clinic, email_marketing=True)
    path = mangle(confirmation_path(mail.outbox[-1]))
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404
    for junk in ("%00", "x" * 3000, "Ｘ.Ｙ.Ｚ"):
        assert client.post(f"/messaging/confirm-offers/{junk}/").status_code == 404
    booked.refresh_from_db()
    assert booked.email_verified_at is None


def test_a_withdrawal_before_confirming_spends_the_link(client, clinic, django_capture_on_commit_callbacks):
    """Rule: the link confirms the opt-in it was sent for; after a withdrawal it confirms nothing."""
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        booked = book(client, clinic, email_marketing=True)
    path = confirmation_path(mail.outbox[-1])
    from privacy.services import record_consent

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        record_consent(
            client=booked, purpose=ConsentPurpose.EMAIL_MARKETING, granted=False, notice_text="off", source="admin"
        )
        assert client.post(path).status_code == 404
    booked.refresh_from_db()
    assert booked.email_verified_at is None


@pytest.mark.policy("use-marketing-consent")
def test_turning_email_marketing_on_by_the_mailed_preference_link_proves_the_address(
    client, clinic, django_capture_on_commit_callbacks
):
    """Rule: the preference link is mailed only to the address, so choosing email offers there is the owner's."""
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        booked = book(client, clinic, email_marketing=True)
    url = preferences_url(booked).removeprefix("http://testserver")
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        client.post(url, {ConsentPurpose.EMAIL_MARKETING.value: "on"})
    booked.refresh_from_db()
    assert booked.email_verified_at is not None
    record = ConsentRecord.objects.filter(client=booked, purpose=ConsentPurpose.EMAIL_MARKETING).latest("pk")
    assert (record.granted, record.source) == (True, ConsentSource.PREFERENCE_CENTER)
    assert may_contact(client=booked, purpose=Purpose.EMAIL_MARKETING)


@pytest.mark.policy("use-marketing-consent")
def test_the_campaign_page_counts_only_confirmed_opt_ins(client, clinic, django_capture_on_commit_callbacks):
    """Rule: the audience count staff see before sending leaves out opt-ins not yet confirmed."""
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        book(client, clinic, sms_marketing=True)
        book(client, clinic, start=MONDAY_10 + timedelta(hours=2), phone=OTHER, sms_marketing=True)
        text_in(client, "JOIN", "SM" + "g" * 32, sender=OTHER)
    manager = StaffFactory()
    manager.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    client.force_login(manager)
    campaign = Campaign.objects.create(name="Draft", channel=Channel.SMS, body="Hi", send_at=NOW + timedelta(days=1))
    html = client.get(reverse("admin:messaging_campaign_change", args=[campaign.pk])).content.decode()
    assert "1 client(s) with current SMS marketing consent" in html
    assert "1 more opted in but not yet confirmed by the owner" in html
    assert [str(c.mobile_phone) for c in campaign_audience(channel=Channel.SMS)] == [OTHER]
    assert Client.objects.count() == 2


@pytest.mark.policy("sms-program")
def test_turning_sms_marketing_on_by_the_preference_link_asks_the_number_to_join(
    client, clinic, sms_outbox, django_capture_on_commit_callbacks
):
    """Rule: the preference link proves the email, not the phone: SMS offers still wait for JOIN from the number."""
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        booked = book(client, clinic, sms_reminders=True)
    sms_outbox.clear()
    url = preferences_url(booked).removeprefix("http://testserver")
    choices = {ConsentPurpose.SMS_REMINDERS.value: "on", ConsentPurpose.SMS_MARKETING.value: "on"}
    # Two days later: the booking's confirmation used the day's one unsolicited text.
    with time_machine.travel(NOW + timedelta(days=2), tick=False), django_capture_on_commit_callbacks(execute=True):
        page = client.post(url, choices)
    assert b"reply JOIN" in page.content and b"text JOIN to" in page.content
    assert to(sms_outbox) == [texts.join_invitation()]
    assert may_contact(client=booked, purpose=Purpose.SMS_MARKETING).reason == PHONE_UNCONFIRMED
