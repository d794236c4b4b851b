"""The front desk's day calendar in the admin: columns per practitioner, blocks, gaps, status changes, scoping."""

import re
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from appointments.models import AppointmentStatus, LocationClosure, TimeOff
from clinic.roles import FRONT_DESK
from tests.support.builders import (
    AppointmentFactory,
    ClientFactory,
    PractitionerFactory,
    ServiceFactory,
    StaffFactory,
    WorkingHoursFactory,
    bookable_clinic,
)

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
MONDAY = date(2026, 12, 7)
CALENDAR = reverse("admin:appointments_day_calendar")
STATUS = reverse("admin:appointments_day_calendar_status")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(datetime(2026, 12, 7, 8, 0, tzinfo=LA), tick=False):
        yield


def front_desk_user(*locations):
    user = StaffFactory(locations=list(locations) or None)
    user.groups.add(Group.objects.get(name=FRONT_DESK))
    return user


def at(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LA)


def calendar_url(location, day=MONDAY, **extra):
    return CALENDAR + "?" + urlencode({"location": location.pk, "date": day.isoformat(), **extra})


@pytest.fixture
def milpitas():
    location, service, people = bookable_clinic(practitioners=2, hours=((time(9), time(17)),))
    location.name = "Milpitas"
    location.save()
    ann, bo = people
    ann.name, bo.name = "Ann Injector", "Bo Esthetician"
    ann.save()
    bo.save()
    return location, service, ann, bo


@pytest.fixture
def glendale():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    location.name = "Glendale"
    location.save()
    person.name = "Dr Glendalia"
    person.save()
    client = ClientFactory(first_name="Glennabeth", last_name="Hiddenmoor")
    appointment = AppointmentFactory(
        client=client, location=location, service=service, practitioner=person, start=at(MONDAY, 10)
    )
    return location, appointment


def test_the_day_has_a_column_per_working_practitioner_with_blocks_placed_by_time_and_gaps(client, milpitas):
    location, service, ann, bo = milpitas
    service.name = "Neurotoxin"
    service.save()
    jane = ClientFactory(first_name="Jane", last_name="Blockley")
    appointment = AppointmentFactory(
        client=jane, location=location, service=service, practitioner=ann, start=at(MONDAY, 10)
    )
    # Not working on Mondays: no column.
    resting = PractitionerFactory(name="Ruth Resting", locations=[location], services=[service])
    WorkingHoursFactory(practitioner=resting, location=location, weekday=1)
    client.force_login(front_desk_user(location))

    response = client.get(calendar_url(location))

    assert response.status_code == 200
    html = response.content.decode()
    headings = re.findall(r'<th scope="col">([^<]+)', html[html.index('<table class="day-calendar">') :])
    assert headings == ["Time", "Ann Injector", "Bo Esthetician"]
    block = html[html.index(f'id="appointment-{appointment.pk}"') :]
    block = block[: block.index("</div>")]
    assert "Jane Blockley" in block and "Neurotoxin" in block and "Status: Booked" in block
    assert reverse("admin:appointments_appointment_change", args=[appointment.pk]) in block
    assert '<time datetime="2026-12-07T18:00:00+00:00">10:00 AM</time>' in block
    # The block sits in the 10:00 row and covers its hour (four 15-minute rows).
    row = html[html.index('<time datetime="2026-12-07T18:00:00+00:00">10:00 AM</time></th>') :]
    assert row.index('rowspan="4"') < row.index("</tr>")
    # Gaps are visible and each opens the add form pre-filled for that practitioner and time.
    add = reverse("admin:appointments_appointment_add")
    assert f"{add}?location={location.pk}&amp;practitioner={ann.pk}&amp;start=2026-12-07T09:00" in html
    assert f"{add}?location={location.pk}&amp;practitioner={bo.pk}&amp;start=2026-12-07T10:00" in html
    assert f"practitioner={ann.pk}&amp;start=2026-12-07T10:00" not in html  # taken
    assert f"practitioner={ann.pk}&amp;start=2026-12-07T11:00" in html  # free again
    assert "Ruth Resting" not in html


