"""One time format across the admin, in the location's zone: records named by a time (an appointment in a
breadcrumb or a list's label, a held time, a freed time, time off, an audit event) read like the admin's lists,
"Mon 7 Dec 2026, 10:30 AM PST", never "2026-12-07 18:30" in UTC."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from appointments.models import SlotHold, TimeOff
from privacy.requests_models import AuditAction, PrivacyAuditEvent
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.front_desk import front_desk_user
from waitlist.models import Opening

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=LA)  # 16:00 UTC


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def test_an_appointment_is_named_in_the_admins_format_in_its_locations_zone(client):
    location, service, (person,) = bookable_clinic()
    someone = ClientFactory(preferred_location=location, first_name="Dana", last_name="Format")
    appointment = AppointmentFactory(
        location=location, service=service, practitioner=person, client=someone, start=NOW + timedelta(hours=2.5)
    )
    client.force_login(front_desk_user(location))
    page = client.get(reverse("admin:appointments_appointment_change", args=[appointment.pk])).content.decode()
    assert f"Dana Format - {service.name} at Mon 7 Dec 2026, 10:30 AM PST" in page
    assert "2026-12-07" not in page.split("<form")[0]  # the breadcrumb and title, before the form's own inputs


def test_held_and_freed_times_time_off_and_audit_events_read_in_the_one_format_and_zone():
    location, service, (person,) = bookable_clinic()
    start = NOW + timedelta(hours=3)
    hold = SlotHold.objects.create(
        location=location,
        service=service,
        practitioner=person,
        start=start,
        occupied_until=start + timedelta(hours=1),
        expires_at=NOW + timedelta(minutes=15),
    )
    assert str(hold) == f"{person} held from Mon 7 Dec 2026, 11:00 AM PST until 8:15 AM"
    opening = Opening.objects.create(
        location=location, practitioner=person, start=start, end=start + timedelta(hours=1)
    )
    assert str(opening) == f"{person} at Mon 7 Dec 2026, 11:00 AM PST"
    with timezone.override(LA):  # the zone StaffTimezoneMiddleware turns on for the staff member's locations
        off = TimeOff.objects.create(practitioner=person, start=start, end=start + timedelta(hours=2))
        assert str(off) == f"{person} off Mon 7 Dec 2026, 11:00 AM PST to Mon 7 Dec 2026, 1:00 PM PST"
        event = PrivacyAuditEvent.objects.create(action=AuditAction.DATA_VIEWED)
        assert str(event) == "Personal data viewed at Mon 7 Dec 2026, 8:00 AM PST"
