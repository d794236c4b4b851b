"""A client books, is confirmed, reminded and changes a visit of several services through the pages, as one."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from appointments.links import manage_path
from appointments.models import Appointment, AppointmentStatus, Visit
from messaging.backends import locmem
from messaging.models import MessageKind, SmsMessage
from messaging.reminders import dispatch_due_reminders
from tests.support.visits import LA, at, book, visit_clinic, visit_form, visit_url

pytestmark = pytest.mark.django_db


def test_a_client_chooses_several_services_sees_times_and_books_the_whole_visit(client):
    clinic = visit_clinic()
    chosen = [clinic.consultation, clinic.facial]
    page = client.get(visit_url(clinic.location), {"service_1": clinic.consultation.pk, "service_2": clinic.facial.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Times for Consultation then HydraFacial" in html
    details = client.get(
        visit_url(clinic.location) + "details/",
        {"services": f"{chosen[0].pk},{chosen[1].pk}", "start": at(9).isoformat()},
    )
    assert details.status_code == 200 and "Blake" in details.content.decode()
    response = client.post(
        visit_url(clinic.location) + "details/",
        {**visit_form([]), "services": f"{chosen[0].pk},{chosen[1].pk}", "start": at(9).isoformat()},
    )
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert [(a.service, a.start) for a in visit.appointments.order_by("start")] == [
        (clinic.consultation, at(9)),
        (clinic.facial, at(9, 30)),
    ]
    manage = client.get(response["Location"])
    body = manage.content.decode()
    assert "Consultation" in body and "HydraFacial" in body and "Cancel the whole visit" in body


def test_a_visit_gets_one_confirmation_email_with_the_whole_visit_in_its_calendar_file_and_one_text(
    django_capture_on_commit_callbacks,
):
    # Booked at noon in the clinic's zone: the text goes at once, whatever the hour this test runs
    # (in quiet hours it would wait, and this test is about one text per visit, not quiet hours).
    noon = datetime.combine(datetime.now(LA).date(), time(12), tzinfo=LA)
    with time_machine.travel(noon, tick=True):
        clinic = visit_clinic()
        with django_capture_on_commit_callbacks(execute=True):
            book(clinic, [clinic.consultation, clinic.neurotoxin, clinic.facial], at(9))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "Consultation + Neurotoxin + HydraFacial" in message.subject
    ((name, ics, _),) = message.attachments
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert name == "visit.ics" and ics.count("BEGIN:VEVENT") == 1
    assert "Consultation + Neurotoxin + HydraFacial" in ics.replace("\r\n ", "")
    texts = SmsMessage.objects.filter(kind=MessageKind.CONFIRMATION)
    assert texts.count() == 1
    assert "Consultation + Neurotoxin + HydraFacial" in texts.get().body
    assert len(locmem.outbox) == 1


def test_a_visit_is_reminded_once_not_once_per_service():
    clinic = visit_clinic()
    first, *_ = book(clinic, [clinic.consultation, clinic.neurotoxin, clinic.facial], at(9))
    Appointment.objects.update(created_at=first.start - timedelta(days=5))
    offset = settings.SMS_REMINDER_OFFSETS_MINUTES[0]
    for minutes in range(0, 75, 15):  # each service's own reminder time passes
        dispatch_due_reminders(now=first.start - timedelta(minutes=offset - minutes))
    reminders = SmsMessage.objects.filter(kind=MessageKind.REMINDER)
    assert [r.appointment_id for r in reminders] == [first.pk]
    assert "Consultation + Neurotoxin + HydraFacial" in reminders.get().body


def test_when_the_first_service_is_cancelled_the_next_one_carries_the_visits_reminder():
    clinic = visit_clinic()
    first, second = book(clinic, [clinic.consultation, clinic.facial], at(9))
    Appointment.objects.update(created_at=first.start - timedelta(days=5))
    Appointment.objects.filter(pk=first.pk).update(status=AppointmentStatus.CANCELLED)
    offset = settings.SMS_REMINDER_OFFSETS_MINUTES[0]
    dispatch_due_reminders(now=second.start - timedelta(minutes=offset))
    assert list(SmsMessage.objects.filter(kind=MessageKind.REMINDER).values_list("appointment_id", flat=True)) == [
        second.pk
    ]


def test_the_visits_manage_link_cancels_the_whole_visit(client):
    clinic = visit_clinic()
    first, second = book(clinic, [clinic.consultation, clinic.facial], at(9))
    response = client.post(manage_path(first).rstrip("/") + "/cancel/")
    assert response.status_code == 302
    assert set(Appointment.objects.values_list("status", flat=True)) == {AppointmentStatus.CANCELLED}


def test_the_visits_manage_link_reschedules_the_whole_visit(client):
    clinic = visit_clinic()
    first, second = book(clinic, [clinic.consultation, clinic.facial], at(9))
    path = manage_path(first).rstrip("/") + "/reschedule/"
    page = client.get(path)
    assert page.status_code == 200 and "moved together" in page.content.decode()
    response = client.post(path, {"start": at(13).isoformat()})
    assert response.status_code == 302
    assert list(Appointment.objects.order_by("start").values_list("start", flat=True)) == [at(13), at(13, 30)]


def test_the_visits_calendar_file_holds_the_whole_visit(client):
    clinic = visit_clinic()
    first, _ = book(clinic, [clinic.consultation, clinic.facial], at(9))
    response = client.get(manage_path(first).rstrip("/") + "/appointment.ics")
    ics = response.content.decode().replace("\r\n ", "")
    assert "Consultation + HydraFacial" in ics and ics.count("BEGIN:VEVENT") == 1


def test_the_visits_manage_page_offers_the_whole_visit_as_one_google_calendar_event_without_client_data(client):
    from datetime import UTC
    from urllib.parse import parse_qs, urlsplit

    clinic = visit_clinic()
    first, second = book(clinic, [clinic.consultation, clinic.facial], at(9))
    html = client.get(manage_path(first)).content.decode()
    start = html.index('href="https://calendar.google.com/calendar/render?')
    link = html[start + len('href="') : html.index('"', start + len('href="'))].replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    fmt = "%Y%m%dT%H%M%SZ"
    assert query["dates"] == [f"{first.start.astimezone(UTC):{fmt}}/{second.end.astimezone(UTC):{fmt}}"]
    assert query["text"][0].startswith("Consultation + HydraFacial at ")
    assert "Visitor0" not in link and "visitor0" not in link and "4085552000" not in link

    client.post(manage_path(first).rstrip("/") + "/cancel/")
    assert "calendar.google.com" not in client.get(manage_path(first)).content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"services": "1", "start": "x"},
        {"services": "a,b", "start": "2026-01-01T00:00:00Z"},
        {"services": "999999,999998"},
        {},
    ],
)
def test_a_malformed_visit_link_goes_back_to_choosing_services_not_a_500(client, query):
    clinic = visit_clinic()
    assert client.get(visit_url(clinic.location) + "details/", query).status_code == 302
    assert client.post(visit_url(clinic.location) + "details/", query).status_code == 302


def test_a_visit_needs_two_services_chosen(client):
    clinic = visit_clinic()
    page = client.get(visit_url(clinic.location), {"service_1": clinic.facial.pk, "service_2": ""})
    assert page.status_code == 200
    assert "Please choose at least two services" in page.content.decode()


def test_a_visit_time_taken_meanwhile_shows_the_nearest_times_and_books_nothing(client):
    clinic = visit_clinic()
    book(clinic, [clinic.neurotoxin, clinic.facial], at(9), 1, practitioner_ids=[clinic.avery.pk, None])
    ids = f"{clinic.consultation.pk},{clinic.facial.pk}"
    response = client.post(
        visit_url(clinic.location) + "details/", {**visit_form([]), "services": ids, "start": at(9).isoformat()}
    )
    assert response.status_code == 409
    assert "the nearest times the whole visit fits" in response.content.decode()
    assert Visit.objects.count() == 1


def test_visit_searches_are_rate_limited_per_address(client, settings):
    from django.core.cache import cache

    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "booking": "3/m"}
    cache.clear()
    clinic = visit_clinic()
    query = {"service_1": clinic.consultation.pk, "service_2": clinic.facial.pk}
    codes = [client.get(visit_url(clinic.location), query).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_a_client_may_ask_for_a_practitioner_per_service_and_gets_them(client):
    clinic = visit_clinic()
    query = {
        "service_1": clinic.neurotoxin.pk,
        "practitioner_1": clinic.blake.pk,
        "service_2": clinic.facial.pk,
    }
    page = client.get(visit_url(clinic.location), query)
    assert f"practitioners={clinic.blake.pk}%2Cany" in page.content.decode()
    ids = f"{clinic.neurotoxin.pk},{clinic.facial.pk}"
    response = client.post(
        visit_url(clinic.location) + "details/",
        {**visit_form([]), "services": ids, "practitioners": f"{clinic.blake.pk},any", "start": at(9).isoformat()},
    )
    assert response.status_code == 302
    assert [a.practitioner for a in Appointment.objects.order_by("start")] == [clinic.blake, clinic.blake]


@pytest.mark.parametrize("practitioners", ["1", "x,any", "any,any,any", "1;2"])
def test_a_malformed_practitioner_choice_goes_back_to_choosing_services(client, practitioners):
    clinic = visit_clinic()
    ids = f"{clinic.neurotoxin.pk},{clinic.facial.pk}"
    query = {"services": ids, "practitioners": practitioners, "start": at(9).isoformat()}
    assert client.get(visit_url(clinic.location) + "details/", query).status_code == 302


@pytest.mark.policy("use-analytics-advertising")
def test_the_visit_pages_naming_the_treatments_chosen_load_no_analytics_or_ad_tag(client, settings):
    """As a single service's booking pages: which treatments someone looks at is health-related."""
    settings.GA_MEASUREMENT_ID, settings.GTM_CONTAINER_ID, settings.META_PIXEL_ID = "G-TEST123", "GTM-TEST45", "99988"
    client.post("/privacy/cookies/", {"choice": "accept_all", "next": "/"})
    assert "G-TEST123" in client.get("/").content.decode()  # the tags do load on a public page
    clinic = visit_clinic()
    chosen = f"{clinic.consultation.pk},{clinic.facial.pk}"
    pages = [
        client.get(visit_url(clinic.location), {"service_1": clinic.consultation.pk, "service_2": clinic.facial.pk}),
        client.get(visit_url(clinic.location) + "details/", {"services": chosen, "start": at(9).isoformat()}),
    ]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200 and "HydraFacial" in html
        assert not any(tag in html for tag in ("G-TEST123", "GTM-TEST45", "99988", "googletagmanager"))