def test_a_gap_opens_the_add_form_with_location_practitioner_and_local_start(client, milpitas):
    location, service, ann, bo = milpitas
    client.force_login(front_desk_user(location))
    url = (
        reverse("admin:appointments_appointment_add")
        + "?"
        + urlencode({"location": location.pk, "practitioner": ann.pk, "start": "2026-12-07T11:15"})
    )

    html = client.get(url).content.decode()

    assert re.search(rf'<option value="{location.pk}" selected>', html)
    assert re.search(rf'<option value="{ann.pk}" selected>', html)
    assert 'name="start_0" value="2026-12-07"' in html and 'name="start_1" value="11:15:00"' in html
    # A start that is not a time is dropped, not a 500.
    assert client.get(reverse("admin:appointments_appointment_add") + "?start=soon").status_code == 200


def test_check_in_from_the_calendar_goes_through_the_status_service(client, milpitas):
    location, service, ann, bo = milpitas
    appointment = AppointmentFactory(location=location, service=service, practitioner=ann, start=at(MONDAY, 10))
    client.force_login(front_desk_user(location))
    html = client.get(calendar_url(location)).content.decode()
    assert 'name="status" value="checked_in"' in html and f'for="status-{appointment.pk}"' in html

    response = client.post(STATUS, {"appointment": appointment.pk, "status": AppointmentStatus.CHECKED_IN})

    assert response.status_code == 302
    assert response["Location"] == calendar_url(location) + f"#appointment-{appointment.pk}"
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    html = client.get(response["Location"]).content.decode()
    assert "Status: Checked in" in html and "checked in." in html
    # Checked in may only become completed or cancelled: the calendar offers just those.
    options = re.findall(r'<option value="(\w+)">', html[html.index(f'id="status-{appointment.pk}"') :])[:2]
    assert options == [AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED]


@pytest.mark.parametrize(
    "current,wanted",
    [(AppointmentStatus.CANCELLED, AppointmentStatus.CONFIRMED), (AppointmentStatus.COMPLETED, "checked_in")],
)
def test_an_illegal_status_change_shows_the_services_message_not_a_500(client, milpitas, current, wanted):
    location, service, ann, bo = milpitas
    appointment = AppointmentFactory(
        location=location, service=service, practitioner=ann, start=at(MONDAY, 10), status=current
    )
    client.force_login(front_desk_user(location))

    response = client.post(STATUS, {"appointment": appointment.pk, "status": wanted}, follow=True)

    assert response.status_code == 200
    assert "cannot become" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == current
    for junk in ({"appointment": appointment.pk, "status": "teleported"}, {"appointment": "x"}, {}):
        assert client.post(STATUS, junk).status_code in (302, 404)
    assert client.get(STATUS).status_code == 405


@pytest.mark.policy("security")
def test_a_milpitas_front_desk_never_sees_or_changes_glendale_through_any_parameter(client, milpitas, glendale):
    location, service, ann, bo = milpitas
    g_location, g_appointment = glendale
    g_person = g_appointment.practitioner
    # Dr Glendalia also works a day a week at Milpitas, but not on Mondays.
    g_person.locations.add(location)
    WorkingHoursFactory(practitioner=g_person, location=location, weekday=2)
    client.force_login(front_desk_user(location))

    secrets = ["Glendale", "Glennabeth", "Hiddenmoor", "Dr Glendalia"]
    default = client.get(CALENDAR).content.decode()
    assert "Milpitas" in default and not [s for s in secrets if s in default]
    for params in (
        {"location": g_location.pk},
        {"location": g_location.pk, "date": MONDAY.isoformat()},
        {"location": f"{g_location.pk} "},
        {"location": "-1"},
        {"location": "abc"},
    ):
        response = client.get(CALENDAR + "?" + urlencode(params))
        assert response.status_code == 404, params
        assert not [s for s in secrets if s in response.content.decode()]
    for params in ({"practitioner": g_person.pk}, {"show": "practitioner", "date": "2026-13-45"}, {"show": "rooms"}):
        response = client.get(calendar_url(location, **params))
        assert response.status_code == 200
        assert not [s for s in secrets if s in response.content.decode()]
    # The location choice offers only Milpitas.
    assert re.findall(r'<option value="(\d+)"', default) == [str(location.pk)]
    # A Glendale appointment's id posted to the status form: 404, unchanged.
    response = client.post(STATUS, {"appointment": g_appointment.pk, "status": AppointmentStatus.CHECKED_IN})
    assert response.status_code == 404
    g_appointment.refresh_from_db()
    assert g_appointment.status == AppointmentStatus.BOOKED


