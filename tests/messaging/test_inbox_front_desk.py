"""The front desk at 8:30: the unread count in the admin's menu and index, a plain "Unread" filter,
each thread's client and next appointment, and one time format in the location's zone."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from appointments.models import AppointmentStatus
from messaging.models import Direction, MessageStatus, SmsMessage
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.front_desk import front_desk_user
from tests.support.sms import inbound

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 8, 30, tzinfo=LA)  # a Monday, 8:30 in the morning
INBOX = reverse("admin:messaging_inboundmessage_changelist")
INDEX = reverse("admin:index")


@pytest.fixture(autouse=True)
def at_half_past_eight():
    with time_machine.travel(NOW, tick=False):
        yield


def text_from(person, location, body, *, read=False):
    return SmsMessage.objects.create(
        direction=Direction.INBOUND,
        from_number=str(person.mobile_phone),
        to_number="+14088211633",
        body=body,
        client=person,
        location=location,
        status=MessageStatus.RECEIVED,
        keyword="none",
        read_at=NOW - timedelta(hours=1) if read else None,
    )


@pytest.fixture
def two_locations():
    milpitas, service, (person,) = bookable_clinic()
    glendale, g_service, (g_person,) = bookable_clinic()
    return (milpitas, service, person), (glendale, g_service, g_person)


def unread_in_menu(html):
    found = re.search(r'class="inbox-link">Inbox(?: \((\d+) unread\))?</a>', html)
    assert found, "no inbox link in the admin menu"
    return int(found.group(1) or 0)


def test_the_menu_and_index_count_only_unread_texts_at_the_desks_own_location(client, two_locations):
    (milpitas, *_), (glendale, *_) = two_locations
    for body in ("Parking?", "Running late"):
        text_from(ClientFactory(), milpitas, body)
    text_from(ClientFactory(), milpitas, "Thanks", read=True)
    text_from(ClientFactory(), glendale, "Glendale question")
    client.force_login(front_desk_user(milpitas))
    index = client.get(INDEX).content.decode()
    assert unread_in_menu(index) == 2
    assert "Inbox: 2 unread texts from clients" in index
    # On every admin page, not only the index.
    assert unread_in_menu(client.get(INBOX).content.decode()) == 2


def test_the_count_follows_a_new_text_and_reading_it(client, two_locations, django_capture_on_commit_callbacks):
    (milpitas, *_), _ = two_locations
    milpitas.sms_from_number = "+14088211633"
    milpitas.save()
    client.force_login(front_desk_user(milpitas))
    assert unread_in_menu(client.get(INDEX).content.decode()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        inbound(client, "Can I bring my sister?", sender="+14085550177")
    assert unread_in_menu(client.get(INDEX).content.decode()) == 1
    message = SmsMessage.objects.get(direction=Direction.INBOUND)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(INBOX, {"action": "mark_as_read", "_selected_action": [message.pk]})
    assert unread_in_menu(client.get(INDEX).content.decode()) == 0


def test_the_unread_filter_shows_only_unread_texts(client, two_locations):
    (milpitas, *_), _ = two_locations
    text_from(ClientFactory(), milpitas, "Unanswered question")
    text_from(ClientFactory(), milpitas, "Old thanks", read=True)
    client.force_login(front_desk_user(milpitas))
    html = client.get(INBOX, {"unread": "yes"}).content.decode()
    assert "Unanswered question" in html and "Old thanks" not in html
    assert "By read or unread" in html and ">Unread</a>" in html
    html = client.get(INBOX, {"unread": "no"}).content.decode()
    assert "Old thanks" in html and "Unanswered question" not in html


def test_each_thread_shows_its_client_with_a_link_and_their_next_appointment_here(client, two_locations):
    (milpitas, service, person), (glendale, g_service, g_person) = two_locations
    service.name = "HydraFacial"
    service.save()
    someone = ClientFactory(first_name="Rosalind", last_name="Texter")
    AppointmentFactory(
        client=someone, location=milpitas, service=service, practitioner=person, start=NOW + timedelta(days=2)
    )
    AppointmentFactory(  # sooner, but cancelled
        client=someone,
        location=milpitas,
        service=service,
        practitioner=person,
        start=NOW + timedelta(days=1),
        status=AppointmentStatus.CANCELLED,
    )
    AppointmentFactory(  # sooner, but at Glendale: not the Milpitas desk's to see
        client=someone, location=glendale, service=g_service, practitioner=g_person, start=NOW + timedelta(hours=5)
    )
    text_from(someone, milpitas, "See you Wednesday")
    stranger = SmsMessage.objects.create(
        direction=Direction.INBOUND,
        from_number="+14085550199",
        to_number="+14088211633",
        body="Who is this?",
        location=milpitas,
        status=MessageStatus.RECEIVED,
        keyword="none",
    )
    client.force_login(front_desk_user(milpitas))
    html = client.get(INBOX).content.decode()
    client_url = reverse("admin:clinic_client_change", args=[someone.pk])
    assert f'<a href="{client_url}">Rosalind Texter</a>' in html
    assert "Wed 9 Dec 2026, 8:30 AM PST: HydraFacial" in html
    assert g_service.name not in html and "2:30 PM" not in html
    row = html.split(stranger.body)[0].rsplit("<tr", 1)[1]
    assert "Not on file" in row and "None booked" in row


def test_admin_times_share_one_format_in_the_locations_zone(client, two_locations):
    (milpitas, service, person), _ = two_locations
    AppointmentFactory(location=milpitas, service=service, practitioner=person, start=NOW + timedelta(hours=2))
    client.force_login(front_desk_user(milpitas))
    html = client.get(reverse("admin:appointments_appointment_changelist")).content.decode()
    assert "Mon 7 Dec 2026, 10:30 AM PST" in html
