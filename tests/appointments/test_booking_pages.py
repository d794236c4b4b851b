"""Online booking through the public pages, as a client does it."""

import hashlib
import html
import re
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from appointments import services, slot_cache
from appointments.links import manage_token
from appointments.models import Appointment, AppointmentSource
from clinic.models import Client
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from privacy.notices import booking_notices
from privacy.policy import current_policy
from tests.support.booking import (
    LA,
    MONDAY_10,
    SUNDAY_EVENING,
    booking_form,
    booking_form_url,
    details_url,
    post_booking,
)
from tests.support.builders import AppointmentFactory, bookable_clinic

pytestmark = pytest.mark.django_db

NOW = SUNDAY_EVENING


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def book(client, django_capture_on_commit_callbacks):
    """POST the details form, running what the booking queues on commit (the email)."""

    def post(url, data, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, **extra)

    return post


@pytest.fixture
def clinic():
    location, service, people = bookable_clinic(hours=((time(9), time(17)),))
    return location, service, people[0]


def test_home_lists_active_locations(client, clinic):
    location, _, _ = clinic
    response = client.get("/")
    assert location.name in response.content.decode()


def test_time_page_links_free_slots_to_the_details_form(client, clinic):
    location, service, _ = clinic
    response = client.get(
        reverse("appointments:choose_time", args=[location.slug, service.slug]), {"date": "2026-12-07"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "10:00 AM" in html and details_url(location, service) in html


@pytest.mark.parametrize("chosen", ["any", "person"])
def test_a_time_link_opens_the_details_form_for_that_time_and_practitioner(client, clinic, chosen):
    location, service, person = clinic
    practitioner = "any" if chosen == "any" else str(person.pk)
    week = client.get(
        reverse("appointments:choose_time", args=[location.slug, service.slug]),
        {"date": "2026-12-07", "practitioner": practitioner},
    ).content.decode()
    link = re.search(r'<a class="slot" href="([^"]+)"><time datetime="2026-12-07T10:00:00-08:00">', week).group(1)
    details = client.get(html.unescape(link))
    assert details.status_code == 200
    page = details.content.decode()
    assert f'name="start" value="{MONDAY_10.astimezone(UTC).isoformat()}"' in page
    assert f'name="practitioner" value="{practitioner}"' in page


def test_a_booked_time_leaves_the_cached_week_at_once_and_a_cancelled_one_comes_back(
    client, book, clinic, admin_client, django_capture_on_commit_callbacks
):
    location, service, _ = clinic
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    ten = f'datetime="{MONDAY_10.isoformat()}"'
    assert ten in client.get(week_url, {"date": "2026-12-07"}).content.decode()  # now cached
    book(details_url(location, service), booking_form())
    assert ten not in client.get(week_url, {"date": "2026-12-07"}).content.decode()
    appointment = Appointment.objects.get()
    with django_capture_on_commit_callbacks(execute=True):  # a status action uses update(): no post_save
        admin_client.post(
            reverse("admin:appointments_appointment_changelist"),
            {
                "action": "mark_cancelled",
                "_selected_action": [appointment.pk],
            },
        )
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert ten in client.get(week_url, {"date": "2026-12-07"}).content.decode()


def test_a_time_the_client_cancels_through_their_link_comes_back_on_the_cached_week(
    client, book, clinic, django_capture_on_commit_callbacks
):
    location, service, _ = clinic
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    later = MONDAY_10 + timedelta(days=7)  # before the change cut-off
    book(details_url(location, service), booking_form(start=later))
    shown = f'datetime="{later.isoformat()}"'
    assert shown not in client.get(week_url, {"date": later.date().isoformat()}).content.decode()  # cached
    cancel_url = reverse("appointments:cancel", args=[manage_token(Appointment.objects.get())])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(cancel_url).status_code == 302
    assert Appointment.objects.get().status == "cancelled"
    assert shown in client.get(week_url, {"date": later.date().isoformat()}).content.decode()


def test_a_second_visitor_of_the_same_week_costs_no_database_query(client, clinic, django_assert_num_queries):
    location, service, _ = clinic
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    first = client.get(week_url, {"date": "2026-12-07", "practitioner": "any"}).content.decode()
    with django_assert_num_queries(0):
        second = client.get(week_url, {"date": "2026-12-07", "practitioner": "any"}).content.decode()
    assert second.split("<main", 1)[1] == first.split("<main", 1)[1]


def test_a_time_booked_through_another_web_process_leaves_this_ones_pages_within_a_second(
    client, clinic, monkeypatch, django_capture_on_commit_callbacks
):
    location, service, person = clinic
    seconds = [1000.0]
    monkeypatch.setattr(slot_cache, "_clock", lambda: seconds[0])
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    ten = f'datetime="{MONDAY_10.isoformat()}"'
    assert ten in client.get(week_url, {"date": "2026-12-07"}).content.decode()  # cached, here and shared
    this_process = slot_cache._copies
    monkeypatch.setattr(slot_cache, "_copies", slot_cache._ProcessCopies())  # another process, its own copies ...
    with django_capture_on_commit_callbacks(execute=True):
        AppointmentFactory(location=location, service=service, practitioner=person, start=MONDAY_10)
    monkeypatch.setattr(slot_cache, "_copies", this_process)  # ... sharing only the cache
    seconds[0] += 0.9
    assert ten in client.get(week_url, {"date": "2026-12-07"}).content.decode()  # this process's copy, for now
    seconds[0] += 0.2
    assert ten not in client.get(week_url, {"date": "2026-12-07"}).content.decode()


def test_a_booking_rebuilds_only_the_pages_showing_its_day_at_its_location(
    client, book, clinic, django_assert_num_queries, django_assert_max_num_queries
):
    location, service, _ = clinic
    elsewhere, elsewhere_service, _ = bookable_clinic()
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    elsewhere_url = reverse("appointments:choose_time", args=[elsewhere.slug, elsewhere_service.slug])
    searches = [(week_url, "2026-12-07"), (week_url, "2026-12-21"), (elsewhere_url, "2026-12-07")]
    for url, day in searches:
        client.get(url, {"date": day})  # cached
    book(details_url(location, service), booking_form())  # Monday 7 December, 10 AM
    with django_assert_max_num_queries(20) as queries:
        assert (
            f'datetime="{MONDAY_10.isoformat()}"' not in client.get(week_url, {"date": "2026-12-07"}).content.decode()
        )
    assert len(queries) > 0  # that week is rebuilt
    for url, day in searches[1:]:
        with django_assert_num_queries(0):  # a later week and another location keep their pages
            client.get(url, {"date": day})


def test_a_rescheduled_appointment_frees_its_old_time_on_the_cached_pages(
    client, book, clinic, django_capture_on_commit_callbacks
):
    location, service, _ = clinic
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    before, after = MONDAY_10 + timedelta(days=7), MONDAY_10 + timedelta(days=21)
    book(details_url(location, service), booking_form(start=before))
    for moment in (before, after):  # both weeks cached: the first without its time, the other with it free
        page = client.get(week_url, {"date": moment.date().isoformat()}).content.decode()
        assert (f'datetime="{moment.isoformat()}"' in page) is (moment == after)
    with django_capture_on_commit_callbacks(execute=True):
        services.reschedule_appointment_by_client(appointment_id=Appointment.objects.get().pk, new_start=after)
    for moment in (before, after):
        page = client.get(week_url, {"date": moment.date().isoformat()}).content.decode()
        assert (f'datetime="{moment.isoformat()}"' in page) is (moment == before)


def test_each_process_keeps_a_bounded_number_of_pages(client, clinic, monkeypatch):
    location, service, _ = clinic
    monkeypatch.setattr(slot_cache, "LOCAL_PAGES", 3)
    slot_cache.forget_process_copies()
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    for day in range(7, 14):
        assert client.get(week_url, {"date": f"2026-12-{day:02d}"}).status_code == 200
    assert len(slot_cache._copies.pages) == 3


def test_a_search_with_errors_is_answered_but_not_cached(client, clinic, django_assert_max_num_queries):
    location, service, _ = clinic
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    assert "Enter a valid date" in client.get(week_url, {"date": "not-a-date"}).content.decode()
    with django_assert_max_num_queries(11) as queries:
        client.get(week_url, {"date": "not-a-date"})
    assert len(queries) > 0  # computed again, not served from the cache


@pytest.mark.parametrize(
    "search",
    [
        {"date": " 2026-12-07"},
        {"date": "12/07/26"},
        {"date": "2031-01-01"},
        {"practitioner": "x" * 20},
        {"date": "2026-12-07", "utm_source": "ad"},
    ],
)
def test_odd_searches_are_answered_but_never_cached(client, clinic, search, django_assert_max_num_queries):
    location, service, _ = clinic
    url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    assert client.get(url, search).status_code == 200
    with django_assert_max_num_queries(20) as queries:
        client.get(url, search)
    assert len(queries) > 0  # built again: nothing was kept for it
    client.get(url, {"date": "2026-12-07"})
    with django_assert_max_num_queries(0):
        client.get(url, {"date": "2026-12-07"})  # a plain search is kept


def test_a_date_at_the_end_of_the_calendar_is_shown_the_last_bookable_week(client, clinic):
    location, service, _ = clinic
    response = client.get(
        reverse("appointments:choose_time", args=[location.slug, service.slug]), {"date": "9999-12-30"}
    )
    assert response.status_code == 200
    assert "Next week" in response.content.decode()


def test_a_cached_time_drops_out_the_moment_it_falls_inside_the_minimum_notice(client, clinic):
    location, service, _ = clinic
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    with time_machine.travel(datetime(2026, 12, 7, 7, 59, 59, tzinfo=LA), tick=False):
        assert 'datetime="2026-12-07T10:00:00-08:00"' in client.get(week_url).content.decode()
    with time_machine.travel(datetime(2026, 12, 7, 8, 0, 1, tzinfo=LA), tick=False):
        html = client.get(week_url).content.decode()
    assert 'datetime="2026-12-07T10:00:00-08:00"' not in html  # within the 120-minute notice now
    assert 'datetime="2026-12-07T10:15:00-08:00"' in html


def test_a_week_ahead_stays_cached_for_minutes_and_is_rebuilt_when_the_day_moves_on(
    client, clinic, django_assert_max_num_queries
):
    location, service, _ = clinic
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    search = {"date": "2026-12-14", "practitioner": "any"}
    with time_machine.travel(datetime(2026, 12, 6, 23, 57, tzinfo=LA), tick=False):
        client.get(week_url, search)
    with (
        time_machine.travel(datetime(2026, 12, 6, 23, 59, 59, tzinfo=LA), tick=False),
        django_assert_max_num_queries(20) as queries,
    ):
        client.get(week_url, search)
    # Time alone has not changed that week: not rebuilt (only the cookie groups, kept a minute, are read again).
    assert not [q for q in queries if "appointments_" in q["sql"]]
    with (
        time_machine.travel(datetime(2026, 12, 7, 0, 0, 1, tzinfo=LA), tick=False),
        django_assert_max_num_queries(20) as queries,
    ):
        client.get(week_url, search)
    assert [q for q in queries if "appointments_" in q["sql"]]  # a new day (and horizon): built again


def test_a_cached_week_is_rebuilt_within_ten_minutes_even_without_a_signalled_change(
    client, clinic, django_assert_max_num_queries
):
    location, service, _ = clinic
    week_url = reverse("appointments:choose_time", args=[location.slug, service.slug])
    search = {"date": "2026-12-14", "practitioner": "any"}
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=LA), tick=False):
        client.get(week_url, search)
    with (
        time_machine.travel(datetime(2026, 12, 7, 9, 10, 1, tzinfo=LA), tick=False),
        django_assert_max_num_queries(20) as queries,
    ):
        client.get(week_url, search)
    assert len(queries) > 0  # e.g. a bulk update() sends no signal: this bounds how long it can go unseen


