"""Marketing campaigns reach exactly the consenting, unsuppressed clients, once; email unsubscribe is one click."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from clinic.roles import CLINIC_MANAGER
from messaging.marketing import campaign_audience, start_campaign, start_due_campaigns, unsubscribe_token
from messaging.models import Campaign, CampaignEmail, CampaignStatus, Channel, MessageKind, MessageStatus, SmsMessage
from messaging.opt_outs import add_sms_opt_out
from messaging.sending import deliver_sms
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from privacy.selectors import has_consent
from privacy.services import record_consent
from tests.support.builders import (
    AppointmentFactory,
    ClientFactory,
    LocationFactory,
    StaffFactory,
    bookable_clinic,
    prove_contacts,
)

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOON = datetime(2026, 12, 7, 12, tzinfo=LA)


def consent(client, purpose, granted=True):
    # Known clients who proved their phone and email: the double opt-in is tested in test_double_opt_in.py.
    prove_contacts(client)
    record_consent(
        client=client, purpose=purpose, granted=granted, notice_text="Offers", source=ConsentSource.BOOKING_FORM
    )


@pytest.fixture
def people():
    """One client in every consent state that matters for marketing."""
    p = {
        name: ClientFactory(last_name=name)
        for name in [
            "sms_yes",
            "email_yes",
            "both_yes",
            "never_asked",
            "withdrew",
            "opted_out",
            "restricted",
            "bad_phone",
            "reminders_only",
        ]
    }
    for name in ["sms_yes", "both_yes", "withdrew", "opted_out", "restricted", "bad_phone"]:
        consent(p[name], ConsentPurpose.SMS_MARKETING)
    for name in ["email_yes", "both_yes", "withdrew", "restricted"]:
        consent(p[name], ConsentPurpose.EMAIL_MARKETING)
    consent(p["withdrew"], ConsentPurpose.SMS_MARKETING, granted=False)
    consent(p["withdrew"], ConsentPurpose.EMAIL_MARKETING, granted=False)
    consent(p["reminders_only"], ConsentPurpose.SMS_REMINDERS)
    add_sms_opt_out(phone=str(p["opted_out"].mobile_phone), reason="STOP", source="sms_keyword")
    type(p["restricted"]).objects.filter(pk=p["restricted"].pk).update(processing_restricted=True)
    type(p["bad_phone"]).objects.filter(pk=p["bad_phone"].pk).update(mobile_phone_problem="Not a mobile number")
    return p


def names(clients):
    return sorted(c.last_name for c in clients)


@pytest.mark.policy("use-marketing-consent")
def test_sms_audience_is_exactly_the_consenting_unsuppressed_clients(people):
    assert names(campaign_audience(channel=Channel.SMS)) == ["both_yes", "sms_yes"]


@pytest.mark.policy("use-marketing-consent")
def test_email_audience_is_exactly_the_consenting_clients(people):
    assert names(campaign_audience(channel=Channel.EMAIL)) == ["both_yes", "email_yes"]


def test_audience_is_read_in_a_fixed_number_of_queries(people, django_assert_max_num_queries):
    # Clients, consent, the opt-out list, the frequency cap's counts.
    with django_assert_max_num_queries(4):
        campaign_audience(channel=Channel.SMS)
    for _ in range(10):
        consent(ClientFactory(), ConsentPurpose.SMS_MARKETING)
    with django_assert_max_num_queries(4):
        assert len(campaign_audience(channel=Channel.SMS)) == 12


def test_location_campaign_reaches_that_locations_clients_only(people):
    location, service, (person,) = bookable_clinic()
    AppointmentFactory(client=people["sms_yes"], location=location, service=service, practitioner=person, start=NOON)
    assert names(campaign_audience(channel=Channel.SMS, location=location)) == ["sms_yes"]


def sms_campaign(**kwargs):
    fields = {
        "name": "Winter glow",
        "channel": Channel.SMS,
        "body": "20% off HydraFacials this week!",
        "send_at": NOON,
        "status": CampaignStatus.SCHEDULED,
        **kwargs,
    }
    fields["location"] = fields.get("location") or LocationFactory()
    return Campaign.objects.create(**fields)


@pytest.mark.policy("sms-stop")
def test_sms_campaign_sends_once_per_client_with_the_stop_line(people, sms_outbox, django_capture_on_commit_callbacks):
    location = LocationFactory()
    for name in ["sms_yes", "both_yes"]:
        type(people[name]).objects.filter(pk=people[name].pk).update(preferred_location=location)
    campaign = sms_campaign(location=location)
    with time_machine.travel(NOON, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert start_due_campaigns(now=NOON) == [campaign.pk]
        assert start_due_campaigns(now=NOON) == []  # a second beat: nothing again
        start_campaign(campaign_id=campaign.pk, now=NOON)  # even a forced restart adds nobody twice
    assert sorted(m.to for m in sms_outbox) == sorted(str(people[n].mobile_phone) for n in ["sms_yes", "both_yes"])
    assert all(m.body == "20% off HydraFacials this week! Reply STOP to opt out, HELP for help." for m in sms_outbox)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and campaign.audience_size == 2
    assert SmsMessage.objects.filter(campaign=campaign, kind=MessageKind.MARKETING).count() == 2


def test_sms_campaign_waits_for_sending_hours(people, sms_outbox, django_capture_on_commit_callbacks):
    location = LocationFactory()
    type(people["sms_yes"]).objects.filter(pk=people["sms_yes"].pk).update(preferred_location=location)
    campaign = sms_campaign(location=location, send_at=NOON.replace(hour=22))
    late = NOON.replace(hour=22)
    with time_machine.travel(late, tick=False), django_capture_on_commit_callbacks(execute=True):
        start_due_campaigns(now=late)
    assert sms_outbox == []
    assert SmsMessage.objects.get(campaign=campaign).send_after == datetime(2026, 12, 8, 8, tzinfo=LA)


def test_stop_after_a_campaign_was_queued_stops_that_text(people, sms_outbox):
    location = LocationFactory()
    type(people["sms_yes"]).objects.filter(pk=people["sms_yes"].pk).update(preferred_location=location)
    campaign = sms_campaign(location=location)
    with time_machine.travel(NOON, tick=False):
        start_campaign(campaign_id=campaign.pk, now=NOON)  # rows written; on_commit not run in this test
        add_sms_opt_out(phone=str(people["sms_yes"].mobile_phone), reason="STOP", source="sms_keyword")
        message = SmsMessage.objects.get(campaign=campaign)
        assert deliver_sms(message_id=message.pk).outcome == "skipped"
    assert sms_outbox == []


def email_campaign(**kwargs):
    return Campaign.objects.create(
        name="News",
        channel=Channel.EMAIL,
        subject="Our winter menu",
        body="New peels are here.",
        send_at=NOON,
        status=CampaignStatus.SCHEDULED,
        **kwargs,
    )


@pytest.mark.policy("email-unsubscribe")
def test_email_campaign_carries_unsubscribe_link_and_one_click_headers(people, django_capture_on_commit_callbacks):
    campaign = email_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        start_campaign(campaign_id=campaign.pk, now=NOON)
        start_campaign(campaign_id=campaign.pk, now=NOON)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(people[n].email for n in ["both_yes", "email_yes"])
    message = mail.outbox[0]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert url.startswith("http://testserver/messaging/unsubscribe/") and url in message.body
    assert CampaignEmail.objects.filter(campaign=campaign, status=MessageStatus.SENT).count() == 2


@pytest.mark.policy("email-unsubscribe")
def test_one_click_unsubscribe_over_http_needs_no_login_and_takes_effect_at_once(client, people):
    person = people["email_yes"]
    url = reverse("messaging:unsubscribe", args=[unsubscribe_token(person)])
    # What a mail client sends for RFC 8058: a POST with no cookies and no CSRF token.
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "You are unsubscribed" in response.content.decode()
    assert not has_consent(client=person, purpose=ConsentPurpose.EMAIL_MARKETING)
    record = ConsentRecord.objects.filter(client=person, purpose=ConsentPurpose.EMAIL_MARKETING).first()
    assert record.granted is False and record.evidence == "email unsubscribe link"
    assert names(campaign_audience(channel=Channel.EMAIL)) == ["both_yes"]


def test_unsubscribe_link_opened_in_a_browser_asks_before_acting(client, people):
    person = people["email_yes"]
    response = client.get(reverse("messaging:unsubscribe", args=[unsubscribe_token(person)]))
    assert response.status_code == 200 and "<form" in response.content.decode()
    assert has_consent(client=person, purpose=ConsentPurpose.EMAIL_MARKETING)  # a link scanner unsubscribes nobody


def test_resubscribing_later_is_honoured_but_the_address_stays_suppressed_until_cleared(client, people):
    person = people["email_yes"]
    client.post(reverse("messaging:unsubscribe", args=[unsubscribe_token(person)]))
    consent(person, ConsentPurpose.EMAIL_MARKETING)
    assert names(campaign_audience(channel=Channel.EMAIL)) == ["both_yes"]


def test_tampered_unsubscribe_token_is_404(client, people):
    token = unsubscribe_token(people["email_yes"])
    assert client.post(reverse("messaging:unsubscribe", args=[token[:-3] + "abc"])).status_code == 404


def test_email_to_someone_who_unsubscribed_after_queueing_is_skipped(
    client, people, django_capture_on_commit_callbacks
):
    campaign = email_campaign()
    start_campaign(campaign_id=campaign.pk, now=NOON)  # queued; tasks not run yet
    client.post(reverse("messaging:unsubscribe", args=[unsubscribe_token(people["email_yes"])]))
    from messaging.marketing import deliver_campaign_email

    for row in CampaignEmail.objects.all():
        deliver_campaign_email(email_id=row.pk)
    assert [m.to[0] for m in mail.outbox] == [people["both_yes"].email]


def test_admin_shows_the_audience_count_before_sending(client, people):
    manager = StaffFactory()
    manager.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    client.force_login(manager)
    campaign = Campaign.objects.create(name="Draft", channel=Channel.SMS, body="Hi", send_at=NOON + timedelta(days=1))
    html = client.get(reverse("admin:messaging_campaign_change", args=[campaign.pk])).content.decode()
    assert "2 client(s) with current SMS marketing consent" in html
    client.post(
        reverse("admin:messaging_campaign_changelist"), {"action": "schedule", "_selected_action": [campaign.pk]}
    )
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
