"""The private manage link: view, cancel, reschedule until the cut-off; bad links answer 404/410."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from appointments.links import manage_path, manage_token
from appointments.models import AppointmentStatus
from tests.support.builders import AppointmentFactory, bookable_clinic

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
THREE_DAYS_BEFORE = MONDAY_10 - timedelta(days=3)


@pytest.fixture
def appointment():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),), practitioners=1)
    return AppointmentFactory(location=location, service=service, practitioner=person, start=MONDAY_10)


def url(name, appointment):
    return reverse(f"appointments:{name}", args=[manage_token(appointment)])


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_manage_page_shows_the_appointment_in_local_time_with_change_options(client, appointment):
    html = client.get(manage_path(appointment)).content.decode()
    assert "Monday 7 December 2026, 10:00 AM PST" in html
    assert "Reschedule" in html and "Cancel appointment" in html
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title  # a plain page title; the preferences link sits in the body
    assert html.count("Choose which reminders and offers we send you") == 1


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_client_can_cancel_before_the_cutoff(client, appointment):
    response = client.post(url("cancel", appointment))
    appointment.refresh_from_db()
    assert response.status_code == 302 and appointment.status == AppointmentStatus.CANCELLED


@time_machine.travel(MONDAY_10 - timedelta(hours=23), tick=False)
def test_after_the_cutoff_the_page_shows_the_phone_and_cancel_is_refused(client, appointment):
    html = client.get(manage_path(appointment)).content.decode()
    assert "Cancel appointment" not in html and "(408) 821-1633" in html
    response = client.post(url("cancel", appointment))
    appointment.refresh_from_db()
    assert response.status_code == 409 and appointment.status == AppointmentStatus.BOOKED
    assert client.get(url("reschedule", appointment)).status_code == 409


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_cancel_needs_post(client, appointment):
    assert client.get(url("cancel", appointment)).status_code == 405


@pytest.mark.policy("use-appointments")
@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_reschedule_moves_the_appointment_to_a_free_time(client, appointment):
    page = client.get(url("reschedule", appointment), {"date": "2026-12-08"}).content.decode()
    new_start = datetime(2026, 12, 8, 14, 0, tzinfo=LA)
    assert new_start.astimezone(ZoneInfo("UTC")).isoformat() in page
    response = client.post(url("reschedule", appointment), {"start": new_start.isoformat()})
    appointment.refresh_from_db()
    assert response.status_code == 302
    assert appointment.start == new_start and appointment.end == new_start + timedelta(hours=1)


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_reschedule_may_overlap_its_own_old_time(client, appointment):
    new_start = MONDAY_10 + timedelta(minutes=30)
    client.post(url("reschedule", appointment), {"start": new_start.isoformat()})
    appointment.refresh_from_db()
    assert appointment.start == new_start


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_reschedule_to_a_taken_time_is_refused_with_alternatives(client, appointment):
    taken = MONDAY_10 + timedelta(hours=3)
    AppointmentFactory(
        location=appointment.location, service=appointment.service, practitioner=appointment.practitioner, start=taken
    )
    response = client.post(url("reschedule", appointment), {"start": taken.isoformat()})
    appointment.refresh_from_db()
    assert response.status_code == 409 and "just taken" in response.content.decode()
    assert appointment.start == MONDAY_10


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_reschedule_with_garbage_start_changes_nothing(client, appointment):
    response = client.post(url("reschedule", appointment), {"start": "<script>"})
    appointment.refresh_from_db()
    assert response.status_code == 200 and appointment.start == MONDAY_10


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + "xx", lambda t: "abc", lambda t: t + "0"])
def test_tampered_link_is_404(client, appointment, mangle):
    assert client.get(reverse("appointments:manage", args=[mangle(manage_token(appointment))])).status_code == 404


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_link_for_a_guessed_id_with_a_wrong_key_is_404(client, appointment):
    appointment.manage_key = "guessed"
    assert client.get(manage_path(appointment)).status_code == 404


def test_link_expires_some_days_after_the_visit(client, appointment, settings):
    settings.BOOKING_MANAGE_LINK_DAYS_AFTER = 30
    with time_machine.travel(MONDAY_10 + timedelta(days=29), tick=False):
        assert client.get(manage_path(appointment)).status_code == 200
    with time_machine.travel(MONDAY_10 + timedelta(days=31), tick=False):
        response = client.get(manage_path(appointment))
        assert response.status_code == 410 and "expired" in response.content.decode()


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_manage_links_survive_a_secret_key_rotation_while_the_old_key_is_a_fallback(client, appointment, settings):
    link = manage_path(appointment)  # signed with the current key
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-brand-new-secret-key-" + "x" * 40, [settings.SECRET_KEY]
    assert client.get(link).status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get(link).status_code == 404


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_a_confirmed_appointment_the_client_moves_is_booked_again_since_c_confirmed_the_old_time(client, appointment):
    appointment.status = AppointmentStatus.CONFIRMED
    appointment.save(update_fields=["status"])
    new_start = datetime(2026, 12, 8, 14, 0, tzinfo=LA)
    response = client.post(url("reschedule", appointment), {"start": new_start.isoformat()})
    appointment.refresh_from_db()
    assert response.status_code == 302
    assert appointment.start == new_start and appointment.status == AppointmentStatus.BOOKED


@time_machine.travel(THREE_DAYS_BEFORE, tick=False)
def test_reschedule_shows_a_strip_of_days_and_one_days_times_by_part_of_the_day(client, appointment):
    html = client.get(url("reschedule", appointment)).content.decode()
    assert 'class="day-strip"' in html
    # Friday 4 December (today, 10 AM) has free times after the 2-hour notice, all afternoon: it is the day shown.
    assert "Friday 4 December" in html and "<h3>Afternoon</h3>" in html and "<h3>Morning</h3>" not in html
    # One day's times, not the week's: Monday's 9 AM is behind Monday's link in the strip.
    assert 'value="2026-12-07T17:00:00+00:00"' not in html
    monday = client.get(url("reschedule", appointment), {"date": "2026-12-04", "day": "2026-12-07"}).content.decode()
    assert "Monday 7 December" in monday and "<h3>Morning</h3>" in monday
    assert 'value="2026-12-07T17:00:00+00:00"' in monday  # 9 AM in Los Angeles