def test_time_page_for_unknown_service_is_404(client, clinic):
    location, _, _ = clinic
    assert client.get(reverse("appointments:choose_time", args=[location.slug, "nope"])).status_code == 404


@pytest.mark.policy("collect-identifiers", "use-communication")
def test_booking_creates_appointment_client_consents_and_confirmation(client, book, clinic):
    location, service, person = clinic
    response = book(
        details_url(location, service),
        booking_form(sms_reminders="on"),
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="TestPhone/1.0",
    )
    appointment = Appointment.objects.get()
    assert response.status_code == 302 and "booked=1" in response["Location"]
    assert appointment.start == MONDAY_10 and appointment.end == MONDAY_10 + timedelta(hours=1)
    assert appointment.practitioner == person and appointment.source == AppointmentSource.ONLINE
    client_record = appointment.client
    assert client_record.email == "dana.reyes@example.com"
    assert str(client_record.mobile_phone) == "+14085550143"
    assert client_record.adult_attested_at is not None

    page = client.get(response["Location"])
    assert "You&#x27;re booked" in page.content.decode() or "You're booked" in page.content.decode()

    (email,) = mail.outbox
    assert email.to == ["dana.reyes@example.com"]
    assert "10:00 AM PST" in email.body and "/appointment/" in email.body
    (name, content, mimetype) = email.attachments[0]
    assert name == "appointment.ics" and mimetype.startswith("text/calendar")
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == MONDAY_10