def test_a_practitioners_appointment_at_another_location_shows_as_busy_without_its_details(client, milpitas, glendale):
    location, service, ann, bo = milpitas
    g_location, g_appointment = glendale
    g_person = g_appointment.practitioner
    g_person.locations.add(location)
    WorkingHoursFactory(practitioner=g_person, location=location, weekday=MONDAY.weekday())
    client.force_login(front_desk_user(location))

    html = client.get(calendar_url(location)).content.decode()

    assert "Dr Glendalia" in html  # works at Milpitas today
    assert "Booked at another location" in html
    assert "Glennabeth" not in html and "Hiddenmoor" not in html and "Glendale" not in html
    assert f"practitioner={g_person.pk}&amp;start=2026-12-07T10:00" not in html


def test_staff_with_no_locations_get_no_calendar(client, milpitas):
    location, service, ann, bo = milpitas
    AppointmentFactory(location=location, service=service, practitioner=ann, start=at(MONDAY, 10))
    client.force_login(front_desk_user())  # "All locations": sees it
    assert "Ann Injector" in client.get(CALENDAR).content.decode()
    nobody = StaffFactory(locations=[])
    nobody.groups.add(Group.objects.get(name=FRONT_DESK))
    client.force_login(nobody)
    response = client.get(CALENDAR)
    assert response.status_code == 200
    assert "not set up for any location" in response.content.decode()
    assert "Ann Injector" not in response.content.decode()
    assert client.get(calendar_url(location)).status_code == 404


def test_prev_and_next_day_links_and_the_date_picker(client, milpitas):
    location, service, ann, bo = milpitas
    client.force_login(front_desk_user(location))
    html = client.get(calendar_url(location)).content.decode()
    assert calendar_url(location, MONDAY - timedelta(days=1)).replace("&", "&amp;") in html
    assert calendar_url(location, MONDAY + timedelta(days=1)).replace("&", "&amp;") in html
    assert re.search(r'<label for="id_date">Day:</label> <input type="date" name="date" value="2026-12-07"', html)
    assert '<label for="id_location">Location:</label>' in html


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "0001-01-02"])
def test_a_day_at_the_ends_of_the_calendar_shows_today_with_the_date_refused_not_a_500(client, milpitas, day):
    location, service, ann, bo = milpitas
    client.force_login(front_desk_user(location))
    page = client.get(CALENDAR + "?" + urlencode({"location": location.pk, "date": day}))
    assert page.status_code == 200
    assert page.context["day"] == MONDAY and page.context["form"].errors["date"]


def test_the_calendar_is_linked_from_the_admin_index_and_the_appointment_list(client, milpitas):
    location, service, ann, bo = milpitas
    client.force_login(front_desk_user(location))
    assert CALENDAR in client.get(reverse("admin:index")).content.decode()
    assert CALENDAR in client.get(reverse("admin:appointments_appointment_changelist")).content.decode()


