"""The front desk in the Django admin: the same booking rules, status actions, location scoping."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from appointments.models import Appointment, AppointmentSource, AppointmentStatus, LocationClosure
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.front_desk import ADD_URL, add_form, editing, front_desk_user

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
MONDAY = datetime(2026, 12, 7, tzinfo=LA)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime(2026, 12, 7, 8, 0, tzinfo=LA), tick=False):
        yield


@pytest.fixture
def clinic():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    return location, service, person


def test_front_desk_books_in_the_locations_local_time(client, clinic):
    location, service, person = clinic
    client.force_login(front_desk_user())
    response = client.post(ADD_URL, add_form(location, service, person, ClientFactory(), 10))
    assert response.status_code == 302, response.content.decode()[:2000]
    appointment = Appointment.objects.get()
    assert appointment.start == MONDAY.replace(hour=10) and appointment.end == MONDAY.replace(hour=11)
    assert appointment.source == AppointmentSource.FRONT_DESK


def test_admin_refuses_an_overlapping_appointment_even_with_override(client, clinic):
    location, service, person = clinic
    AppointmentFactory(location=location, service=service, practitioner=person, start=MONDAY.replace(hour=10))
    client.force_login(front_desk_user())
    response = client.post(
        ADD_URL, add_form(location, service, person, ClientFactory(), 10, 30, override_working_hours="on")
    )
    assert response.status_code == 200
    assert "already has" in response.content.decode()
    assert Appointment.objects.count() == 1


def test_outside_working_hours_needs_the_explicit_override(client, clinic):
    location, service, person = clinic
    client.force_login(front_desk_user())
    data = add_form(location, service, person, ClientFactory(), 18)
    response = client.post(ADD_URL, data)
    assert response.status_code == 200 and "not scheduled to work" in response.content.decode()
    assert not Appointment.objects.exists()
    response = client.post(ADD_URL, {**data, "override_working_hours": "on"})
    assert response.status_code == 302 and Appointment.objects.count() == 1


def test_closure_day_needs_the_override_too(client, clinic):
    location, service, person = clinic
    LocationClosure.objects.create(location=location, date=MONDAY.date(), reason="Staff training")
    client.force_login(front_desk_user())
    response = client.post(ADD_URL, add_form(location, service, person, ClientFactory(), 10))
    assert "is closed on" in response.content.decode() and not Appointment.objects.exists()


def test_practitioner_who_does_not_offer_the_service_is_refused(client, clinic):
    location, service, person = clinic
    person.services.clear()
    client.force_login(front_desk_user())
    response = client.post(ADD_URL, add_form(location, service, person, ClientFactory(), 10))
    assert "does not provide" in response.content.decode() and not Appointment.objects.exists()


def test_edit_form_shows_local_time_and_saving_unchanged_keeps_the_time(client, clinic):
    location, service, person = clinic
    appointment = AppointmentFactory(
        location=location, service=service, practitioner=person, start=MONDAY.replace(hour=10)
    )
    client.force_login(front_desk_user())
    url = reverse("admin:appointments_appointment_change", args=[appointment.pk])
    assert 'value="10:00:00"' in client.get(url).content.decode()
    inline_management = editing(appointment)
    response = client.post(
        url,
        add_form(
            location, service, person, appointment.client, 10, status=AppointmentStatus.CONFIRMED, **inline_management
        ),
    )
    appointment.refresh_from_db()
    assert response.status_code == 302
    assert appointment.start == MONDAY.replace(hour=10) and appointment.status == AppointmentStatus.CONFIRMED


def test_status_actions_follow_allowed_transitions(client, clinic):
    location, service, person = clinic
    booked = AppointmentFactory(location=location, service=service, practitioner=person, start=MONDAY.replace(hour=9))
    cancelled = AppointmentFactory(
        location=location,
        service=service,
        practitioner=person,
        start=MONDAY.replace(hour=10),
        status=AppointmentStatus.CANCELLED,
    )
    client.force_login(front_desk_user())
    response = client.post(
        reverse("admin:appointments_appointment_changelist"),
        {"action": "mark_checked_in", "_selected_action": [booked.pk, cancelled.pk]},
        follow=True,
    )
    booked.refresh_from_db()
    cancelled.refresh_from_db()
    assert booked.status == AppointmentStatus.CHECKED_IN
    assert cancelled.status == AppointmentStatus.CANCELLED  # never reinstated by an action
    assert "1 appointment(s) left as they were" in response.content.decode()


def test_today_filter_and_search_by_phone(client, clinic):
    location, service, person = clinic
    today = AppointmentFactory(
        location=location,
        service=service,
        practitioner=person,
        start=MONDAY.replace(hour=9),
        client=ClientFactory(last_name="Todayson", mobile_phone="+14085550177"),
    )
    AppointmentFactory(
        location=location,
        service=service,
        practitioner=person,
        start=MONDAY.replace(hour=9) + timedelta(days=2),
        client=ClientFactory(last_name="Laterson"),
    )
    client.force_login(front_desk_user())
    changelist = reverse("admin:appointments_appointment_changelist")
    html = client.get(changelist, {"day": "today"}).content.decode()
    assert "Todayson" in html and "Laterson" not in html
    html = client.get(changelist, {"q": "(408) 555-0177"}).content.decode()
    assert "Todayson" in html and "Laterson" not in html
    assert today.client.last_name in client.get(changelist, {"q": "todayson"}).content.decode()


def test_front_desk_cannot_delete_appointments(client, clinic):
    location, service, person = clinic
    appointment = AppointmentFactory(
        location=location, service=service, practitioner=person, start=MONDAY.replace(hour=9)
    )
    client.force_login(front_desk_user())
    response = client.post(reverse("admin:appointments_appointment_delete", args=[appointment.pk]), {"post": "yes"})
    assert response.status_code == 403 and Appointment.objects.filter(pk=appointment.pk).exists()


@pytest.mark.policy("security")
def test_staff_tied_to_a_location_see_and_edit_only_its_appointments_and_clients(client, clinic):
    location, service, person = clinic
    other_location, other_service, (other_person,) = bookable_clinic()
    mine = AppointmentFactory(
        location=location,
        service=service,
        practitioner=person,
        start=MONDAY.replace(hour=9),
        client=ClientFactory(last_name="Minewood"),
    )
    theirs = AppointmentFactory(
        location=other_location,
        service=other_service,
        practitioner=other_person,
        start=MONDAY.replace(hour=9),
        client=ClientFactory(last_name="Otherwood"),
    )
    client.force_login(front_desk_user(location))
    html = client.get(reverse("admin:appointments_appointment_changelist")).content.decode()
    assert "Minewood" in html and "Otherwood" not in html
    clients_html = client.get(reverse("admin:clinic_client_changelist")).content.decode()
    assert "Minewood" in clients_html and "Otherwood" not in clients_html
    assert client.get(reverse("admin:appointments_appointment_change", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:clinic_client_change", args=[theirs.client.pk])).status_code == 404
    assert client.get(reverse("admin:appointments_appointment_change", args=[mine.pk])).status_code == 200
    # The location choice offers only their own location.
    add_page = client.get(ADD_URL).content.decode()
    location_select = re.search(r'<select name="location".*?</select>', add_page, re.S).group(0)
    assert f'value="{other_location.pk}"' not in location_select and f'value="{location.pk}"' in location_select


def test_moving_an_appointment_onto_anothers_time_is_refused_with_a_form_error(client, clinic):
    location, service, person = clinic
    AppointmentFactory(location=location, service=service, practitioner=person, start=MONDAY.replace(hour=10))
    moving = AppointmentFactory(location=location, service=service, practitioner=person, start=MONDAY.replace(hour=13))
    client.force_login(front_desk_user())
    url = reverse("admin:appointments_appointment_change", args=[moving.pk])
    inline_management = editing(moving)
    response = client.post(url, add_form(location, service, person, moving.client, 10, 30, **inline_management))
    assert response.status_code == 200 and "already has" in response.content.decode()
    moving.refresh_from_db()
    assert moving.start == MONDAY.replace(hour=13)


@pytest.mark.parametrize(
    ("before", "after"),
    [(AppointmentStatus.CANCELLED, AppointmentStatus.BOOKED), (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)],
)
def test_an_illegal_status_change_in_the_form_is_a_form_error_not_a_500(client, clinic, before, after):
    location, service, person = clinic
    appointment = AppointmentFactory(
        location=location, service=service, practitioner=person, start=MONDAY.replace(hour=10), status=before
    )
    client.force_login(front_desk_user())
    url = reverse("admin:appointments_appointment_change", args=[appointment.pk])
    inline_management = editing(appointment)
    response = client.post(
        url, add_form(location, service, person, appointment.client, 10, status=after, **inline_management)
    )
    assert response.status_code == 200
    assert "appointment cannot become" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == before


def test_a_front_desk_booking_sends_the_same_confirmation_as_an_online_one(
    client, clinic, django_capture_on_commit_callbacks
):
    from messaging.models import MessageKind, SmsMessage
    from privacy.models import ConsentPurpose, ConsentSource
    from privacy.services import record_consent

    location, service, person = clinic
    person_client = ClientFactory(mobile_phone="+14085550143", email="dana@example.com")
    record_consent(
        client=person_client,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="Texts",
        source=ConsentSource.BOOKING_FORM,
    )
    client.force_login(front_desk_user())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD_URL, add_form(location, service, person, person_client, 10))
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert SmsMessage.objects.filter(appointment=appointment, kind=MessageKind.CONFIRMATION).count() == 1
    appointment.refresh_from_db()
    assert appointment.confirmation_emailed_at is not None


def test_front_desk_can_cancel_a_visit_whose_practitioner_has_since_left_their_location(client, clinic):
    from tests.support.builders import LocationFactory

    location, service, person = clinic
    visit = AppointmentFactory(
        client=ClientFactory(preferred_location=location),
        location=location,
        service=service,
        practitioner=person,
        start=MONDAY.replace(hour=10),
    )
    person.locations.set([LocationFactory()])  # moved to another clinic: shown, not offered, to this desk
    client.force_login(front_desk_user(location))

    form = add_form(location, service, person, visit.client, 10, status=AppointmentStatus.CANCELLED)
    form.update(editing(visit))
    del form["practitioner"]
    response = client.post(reverse("admin:appointments_appointment_change", args=[visit.pk]), form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CANCELLED and visit.practitioner == person


def test_editing_a_visit_whose_practitioner_has_since_left_shows_why_it_cannot_be_kept_not_a_500(client, clinic):
    from tests.support.builders import LocationFactory

    location, service, person = clinic
    visit = AppointmentFactory(
        client=ClientFactory(preferred_location=location),
        location=location,
        service=service,
        practitioner=person,
        start=MONDAY.replace(hour=10),
    )
    person.locations.set([LocationFactory()])
    client.force_login(front_desk_user(location))

    form = add_form(location, service, person, visit.client, 11, notes="Moved to eleven")
    form.update(editing(visit))
    del form["practitioner"]
    response = client.post(reverse("admin:appointments_appointment_change", args=[visit.pk]), form)

    assert response.status_code == 200
    assert "does not work at" in str(response.context["adminform"].form.non_field_errors())
    visit.refresh_from_db()
    assert visit.local_start.hour == 10 and visit.notes == ""


def test_a_desk_saving_an_appointment_another_desk_moved_since_it_opened_it_is_refused_not_overwritten(client, clinic):
    from appointments import services

    location, service, person = clinic
    visit = AppointmentFactory(location=location, service=service, practitioner=person, start=MONDAY.replace(hour=10))
    client.force_login(front_desk_user())
    url = reverse("admin:appointments_appointment_change", args=[visit.pk])
    loaded = re.search(r'name="loaded_version" value="([^"]+)"', client.get(url).content.decode()).group(1)

    # The other desk moves it to 14:00 while this one still has the 10:00 form open.
    with time_machine.travel(datetime(2026, 12, 7, 8, 5, tzinfo=LA), tick=False):
        services.save_appointment_from_front_desk(
            appointment_id=visit.pk,
            client=visit.client,
            location=location,
            service=service,
            practitioner=person,
            start=MONDAY.replace(hour=14),
            status=AppointmentStatus.BOOKED,
            source=AppointmentSource.FRONT_DESK,
        )
        form = add_form(location, service, person, visit.client, 10, notes="Prefers the window seat")
        form.update({"loaded_version": loaded, "sms_messages-TOTAL_FORMS": "0", "sms_messages-INITIAL_FORMS": "0"})
        response = client.post(url, form)

    assert response.status_code == 200 and "after you opened it" in response.content.decode()
    visit.refresh_from_db()
    assert visit.start == MONDAY.replace(hour=14) and visit.notes == ""


@pytest.mark.parametrize("loaded", [None, "", "not a time"])
def test_a_change_form_that_does_not_say_when_it_was_loaded_is_refused_as_out_of_date(client, clinic, loaded):
    location, service, person = clinic
    visit = AppointmentFactory(location=location, service=service, practitioner=person, start=MONDAY.replace(hour=10))
    client.force_login(front_desk_user())
    form = add_form(location, service, person, visit.client, 14, notes="Moved to two")
    form.update(editing(visit))
    if loaded is None:
        del form["loaded_version"]
    else:
        form["loaded_version"] = loaded
    response = client.post(reverse("admin:appointments_appointment_change", args=[visit.pk]), form)

    assert response.status_code == 200 and "This form is out of date. Reload the page." in response.content.decode()
    visit.refresh_from_db()
    assert visit.start == MONDAY.replace(hour=10) and visit.notes == ""