@pytest.mark.policy("collect-consent-evidence")
def test_each_consent_choice_is_recorded_with_its_exact_text_and_request_details(client, clinic):
    location, service, _ = clinic
    client.post(
        details_url(location, service),
        booking_form(sms_reminders="on", email_marketing="on"),
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="TestPhone/1.0",
    )
    records = {r.purpose: r for r in ConsentRecord.objects.all()}
    assert set(records) == {"privacy_policy", "sms_reminders", "sms_marketing", "email_marketing"}
    assert records[ConsentPurpose.PRIVACY_POLICY].granted
    assert records[ConsentPurpose.SMS_REMINDERS].granted
    assert records[ConsentPurpose.EMAIL_MARKETING].granted
    assert not records[ConsentPurpose.SMS_MARKETING].granted
    for purpose, record in records.items():
        assert record.notice_text == booking_notices()[purpose]
        assert record.source == ConsentSource.BOOKING_FORM
        assert record.ip_address == "203.0.113.9" and record.user_agent == "TestPhone/1.0"
        assert record.notice_sha256 == hashlib.sha256(record.notice_text.encode()).hexdigest()
        assert record.policy_version == (current_policy() if purpose == ConsentPurpose.PRIVACY_POLICY else None)
    # Appended in the form's order, so "the latest choice" reads the same however the rows were written.
    assert [r.purpose for r in ConsentRecord.objects.order_by("id")] == list(booking_notices())