def test_a_spring_forward_day_has_no_2_am_row_and_blocks_at_their_local_times(client):
    sunday = date(2026, 3, 8)  # clocks go from 2:00 PST to 3:00 PDT
    location, service, (person,) = bookable_clinic(hours=((time(1), time(12)),))
    early = AppointmentFactory(location=location, service=service, practitioner=person, start=at(sunday, 1, 30))
    after = AppointmentFactory(location=location, service=service, practitioner=person, start=at(sunday, 3, 30))
    nine = AppointmentFactory(location=location, service=service, practitioner=person, start=at(sunday, 9))
    client.force_login(front_desk_user(location))

    html = client.get(calendar_url(location, sunday)).content.decode()

    labels = re.findall(r'<th scope="row"><time datetime="([^"]+)">([^<]+)</time>', html)
    shown = [label for _, label in labels]
    assert shown[:6] == ["1:00 AM PST", "1:15 AM PST", "1:30 AM PST", "1:45 AM PST", "3:00 AM PDT", "3:15 AM PDT"]
    assert not [label for label in shown if label.startswith("2:")]
    assert ("2026-03-08T10:30:00+00:00", "3:30 AM PDT") in labels
    for appointment, utc in ((early, "09:30"), (after, "10:30"), (nine, "16:00")):
        block = html[html.index(f'id="appointment-{appointment.pk}"') :]
        assert f'<time datetime="2026-03-08T{utc}:00+00:00">' in block[:400]
    # 1:30 PST to 3:30 PDT is one hour: the 1:30 block covers four rows, ending where the 3:30 one is not.
    assert f"practitioner={person.pk}&amp;start=2026-03-08T03:00" not in html  # the 1:30 visit runs to 3:30 PDT
    assert f"practitioner={person.pk}&amp;start=2026-03-08T04:30" in html


