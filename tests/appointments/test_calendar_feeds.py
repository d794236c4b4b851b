"""Practitioners' private calendar feeds, and the client's calendar links on the manage page."""

from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import reverse
from icalendar import Calendar

from appointments import services
from appointments.feeds import SALT, feed_token, feed_url
from appointments.links import manage_path, manage_token
from appointments.models import AppointmentStatus, Practitioner
from clinic.roles import CLINIC_MANAGER, FRONT_DESK
from tests.support.builders import AppointmentFactory, ClientFactory, LocationFactory, StaffFactory, bookable_clinic

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=LA)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic():
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    location.name = "Milpitas"
    location.address = "1 Main St\nMilpitas, CA 95035"
    location.save()
    service.name = "HydraFacial"
    service.save()
    return location, service, person


@pytest.fixture
def everything_client():
    return ClientFactory(
        first_name="Marisol",
        last_name="Quintanilla-Farnsworth",
        email="marisol.qf@example.com",
        mobile_phone="+14085550199",
    )


def feed_path(practitioner):
    return reverse("appointments:practitioner_feed", args=[feed_token(practitioner)])


def events(response):
    return [c for c in Calendar.from_ical(response.content).walk("VEVENT")]


@pytest.mark.policy("security")
def test_the_feed_names_the_client_by_first_name_and_service_only(client, clinic, everything_client):
    location, service, person = clinic
    AppointmentFactory(
        client=everything_client,
        location=location,
        service=service,
        practitioner=person,
        start=NOW.replace(hour=10),
        notes="Allergic to lidocaine; prefers the quiet room",
    )

    response = client.get(feed_path(person))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    (event,) = events(response)
    assert str(event["summary"]) == "Marisol: HydraFacial"
    assert str(event["location"]) == "Milpitas"
    for private in (
        "Quintanilla",
        "Farnsworth",
        "marisol.qf@example.com",
        "example.com",
        "4085550199",
        "555-0199",
        "lidocaine",
        "quiet room",
    ):
        assert private not in body, private
    assert manage_token(everything_client.appointments.get()) not in body


def test_feed_times_are_utc_and_uids_stay_the_same_when_a_visit_moves(client, clinic, everything_client):
    location, service, person = clinic
    appointment = AppointmentFactory(
        client=everything_client, location=location, service=service, practitioner=person, start=NOW.replace(hour=10)
    )
    (before,) = events(client.get(feed_path(person)))
    assert before.to_ical().decode().count("DTSTART:20261207T180000Z") == 1
    assert "DTEND:20261207T190000Z" in before.to_ical().decode()

    services.save_appointment_from_front_desk(
        appointment_id=appointment.pk,
        client=everything_client,
        location=location,
        service=service,
        practitioner=person,
        start=NOW.replace(hour=13),
        status=AppointmentStatus.CONFIRMED,
        source=appointment.source,
        notes="",
        override_working_hours=False,
    )
    (after,) = events(client.get(feed_path(person)))

    assert str(after["uid"]) == str(before["uid"])
    assert "DTSTART:20261207T210000Z" in after.to_ical().decode()


def test_a_cancelled_visit_stays_in_the_feed_marked_cancelled(client, clinic):
    location, service, person = clinic
    appointment = AppointmentFactory(
        location=location, service=service, practitioner=person, start=NOW.replace(hour=10)
    )
    services.change_appointment_status(appointment_id=appointment.pk, status=AppointmentStatus.CANCELLED)

    (event,) = events(client.get(feed_path(person)))

    assert str(event["status"]) == "CANCELLED"


