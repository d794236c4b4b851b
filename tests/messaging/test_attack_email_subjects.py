"""A campaign's subject is staff's text and goes into an email header: a line break in it (typed or pasted into
the admin, or a hand-made POST) is never a header of its own, and never leaves every email of the campaign
stuck unsent (Django refuses a header with a line break: the send raised and the rows stayed "sending")."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from messaging.marketing import start_campaign
from messaging.models import Campaign, CampaignEmail, CampaignStatus, Channel, MessageStatus
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import ClientFactory, prove_contacts

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 7, 12, tzinfo=ZoneInfo("America/Los_Angeles"))


@pytest.mark.parametrize(
    "subject, sent_as",
    [
        ("Winter menu\r\nBcc: everyone@example.com", "Winter menu Bcc: everyone@example.com"),
        ("Winter\nmenu", "Winter menu"),
    ],
)
def test_a_line_break_in_a_campaigns_subject_is_sent_on_one_line_never_as_a_header(
    django_capture_on_commit_callbacks, subject, sent_as
):
    person = ClientFactory()
    prove_contacts(person)
    record_consent(
        client=person,
        purpose=ConsentPurpose.EMAIL_MARKETING,
        granted=True,
        notice_text="Offers",
        source=ConsentSource.BOOKING_FORM,
    )
    campaign = Campaign.objects.create(
        name="News",
        channel=Channel.EMAIL,
        subject=subject,
        body="New peels are here.",
        send_at=NOON,
        status=CampaignStatus.SCHEDULED,
    )
    with django_capture_on_commit_callbacks(execute=True):
        start_campaign(campaign_id=campaign.pk, now=NOON)
    (message,) = mail.outbox
    headers = message.message()
    assert message.to == [person.email] and not message.bcc and headers["Bcc"] is None
    assert "\n" not in str(headers["Subject"]) and message.subject == sent_as
    assert CampaignEmail.objects.get(campaign=campaign).status == MessageStatus.SENT