def test_a_visits_times_are_a_strip_of_days_then_the_chosen_days_times_by_part_of_the_day(client):
    import re
    from datetime import UTC

    from tests.support.visits import visit_day

    clinic = visit_clinic()
    search = {"service_1": clinic.consultation.pk, "service_2": clinic.facial.pk, "date": visit_day().isoformat()}
    page = client.get(visit_url(clinic.location), search).content.decode()
    assert page.count('<span class="weekday">') == 7
    shown = page.split('id="shown-day"', 1)[1]
    assert (
        f'datetime="{at(9).astimezone(UTC).isoformat()}"' in shown
        and "<h4>Morning</h4>" in shown
        and "<h4>Afternoon</h4>" in shown
    )
    assert (
        f'datetime="{at(9, day=visit_day(11)).astimezone(UTC).isoformat()}"' not in page
    )  # the next day's times wait for its link
    next_day = re.search(rf'<a href="\?([^"]*day={visit_day(11).isoformat()}[^"]*)"', page).group(1)
    later = client.get(visit_url(clinic.location) + "?" + next_day.replace("&amp;", "&")).content.decode()
    assert (
        f'datetime="{at(9, day=visit_day(11)).astimezone(UTC).isoformat()}"' in later
        and f'datetime="{at(9).astimezone(UTC).isoformat()}"' not in later
    )