def test_the_feed_holds_the_last_30_days_and_what_is_ahead_of_this_practitioner_only(client, clinic):
    location, service, person = clinic
    _, _, (other,) = bookable_clinic()
    other.locations.add(location)
    recent = AppointmentFactory(
        location=location, service=service, practitioner=person, start=NOW.replace(hour=10) - timedelta(days=29)
    )
    AppointmentFactory(
        location=location, service=service, practitioner=person, start=NOW.replace(hour=10) - timedelta(days=31)
    )
    ahead = AppointmentFactory(
        location=location, service=service, practitioner=person, start=NOW.replace(hour=10) + timedelta(days=90)
    )
    AppointmentFactory(location=location, service=service, practitioner=other, start=NOW.replace(hour=11))

    uids = {str(e["uid"]).split("@")[0] for e in events(client.get(feed_path(person)))}

    assert uids == {f"practitioner-feed-{recent.pk}", f"practitioner-feed-{ahead.pk}"}


def test_the_feed_is_private_short_lived_and_carries_no_tags(client, clinic, settings):
    location, service, person = clinic
    settings.GA_MEASUREMENT_ID = "G-TEST123"
    client.cookies["cookie_consent"] = "analytics=*:marketing=*:preferences=*"

    response = client.get(feed_path(person))

    assert response["Referrer-Policy"] == "same-origin"
    directives = dict(part.split("=") if "=" in part else (part, "") for part in response["Cache-Control"].split(", "))
    assert "private" in directives and 0 < int(directives["max-age"]) <= 300
    body = response.content.decode()
    assert "googletagmanager" not in body and "<script" not in body
    assert "google-analytics" not in response.get("Content-Security-Policy", "")


def test_a_tampered_or_unknown_feed_token_is_a_404(client, clinic):
    location, service, person = clinic
    token = feed_token(person)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense", "x:y:z", token + "x"):
        assert client.get(reverse("appointments:practitioner_feed", args=[bad])).status_code == 404
    person.is_active = False
    person.save()
    assert client.get(reverse("appointments:practitioner_feed", args=[token])).status_code == 404


@pytest.mark.policy("security")
def test_a_new_feed_link_from_the_admin_kills_the_old_one(client, clinic):
    location, service, person = clinic
    old = feed_path(person)
    assert client.get(old).status_code == 200
    manager = StaffFactory(locations=[location])
    manager.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    client.force_login(manager)
    change_page = client.get(reverse("admin:appointments_practitioner_change", args=[person.pk])).content.decode()
    assert feed_url(person) in change_page

    response = client.post(
        reverse("admin:appointments_practitioner_changelist"),
        {"action": "rotate_feed_links", "_selected_action": [person.pk]},
        follow=True,
    )

    assert "new calendar feed link" in response.content.decode()
    # The front desk (view only) is told where the link is, not shown it.
    desk = StaffFactory(locations=[location])
    desk.groups.add(Group.objects.get(name=FRONT_DESK))
    client.force_login(desk)
    desk_page = client.get(reverse("admin:appointments_practitioner_change", args=[person.pk])).content.decode()
    assert "a clinic manager can see and renew it" in desk_page
    assert "/feed.ics" not in desk_page
    client.logout()
    assert client.get(old).status_code == 404
    assert client.get(feed_path(Practitioner.objects.get(pk=person.pk))).status_code == 200


@pytest.mark.policy("security")
def test_a_manager_of_one_location_cannot_see_copy_or_renew_the_feed_of_a_practitioner_who_also_works_elsewhere(
    client, clinic
):
    location, service, person = clinic
    glendale = LocationFactory(name="Glendale")
    person.locations.add(glendale)
    key = person.feed_key
    milpitas_manager = StaffFactory(locations=[location])
    milpitas_manager.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    client.force_login(milpitas_manager)
    page = client.get(reverse("admin:appointments_practitioner_change", args=[person.pk])).content.decode()
    assert "/feed.ics" not in page and "a manager of all of them can see and renew it" in page
    response = client.post(
        reverse("admin:appointments_practitioner_changelist"),
        {"action": "rotate_feed_links", "_selected_action": [person.pk]},
        follow=True,
    )
    assert "their feed also shows locations you do not manage" in response.content.decode()
    assert Practitioner.objects.get(pk=person.pk).feed_key == key
    # Working only at Milpitas now, but the feed still shows a Glendale visit of last week: still no link.
    person.locations.remove(glendale)
    AppointmentFactory(practitioner=person, location=glendale, service=service, start=NOW - timedelta(days=7))
    page = client.get(reverse("admin:appointments_practitioner_change", args=[person.pk])).content.decode()
    assert "/feed.ics" not in page
    # A manager of both locations sees it.
    both = StaffFactory(locations=[location, glendale])
    both.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    client.force_login(both)
    page = client.get(reverse("admin:appointments_practitioner_change", args=[person.pk])).content.decode()
    assert feed_url(person) in page