def test_twenty_practitioners_and_two_hundred_appointments_take_a_constant_number_of_queries(
    client, django_assert_max_num_queries
):
    location, service, people = bookable_clinic(practitioners=20, hours=((time(8), time(18)),), duration=30)
    for i in range(200):
        person = people[i % 20]
        AppointmentFactory(
            location=location,
            service=service,
            practitioner=person,
            start=at(MONDAY, 8) + timedelta(minutes=30 * (i // 20)),
        )
    small, small_service, (one,) = bookable_clinic()
    AppointmentFactory(location=small, service=small_service, practitioner=one, start=at(MONDAY, 10))
    client.force_login(front_desk_user(location, small))
    client.get(calendar_url(small))  # session, profile: warm

    with django_assert_max_num_queries(20) as small_queries:
        assert client.get(calendar_url(small)).status_code == 200
    with django_assert_max_num_queries(len(small_queries)) as big_queries:
        response = client.get(calendar_url(location))
    assert response.status_code == 200
    assert response.content.decode().count('class="block status-booked"') == 200
    assert len(big_queries) == len(small_queries)


def test_time_off_is_a_block_and_a_closure_day_offers_no_gaps(client, milpitas):
    location, service, ann, bo = milpitas
    TimeOff.objects.create(practitioner=bo, start=at(MONDAY, 12), end=at(MONDAY, 14), reason="Dentist")
    client.force_login(front_desk_user(location))

    html = client.get(calendar_url(location)).content.decode()

    assert "Time off" in html and "Dentist" not in html
    assert f"practitioner={bo.pk}&amp;start=2026-12-07T11:45" in html
    assert f"practitioner={bo.pk}&amp;start=2026-12-07T12:00" not in html
    assert f"practitioner={bo.pk}&amp;start=2026-12-07T14:00" in html

    LocationClosure.objects.create(location=location, date=MONDAY, reason="Staff training")
    html = client.get(calendar_url(location)).content.decode()
    assert "closed on this day: Staff training" in html
    assert "start=2026-12-07T" not in html


def test_a_date_that_is_not_a_date_shows_today_with_a_message(client, milpitas):
    location, service, ann, bo = milpitas
    client.force_login(front_desk_user(location))

    response = client.get(CALENDAR + "?" + urlencode({"location": location.pk, "date": "2026-02-30"}))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a valid date." in html and "Showing today." in html
    assert "Monday 7 December 2026" in html


# --- Visits of several services ---------------------------------------------------------------------


@pytest.fixture
def visit(milpitas):
    """Ann's 10:00 then Bo's 11:00 for one client, one visit; and an unrelated 10:00 for someone else."""
    from appointments.models import Visit

    location, service, ann, bo = milpitas
    person = ClientFactory(first_name="Vera", last_name="Visitor")
    together = Visit.objects.create(location=location)
    first = AppointmentFactory(
        client=person, location=location, service=service, practitioner=ann, start=at(MONDAY, 10), visit=together
    )
    second = AppointmentFactory(
        client=person, location=location, service=service, practitioner=bo, start=at(MONDAY, 11), visit=together
    )
    other = AppointmentFactory(location=location, service=service, practitioner=bo, start=at(MONDAY, 9))
    return first, second, other


def block(html, appointment):
    start = html.index(f'id="appointment-{appointment.pk}"')
    return html[start : html.index("</div>", start)]


def test_a_visits_blocks_are_marked_as_one_visit_and_link_to_each_other(client, milpitas, visit):
    location, service, ann, bo = milpitas
    first, second, other = visit
    client.force_login(front_desk_user(location))

    html = client.get(calendar_url(location)).content.decode()

    assert "Visit: service 1 of 2" in block(html, first) and f'href="#appointment-{second.pk}"' in block(html, first)
    assert "Visit: service 2 of 2" in block(html, second) and f'href="#appointment-{first.pk}"' in block(html, second)
    assert "with Ann Injector" in block(html, second)  # the other part is in another practitioner's column
    assert "Check in the visit" in block(html, first)
    assert "Visit:" not in block(html, other) and "Check in the visit" not in block(html, other)


def test_checking_in_any_part_of_a_visit_checks_in_the_whole_visit_and_nothing_else(client, milpitas, visit):
    location, service, ann, bo = milpitas
    first, second, other = visit
    client.force_login(front_desk_user(location))

    response = client.post(STATUS, {"appointment": second.pk, "status": AppointmentStatus.CHECKED_IN}, follow=True)

    assert "the whole visit: 2 services" in response.content.decode()
    for appointment in (first, second, other):
        appointment.refresh_from_db()
    assert (first.status, second.status) == (AppointmentStatus.CHECKED_IN, AppointmentStatus.CHECKED_IN)
    assert other.status == AppointmentStatus.BOOKED


def test_completing_one_service_of_a_visit_completes_only_that_service(client, milpitas, visit):
    location, service, ann, bo = milpitas
    first, second, _ = visit
    client.force_login(front_desk_user(location))
    client.post(STATUS, {"appointment": first.pk, "status": AppointmentStatus.CHECKED_IN})

    client.post(STATUS, {"appointment": first.pk, "status": AppointmentStatus.COMPLETED})

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (AppointmentStatus.COMPLETED, AppointmentStatus.CHECKED_IN)


def test_cancelling_a_visit_from_the_calendar_cancels_its_open_services_and_frees_each_time(
    client, milpitas, visit, django_capture_on_commit_callbacks
):
    from appointments.signals import time_freed

    location, service, ann, bo = milpitas
    first, second, other = visit
    client.force_login(front_desk_user(location))
    heard = []

    def listener(sender, **freed):
        heard.append((freed["practitioner_id"], freed["start"]))

    time_freed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(STATUS, {"appointment": first.pk, "status": AppointmentStatus.CANCELLED})
    finally:
        time_freed.disconnect(listener)

    for appointment in (first, second, other):
        appointment.refresh_from_db()
    assert (first.status, second.status, other.status) == (
        AppointmentStatus.CANCELLED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.BOOKED,
    )
    assert sorted(heard) == sorted([(ann.pk, first.start), (bo.pk, second.start)])


# --- Rooms and devices ------------------------------------------------------------------------------


def test_rooms_and_devices_show_as_columns_with_their_holds_and_their_gaps_open_the_add_form(client, milpitas):
    from appointments.services import assign_resource_units
    from tests.support.builders import needs

    location, service, ann, bo = milpitas
    service.duration_minutes = 60
    service.save()
    room_one, room_two = needs(service, location, room=(2, 15))["room"][1]
    appointment = AppointmentFactory(location=location, service=service, practitioner=ann, start=at(MONDAY, 10))
    assign_resource_units(appointment=appointment)
    held = appointment.assigned_units.get().unit
    client.force_login(front_desk_user(location))

    practitioners_only = client.get(calendar_url(location)).content.decode()
    html = client.get(calendar_url(location) + "&show=practitioner&show=resource").content.decode()

    assert room_one.name not in practitioners_only
    # The next and previous days keep the choice.
    assert "&amp;show=practitioner&amp;show=resource" in html and "show=" not in practitioners_only.split("<table")[0]
    headings = re.findall(r'<th scope="col">([^<]+)', html)
    assert {room_one.name, room_two.name, "Ann Injector"} <= set(headings)
    # The held room's column has the block (to its clean-up's end); the appointment keeps one id and one form.
    assert html.count(f'id="appointment-{appointment.pk}"') == 1 and html.count(f'id="status-{appointment.pk}"') == 1
    assert html.count(f"<strong>{appointment.client}</strong>") == 2  # its practitioner's column and its room's
    assert '<time datetime="2026-12-07T19:15:00+00:00">11:15 AM</time>' in html  # 60 minutes + 15 clean-up
    assert held in (room_one, room_two)
    # A room's gap opens the add form at that time and location, the practitioner left to choose.
    gap = (
        reverse("admin:appointments_appointment_add")
        + "?"
        + urlencode({"location": location.pk, "start": "2026-12-07T09:00"}, safe=":")
    )
    assert gap.replace("&", "&amp;") in html
    form = client.get(gap).content.decode()
    assert re.search(rf'<option value="{location.pk}" selected>', form)
    assert 'name="start_0" value="2026-12-07"' in form and 'name="start_1" value="09:00:00"' in form


def test_another_locations_rooms_never_show(client, milpitas, glendale):
    from tests.support.builders import needs

    location, service, ann, bo = milpitas
    g_location, g_appointment = glendale
    (g_room,) = needs(g_appointment.service, g_location, room=(1, 0))["room"][1]
    g_room.name = "Glendale Laser Suite"
    g_room.save()
    client.force_login(front_desk_user(location))

    html = client.get(calendar_url(location) + "&show=resource").content.decode()

    assert "Glendale Laser Suite" not in html


def test_a_visit_the_clinic_cancels_is_told_to_the_client_once_naming_every_service(
    client, milpitas, visit, django_capture_on_commit_callbacks
):
    from django.core import mail

    from messaging.models import SmsMessage
    from privacy.models import ConsentPurpose, ConsentSource
    from privacy.services import record_consent

    location, service, ann, bo = milpitas
    first, second, _ = visit
    second.service = ServiceFactory(name="HydraFacial", locations=[location])
    second.save(update_fields=["service"])
    person = first.client
    person.email, person.mobile_phone = "vera@example.com", "+14085550177"
    person.save(update_fields=["email", "mobile_phone"])
    record_consent(
        client=person,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="Texts",
        source=ConsentSource.BOOKING_FORM,
    )
    client.force_login(front_desk_user(location))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(STATUS, {"appointment": second.pk, "status": AppointmentStatus.CANCELLED})

    told = [m for m in mail.outbox if m.to == ["vera@example.com"]]
    assert len(told) == 1
    assert "Your visit has been cancelled" in told[0].body
    assert service.name in told[0].body and "HydraFacial" in told[0].body
    texts = SmsMessage.objects.filter(client=person)
    assert texts.count() == 1
    assert f"{service.name} then HydraFacial" in texts.get().body
