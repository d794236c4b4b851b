"""The front-desk inbox: per location, unread first, replies under the same rules."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from clinic.roles import FRONT_DESK, PRIVACY_OFFICER
from messaging.models import Direction, MessageKind, MessageStatus, SmsMessage
from messaging.opt_outs import add_sms_opt_out
from tests.support.builders import ClientFactory, LocationFactory, StaffFactory

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")


def staff(role=FRONT_DESK, *locations):
    # No locations given: a profile marked "All locations".
    user = StaffFactory(locations=list(locations) or None)
    user.groups.add(Group.objects.get(name=role))
    return user


def text_from(client, location, body, read=False):
    return SmsMessage.objects.create(
        direction=Direction.INBOUND,
        from_number=str(client.mobile_phone),
        to_number="+14088211633",
        body=body,
        client=client,
        location=location,
        status=MessageStatus.RECEIVED,
        keyword="none",
        read_at=datetime(2026, 12, 1, tzinfo=LA) if read else None,
    )


INBOX = reverse("admin:messaging_inboundmessage_changelist")


def test_inbox_lists_unread_first_and_only_messages_for_people(client):
    location = LocationFactory()
    person = ClientFactory(last_name="Inboxer")
    text_from(person, location, "Old question", read=True)
    text_from(person, location, "New question")
    SmsMessage.objects.create(
        direction=Direction.INBOUND,
        from_number="+14085550999",
        to_number="x",
        body="STOP",
        keyword="opt_out",
        status=MessageStatus.RECEIVED,
    )
    client.force_login(staff())
    html = client.get(INBOX).content.decode()
    assert html.index("New question") < html.index("Old question")
    assert ">STOP<" not in html


def test_staff_tied_to_a_location_see_only_its_inbox(client):
    mine, theirs = LocationFactory(), LocationFactory()
    text_from(ClientFactory(), mine, "For us")
    text_from(ClientFactory(), theirs, "For them")
    client.force_login(staff(FRONT_DESK, mine))
    html = client.get(INBOX).content.decode()
    assert "For us" in html and "For them" not in html


@pytest.mark.policy("use-communication")
@time_machine.travel(datetime(2026, 12, 7, 10, tzinfo=LA), tick=False)
def test_reply_is_sent_through_the_backend_and_marks_the_message_read(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    location = LocationFactory(sms_from_number="+14088211633")
    person = ClientFactory(mobile_phone="+14085550143")
    message = text_from(person, location, "Can I bring my sister?")
    user = staff()
    client.force_login(user)
    url = reverse("admin:messaging_inboundmessage_reply", args=[message.pk])
    assert "Can I bring my sister?" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"body": "Of course! See you Tuesday."})
    assert response.status_code == 302
    (sms,) = sms_outbox
    assert sms.to == "+14085550143" and sms.body == "Of course! See you Tuesday." and sms.from_number == "+14088211633"
    reply = SmsMessage.objects.get(direction=Direction.OUTBOUND)
    message.refresh_from_db()
    assert reply.in_reply_to == message and reply.sent_by == user and reply.kind == MessageKind.OTHER
    assert message.read_at is not None


@time_machine.travel(datetime(2026, 12, 7, 22, tzinfo=LA), tick=False)
def test_reply_written_at_night_waits_for_the_morning(client, sms_outbox, django_capture_on_commit_callbacks):
    location = LocationFactory()
    message = text_from(ClientFactory(), location, "Are you open tomorrow?")
    client.force_login(staff())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:messaging_inboundmessage_reply", args=[message.pk]), {"body": "Yes, from 9."})
    reply = SmsMessage.objects.get(direction=Direction.OUTBOUND)
    assert sms_outbox == [] and reply.status == MessageStatus.QUEUED
    assert reply.send_after == datetime(2026, 12, 8, 8, tzinfo=LA)


def test_reply_to_an_opted_out_number_is_refused(client, sms_outbox):
    location = LocationFactory()
    person = ClientFactory(mobile_phone="+14085550143")
    message = text_from(person, location, "Hello?")
    add_sms_opt_out(phone="+14085550143", reason="STOP", source="sms_keyword")
    client.force_login(staff())
    response = client.post(reverse("admin:messaging_inboundmessage_reply", args=[message.pk]), {"body": "Hi!"})
    assert response.status_code == 200 and "opted out" in response.content.decode()
    assert not SmsMessage.objects.filter(direction=Direction.OUTBOUND).exists()


def test_privacy_officer_cannot_reply(client):
    message = text_from(ClientFactory(), LocationFactory(), "Hello")
    client.force_login(staff(PRIVACY_OFFICER))
    assert client.post(
        reverse("admin:messaging_inboundmessage_reply", args=[message.pk]), {"body": "Hi"}
    ).status_code in (403, 404)
    assert not SmsMessage.objects.filter(direction=Direction.OUTBOUND).exists()


def test_mark_as_read_action(client):
    message = text_from(ClientFactory(), LocationFactory(), "Hello")
    client.force_login(staff())
    client.post(INBOX, {"action": "mark_as_read", "_selected_action": [message.pk]})
    message.refresh_from_db()
    assert message.read_at is not None