def test_the_feed_is_rate_limited_per_feed(client, clinic, settings):
    location, service, person = clinic
    _, _, (other,) = bookable_clinic()
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "calendar_feed": "3/m"}
    cache.clear()
    try:
        codes = [client.get(feed_path(person)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert client.get(feed_path(other)).status_code == 200  # another practitioner's feed, same address
    finally:
        cache.clear()


def test_the_manage_page_offers_an_ics_file_and_a_google_calendar_link_with_no_client_data(
    client, clinic, everything_client
):
    location, service, person = clinic
    appointment = AppointmentFactory(
        client=everything_client, location=location, service=service, practitioner=person, start=NOW.replace(hour=10)
    )

    response = client.get(manage_path(appointment))

    html = response.content.decode()
    start = html.index('href="https://calendar.google.com/calendar/render?')
    link = html[start + len('href="') : html.index('"', start + len('href="'))].replace("&amp;", "&")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "calendar.google.com", "/calendar/render")
    query = parse_qs(parts.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["dates"] == ["20261207T180000Z/20261207T190000Z"]
    assert query["text"] == ["HydraFacial at California Aesthetics Milpitas"]
    assert query["location"] == ["1 Main St, Milpitas, CA 95035"]
    for private in ("Marisol", "Quintanilla", "marisol", "4085550199", manage_token(appointment)):
        assert private not in link
    assert set(query) == {"action", "text", "dates", "location", "ctz"}

    ics = client.get(reverse("appointments:calendar_file", args=[manage_token(appointment)]))
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")
    assert "DTSTART:20261207T180000Z" in ics.content.decode()
    assert client.get(reverse("appointments:calendar_file", args=["nonsense"])).status_code == 404


# --- Attacks: a client's first name cannot add lines or properties to the practitioner feed ---


@pytest.mark.policy("security")
@pytest.mark.parametrize(
    "first_name",
    [
        "Ana\r\nDESCRIPTION:Quintanilla +14085550199\r\nATTENDEE:mailto:ana@example.com",
        "Ana\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:Quintanilla",
        "Ana;DESCRIPTION=Quintanilla,\\n",
    ],
    ids=["crlf-properties", "lf-new-event", "semicolon-comma-backslash"],
)
def test_a_first_name_with_newlines_or_separators_stays_inside_the_summary(client, clinic, first_name):
    location, service, person = clinic
    AppointmentFactory(
        client=ClientFactory(first_name=first_name, last_name="Quintanilla"),
        location=location,
        service=service,
        practitioner=person,
        start=NOW.replace(hour=10),
    )
    response = client.get(feed_path(person))
    assert response.status_code == 200
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    # The name stays one escaped text value (a CR is dropped: TEXT values carry line breaks as \n).
    assert str(event["summary"]) == f"{first_name}: HydraFacial".replace("\r", "")
    assert "DESCRIPTION" not in event and "ATTENDEE" not in event
    lines = response.content.decode().replace("\r\n ", "").split("\r\n")  # unfold, then one property a line
    assert not any(line.startswith(("DESCRIPTION", "ATTENDEE", "SUMMARY:Quintanilla")) for line in lines)


@pytest.mark.parametrize("payload", [["1" * 30, "key"], {"a": 1}, "text", None, [1, 2, 3], [1e300, "k"]])
def test_a_validly_signed_token_with_odd_contents_is_a_404_not_a_500(client, clinic, payload):
    from django.core import signing

    token = signing.dumps(payload, salt=SALT, compress=False)
    assert client.get(reverse("appointments:practitioner_feed", args=[token])).status_code == 404