@pytest.mark.policy("sms-program")
def test_sms_opt_in_texts_carry_the_a2p_disclosures(client, clinic):
    location, service, _ = clinic
    html = client.get(
        details_url(location, service), {"start": MONDAY_10.isoformat(), "practitioner": "any"}
    ).content.decode()
    for phrase in [
        "Msg &amp; data rates may apply",
        "Reply STOP to opt out",
        "HELP for help",
        "messages per appointment",
    ]:
        assert phrase in html
    # Opt-ins are never pre-ticked.
    assert "checked" not in html


@pytest.mark.policy("children")
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("mobile_phone", "123", "valid mobile number"),
        ("mobile_phone", "+1 800 555 0199", "landline or service number"),
        ("email", "not-an-email", "valid email"),
        ("first_name", "   ", "This field is required"),
        ("is_adult", None, "18 or older"),
        ("accept_privacy_policy", None, "accept the privacy policy"),
    ],
)
def test_bad_input_rerenders_with_a_clear_error_and_keeps_what_was_typed(client, clinic, field, value, message):
    location, service, _ = clinic
    response = client.post(details_url(location, service), booking_form(**{field: value}))
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert 'value="Reyes"' in html  # what was typed is kept
    assert not Appointment.objects.exists() and not Client.objects.exists() and not ConsentRecord.objects.exists()


def test_tampered_slot_start_goes_back_to_choosing_a_time(client, clinic):
    location, service, _ = clinic
    response = client.post(details_url(location, service), booking_form(start="yesterday-ish"))
    assert response.status_code == 302 and not Appointment.objects.exists()


def test_time_not_on_offer_gets_friendly_page_with_nearest_times(client, clinic):
    location, service, person = clinic
    AppointmentFactory(location=location, service=service, practitioner=person, start=MONDAY_10)
    response = client.post(details_url(location, service), booking_form())
    html = response.content.decode()
    assert response.status_code == 409
    assert "that time was just taken" in html
    assert "11:00 AM" in html  # the next free time after the taken hour
    assert Appointment.objects.count() == 1 and not Client.objects.filter(email="dana.reyes@example.com").exists()


def test_slot_outside_working_hours_cannot_be_booked_by_editing_the_url(client, clinic):
    location, service, _ = clinic
    response = client.post(details_url(location, service), booking_form(start=MONDAY_10.replace(hour=20)))
    assert response.status_code == 409 and not Appointment.objects.exists()


def test_confirmation_email_is_sent_once_even_if_the_task_runs_again(book, clinic):
    from appointments.tasks import send_booking_confirmation_email

    location, service, _ = clinic
    book(details_url(location, service), booking_form())
    send_booking_confirmation_email.delay(Appointment.objects.get().pk)
    assert len(mail.outbox) == 1


def test_behind_a_trusted_proxy_consent_evidence_records_the_visitors_address(client, book, clinic, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    location, service, _ = clinic
    book(
        details_url(location, service),
        booking_form(sms_reminders="on"),
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert set(ConsentRecord.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


def test_a_booking_is_written_in_a_bounded_number_of_queries(client, clinic):
    # The booking POST is the dearest request of the booking mix (bench/load.py); its four consents go in
    # one insert, not a savepoint and an insert each. The bound leaves room for a query or two, not a loop.
    # (What it queues after commit, the confirmation's email and text, runs apart: not executed here.)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    location, service, _ = clinic
    with CaptureQueriesContext(connection) as queries:
        response = client.post(details_url(location, service), booking_form(sms_reminders="on"))
    assert response.status_code == 302 and ConsentRecord.objects.count() == 4
    assert len(queries) <= 25, "\n".join(q["sql"][:120] for q in queries.captured_queries)


def test_a_form_sent_back_with_errors_shows_them_and_keeps_the_answers_after_a_blank_form_was_served(client):
    """The blank form's fields come from a per-process fragment; a form with answers or errors never does."""
    location, service, _ = bookable_clinic()
    start = MONDAY_10
    assert "Please enter a valid" not in client.get(booking_form_url(location, service, start)).content.decode()
    response = post_booking(client, location, service, start, email="not-an-email", first_name="Rosa")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="Rosa"' in page and 'value="not-an-email"' in page
    assert 'id="id_email-error"' in page
