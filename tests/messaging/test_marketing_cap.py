"""The opt-in wording promises up to 4 marketing messages a month per channel.

Campaigns keep that promise and say how many they left out.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from clinic.roles import CLINIC_MANAGER
from messaging.marketing import campaign_audience, start_campaign
from messaging.models import Campaign, CampaignEmail, CampaignStatus, Channel, MessageKind, SmsMessage
from privacy.models import ConsentPurpose, ConsentSource
from privacy.notices import booking_notices
from privacy.services import record_consent
from tests.support.builders import ClientFactory, StaffFactory, prove_contacts

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOON = datetime(2026, 12, 7, 12, tzinfo=LA)


def marketable(phone=None, email=None):
    person = ClientFactory(**({"mobile_phone": phone} if phone else {}), **({"email": email} if email else {}))
    prove_contacts(person)  # marketing needs the owner's confirmation (test_double_opt_in.py)
    for purpose in (ConsentPurpose.SMS_MARKETING, ConsentPurpose.EMAIL_MARKETING):
        record_consent(
            client=person, purpose=purpose, granted=True, notice_text="Offers", source=ConsentSource.BOOKING_FORM
        )
    return person


def campaign(channel, name="Offer"):
    return Campaign.objects.create(
        name=name, channel=channel, subject="Hi", body="20% off", send_at=NOON, status=CampaignStatus.SCHEDULED
    )


def past_texts(person, count, days_ago):
    with time_machine.travel(NOON - timedelta(days=days_ago), tick=False):
        for _ in range(count):
            SmsMessage.objects.create(
                to_number=str(person.mobile_phone), body="old offer", kind=MessageKind.MARKETING, status="delivered"
            )


def test_the_opt_in_wording_promises_four_a_month_per_channel(settings):
    assert settings.MARKETING_MAX_PER_30_DAYS == 4
    notices = booking_notices()
    assert "up to 4 messages a month" in notices[ConsentPurpose.SMS_MARKETING]
    assert "up to 4 emails a month" in notices[ConsentPurpose.EMAIL_MARKETING]


@pytest.mark.policy("sms-program")
def test_an_sms_campaign_skips_people_at_the_cap_and_says_how_many(django_capture_on_commit_callbacks):
    at_cap, under, old = marketable(), marketable(), marketable()
    past_texts(at_cap, 4, days_ago=10)
    past_texts(under, 3, days_ago=10)
    past_texts(old, 4, days_ago=31)  # outside the rolling 30 days
    sms = campaign(Channel.SMS)
    with time_machine.travel(NOON, tick=False), django_capture_on_commit_callbacks():
        start_campaign(campaign_id=sms.pk, now=NOON)
    sms.refresh_from_db()
    assert (sms.audience_size, sms.skipped_over_cap) == (2, 1)
    assert set(SmsMessage.objects.filter(campaign=sms).values_list("client_id", flat=True)) == {under.pk, old.pk}


def test_back_to_back_campaigns_stop_at_the_cap(django_capture_on_commit_callbacks):
    person = marketable()
    sizes = []
    for n in range(6):
        sms = campaign(Channel.SMS, name=f"Offer {n}")
        with time_machine.travel(NOON + timedelta(days=n), tick=False), django_capture_on_commit_callbacks():
            start_campaign(campaign_id=sms.pk, now=NOON + timedelta(days=n))
        sms.refresh_from_db()
        sizes.append((sms.audience_size, sms.skipped_over_cap))
    assert sizes == [(1, 0)] * 4 + [(0, 1)] * 2
    assert SmsMessage.objects.filter(client=person, kind=MessageKind.MARKETING).count() == 4


def test_records_sharing_a_number_share_its_cap():
    first, second = marketable(phone="+14085550150"), marketable(phone="+14085550150")
    past_texts(first, 4, days_ago=1)
    audience = campaign_audience(channel=Channel.SMS)
    assert second not in audience.clients and audience.over_cap == 2


def test_an_email_campaign_keeps_the_cap_too(settings, django_capture_on_commit_callbacks):
    settings.MARKETING_MAX_PER_30_DAYS = 2
    capped, free = marketable(), marketable()
    earlier = campaign(Channel.EMAIL, name="Earlier")
    with time_machine.travel(NOON - timedelta(days=5), tick=False):
        for _ in range(2):
            CampaignEmail.objects.create(
                campaign=campaign(Channel.EMAIL), client=capped, to_email=capped.email, status="sent"
            )
    email = campaign(Channel.EMAIL)
    with time_machine.travel(NOON, tick=False), django_capture_on_commit_callbacks():
        start_campaign(campaign_id=email.pk, now=NOON)
    email.refresh_from_db()
    assert (email.audience_size, email.skipped_over_cap) == (1, 1)
    assert list(CampaignEmail.objects.filter(campaign=email).values_list("client_id", flat=True)) == [free.pk]
    assert earlier.emails.count() == 0


def test_the_campaign_page_says_how_many_the_cap_leaves_out(client):
    past_texts(marketable(), 4, days_ago=2)
    marketable()
    manager = StaffFactory()
    manager.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    client.force_login(manager)
    draft = Campaign.objects.create(name="Draft", channel=Channel.SMS, body="Hi", send_at=NOON + timedelta(days=1))
    html = client.get(reverse("admin:messaging_campaign_change", args=[draft.pk])).content.decode()
    assert "1 client(s) with current SMS marketing consent" in html
    assert "1 more left out by the frequency cap" in html


@pytest.mark.policy("sms-program")
@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL])
def test_one_campaign_sends_once_to_a_number_or_address_held_by_several_records(
    channel, django_capture_on_commit_callbacks
):
    """Rule: the cap is per number or address, so one campaign is one send to it, however many records hold it.

    Attack: every online booking is its own record, so a client who booked three
    times (same email, same phone) got three copies of each campaign, and the
    promised "up to 4 a month" was broken by the second campaign.
    """
    records = [marketable(phone="+14085550151", email="rae@example.com") for _ in range(3)]
    other = marketable(phone="+14085550152", email="sam@example.com")
    offer = campaign(channel)
    with time_machine.travel(NOON, tick=False), django_capture_on_commit_callbacks():
        start_campaign(campaign_id=offer.pk, now=NOON)
    offer.refresh_from_db()
    if channel == Channel.SMS:
        sent = list(SmsMessage.objects.filter(campaign=offer).values_list("to_number", "client_id"))
    else:
        sent = list(CampaignEmail.objects.filter(campaign=offer).values_list("to_email", "client_id"))
    assert sorted(to for to, _ in sent) == sorted({to for to, _ in sent}) and len(sent) == 2
    # The oldest record holding the contact is the one written to (each online booking is a newer record).
    assert {client_id for _, client_id in sent} == {records[0].pk, other.pk}
    assert offer.audience_size == 2


def _counts(purpose, contacts):
    from messaging.permissions import Purpose, marketing_counts

    with time_machine.travel(NOON, tick=False):
        return marketing_counts(purpose=getattr(Purpose, purpose), contacts=contacts, now=NOON)


def test_the_sms_cap_counts_only_marketing_texts_to_that_number_that_went_or_will_go_out():
    dana, lee = marketable(phone="+14085550151"), marketable(phone="+14085550152")
    past_texts(dana, 2, days_ago=3)
    past_texts(lee, 3, days_ago=3)  # another number's offers are not Dana's
    with time_machine.travel(NOON - timedelta(days=2), tick=False):
        # Appointment texts are not marketing; a failed or skipped offer never reached the phone.
        SmsMessage.objects.create(to_number="+14085550151", body="reminder", kind=MessageKind.REMINDER, status="sent")
        for status in ("failed", "skipped"):
            SmsMessage.objects.create(to_number="+14085550151", body="offer", kind=MessageKind.MARKETING, status=status)
    past_texts(dana, 5, days_ago=31)  # older than the 30 days

    assert _counts("SMS_MARKETING", ["+14085550151"]) == {"+14085550151": 2}


def test_the_email_cap_counts_an_address_asked_for_in_any_letter_case():
    dana = marketable(email="dana@example.com")
    offer = campaign(Channel.EMAIL)
    other = campaign(Channel.EMAIL, name="Second offer")
    with time_machine.travel(NOON - timedelta(days=3), tick=False):
        # Stored as the record holds it: normalised to lower case (Client.save).
        CampaignEmail.objects.create(campaign=offer, client=dana, to_email=dana.email, status="sent")
        CampaignEmail.objects.create(campaign=other, client=None, to_email="dana@example.com", status="sent")

    assert _counts("EMAIL_MARKETING", ["DANA@example.com"]) == {"dana@example.com": 2}


def test_a_campaign_resumed_after_a_crash_does_not_count_its_own_texts_against_the_cap(
    django_capture_on_commit_callbacks,
):
    person = marketable()
    past_texts(person, 3, days_ago=10)
    sms = campaign(Channel.SMS)
    # The worker wrote this campaign's rows, then died before marking it sent.
    Campaign.objects.filter(pk=sms.pk).update(status=CampaignStatus.SENDING)
    with time_machine.travel(NOON, tick=False):
        SmsMessage.objects.create(
            to_number=str(person.mobile_phone),
            body="20% off",
            kind=MessageKind.MARKETING,
            status="queued",
            campaign=sms,
            client=person,
            dedupe_key=f"campaign:{sms.pk}:{person.pk}",
        )

    with time_machine.travel(NOON, tick=False), django_capture_on_commit_callbacks():
        start_campaign(campaign_id=sms.pk, now=NOON)

    sms.refresh_from_db()
    # Its 4th offer this month is within the promise: not skipped as over the cap, and not written twice.
    assert (sms.audience_size, sms.skipped_over_cap) == (1, 0)
    assert SmsMessage.objects.filter(campaign=sms, client=person).count() == 1


def test_with_a_cap_of_one_a_person_never_sent_an_offer_gets_one(settings, django_capture_on_commit_callbacks):
    settings.MARKETING_MAX_PER_30_DAYS = 1
    person = marketable()
    sms = campaign(Channel.SMS)
    with time_machine.travel(NOON, tick=False), django_capture_on_commit_callbacks():
        start_campaign(campaign_id=sms.pk, now=NOON)
    sms.refresh_from_db()
    assert (sms.audience_size, sms.skipped_over_cap) == (1, 0)
    assert SmsMessage.objects.filter(campaign=sms, client=person).count() == 1
