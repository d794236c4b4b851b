"""Each signed-in client sees and changes only their own data; no account page is cached or tagged."""

from datetime import timedelta

import pytest
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from clinical_forms.models import FormKind, SubmissionStatus
from payments.models import Payment
from privacy.models import ConsentActor, ConsentPurpose, ConsentRecord, ConsentSource
from privacy.services import record_consent
from tests.support.accounts import sign_in_by_code
from tests.support.builders import AppointmentFactory, ClientFactory, ServiceFactory, bookable_clinic
from tests.support.clinical_forms import form_template, submission
from tests.support.visits import at, book, visit_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_clients(run_tasks, sms_outbox):
    """Ava and Birgit, each with a future and a past visit, a consent and a payment, each signed in in a browser."""
    location, service, (practitioner,) = bookable_clinic()
    other_service = ServiceFactory(name="Birgit's Peel Treatment")
    other_service.locations.add(location)
    people = {}
    for offset, (first, last, email, phone, national, treatment) in enumerate(
        (
            ("Ava", "Lindqvist", "ava.lindqvist@example.com", "+14085550123", "(408) 555-0123", service),
            ("Birgit", "Marchetti", "birgit.marchetti@example.com", "+14085550456", "(408) 555-0456", other_service),
        )
    ):
        person = ClientFactory(first_name=first, last_name=last, email=email, mobile_phone=phone)
        future = AppointmentFactory(
            client=person,
            location=location,
            service=treatment,
            practitioner=practitioner,
            start=(timezone.now() + timedelta(days=5, hours=3 * offset)).replace(microsecond=0),
        )
        past = AppointmentFactory(
            client=person,
            location=location,
            service=treatment,
            practitioner=practitioner,
            start=(timezone.now() - timedelta(days=20, hours=3 * offset)).replace(microsecond=0),
            status=AppointmentStatus.COMPLETED,
        )
        record_consent(
            client=person,
            purpose=ConsentPurpose.SMS_REMINDERS,
            granted=True,
            notice_text=f"Text {first} reminders",
            source=ConsentSource.BOOKING_FORM,
        )
        Payment.objects.create(client=person, location=location, appointment=future, kind="deposit", amount=4321)
        # A signed consent for their own treatment (its name is one of their needles).
        consent = form_template(slug=f"consent-{offset}", name=f"{treatment.name} consent", services_=[treatment])
        signed = submission(
            client=person,
            template=consent,
            status=SubmissionStatus.SIGNED,
            signed_at=timezone.now(),
            expires_at=timezone.now() + timedelta(days=365),
            signer_name=f"{first} {last}",
            document=f"{treatment.name} consent, signed by {first} {last}",
            document_sha256="ab" * 32,
        )
        browser = Browser()
        sign_in_by_code(browser, run_tasks, sms_outbox, national)
        people[first] = {
            "client": person,
            "future": future,
            "past": past,
            "signed_form": signed,
            "browser": browser,
            "needles": [],
        }
        people[first]["needles"] = [first, last, email, phone, national, treatment.name]
    return people


def account_pages(person):
    future, past = person["future"], person["past"]
    return [
        reverse("account:home"),
        reverse("account:consents"),
        reverse("account:payments"),
        reverse("account:forms"),
        reverse("account:form_pdf", args=[person["signed_form"].pk]),
        reverse("account:data"),
        reverse("account:delete"),
        reverse("account:visit_calendar_file", args=[future.pk]),
        reverse("account:visit_calendar_file", args=[past.pk]),
    ]


@pytest.mark.policy("client-account")
def test_no_account_page_of_one_client_shows_anything_of_the_other(two_clients):
    for me, other in (("Ava", "Birgit"), ("Birgit", "Ava")):
        browser = two_clients[me]["browser"]
        for url in account_pages(two_clients[me]):
            response = browser.get(url)
            assert response.status_code == 200, url
            # A PDF's text streams are Latin-1 (clinical_forms.pdf); pages are UTF-8.
            pdf = response["Content-Type"] == "application/pdf"
            text = response.content.decode("latin-1" if pdf else "utf-8")
            assert [n for n in two_clients[other]["needles"] if n in text] == [], (me, url)
        home = browser.get(reverse("account:home")).content.decode()
        assert two_clients[me]["client"].first_name in home


@pytest.mark.policy("client-account")
def test_every_account_page_is_private_uncached_and_untagged(two_clients, client):
    ava = two_clients["Ava"]
    pages = [*account_pages(ava), reverse("account:sign_in"), reverse("account:sign_in_sent")]
    for url in pages:
        response = ava["browser"].get(url)
        cache_control = response["Cache-Control"]
        assert "private" in cache_control and "no-store" in cache_control, url
        assert "Cookie" in response["Vary"], url
        assert response["Referrer-Policy"] == "same-origin", url
        if response["Content-Type"].startswith("text/html"):
            assert "googletagmanager" not in response.content.decode(), url


@pytest.mark.policy("client-account")
def test_the_other_clients_visit_ids_are_404_for_every_visit_action(two_clients):
    ava, bo = two_clients["Ava"], two_clients["Birgit"]
    for visit in (bo["future"], bo["past"]):
        assert ava["browser"].post(reverse("account:visit_cancel", args=[visit.pk])).status_code == 404
        assert ava["browser"].get(reverse("account:visit_reschedule", args=[visit.pk])).status_code == 404
        assert ava["browser"].get(reverse("account:visit_calendar_file", args=[visit.pk])).status_code == 404
    assert ava["browser"].get(reverse("account:form_pdf", args=[bo["signed_form"].pk])).status_code == 404
    assert Appointment.objects.get(pk=bo["future"].pk).status == AppointmentStatus.BOOKED


@pytest.mark.policy("client-account")
def test_a_consent_change_touches_only_the_signed_in_clients_record(two_clients):
    ava, bo = two_clients["Ava"], two_clients["Birgit"]
    before = ConsentRecord.objects.filter(client=bo["client"]).count()
    # Whatever ids the form carries, the choice is Ava's own.
    ava["browser"].post(reverse("account:consents"), {"client": bo["client"].pk, "client_id": bo["client"].pk})
    assert ConsentRecord.objects.filter(client=bo["client"]).count() == before
    latest = ConsentRecord.objects.filter(client=ava["client"], purpose=ConsentPurpose.SMS_REMINDERS).first()
    assert latest.granted is False
    assert (latest.source, latest.actor) == (ConsentSource.ACCOUNT, ConsentActor.CLIENT)


def test_my_consents_show_the_words_agreed_and_when(two_clients):
    ava = two_clients["Ava"]
    page = ava["browser"].get(reverse("account:consents")).content.decode()
    assert "Text Ava reminders" in page and "Booking form" in page


def test_my_visits_can_be_cancelled_within_the_rules(two_clients, settings):
    ava = two_clients["Ava"]
    response = ava["browser"].post(reverse("account:visit_cancel", args=[ava["future"].pk]))
    assert response.status_code == 302
    assert Appointment.objects.get(pk=ava["future"].pk).status == AppointmentStatus.CANCELLED
    # A past visit is beyond the rules: refused with a message, nothing changed.
    response = ava["browser"].post(reverse("account:visit_cancel", args=[ava["past"].pk]))
    assert response.status_code == 409
    assert Appointment.objects.get(pk=ava["past"].pk).status == AppointmentStatus.COMPLETED


def test_reschedule_opens_the_visits_own_reschedule_page(two_clients):
    ava = two_clients["Ava"]
    response = ava["browser"].get(reverse("account:visit_reschedule", args=[ava["future"].pk]), follow=True)
    assert response.status_code == 200 and ava["future"].service.name in response.content.decode()


def test_book_again_links_the_same_service_and_practitioner(two_clients):
    ava = two_clients["Ava"]
    visit = ava["past"]
    page = ava["browser"].get(reverse("account:home")).content.decode()
    url = reverse("appointments:choose_time", args=[visit.location.slug, visit.service.slug])
    assert f"{url}?practitioner={visit.practitioner_id}" in page
    # One link per visit (her coming one and her past one), not two of the same.
    assert page.count(">Book again<") == 2


def test_the_calendar_file_is_the_visit(two_clients):
    ava = two_clients["Ava"]
    response = ava["browser"].get(reverse("account:visit_calendar_file", args=[ava["future"].pk]))
    assert response["Content-Type"].startswith("text/calendar")
    assert ava["future"].service.name in response.content.decode()


def test_signed_out_every_account_page_asks_to_sign_in(two_clients, client):
    for url in account_pages(two_clients["Ava"]):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("account:sign_in"), url
    assert client.post(reverse("account:visit_cancel", args=[two_clients["Ava"]["future"].pk])).status_code == 302


def test_my_forms_list_my_signed_forms_as_pdfs_and_the_forms_a_coming_visit_still_needs(two_clients):
    ava = two_clients["Ava"]
    page = ava["browser"].get(reverse("account:forms")).content.decode()
    assert f"{ava['future'].service.name} consent, version 1" in page
    assert reverse("account:form_pdf", args=[ava["signed_form"].pk]) in page
    assert "Nothing to complete." in page  # the visit's one form is signed
    pdf = ava["browser"].get(reverse("account:form_pdf", args=[ava["signed_form"].pk]))
    assert pdf["Content-Type"] == "application/pdf" and b"ab" * 32 in pdf.content

    # A medical history every service needs, not yet filled in: the coming visit lists it, with its link.
    history = form_template(slug="medical-history", kind=FormKind.MEDICAL_HISTORY, services_=[ava["future"].service])
    page = ava["browser"].get(reverse("account:forms")).content.decode()
    assert f"{history.name} (to do)" in page and "Complete the forms for this visit" in page


def test_cancelling_one_service_of_a_visit_from_the_account_cancels_the_whole_visit(client, run_tasks, sms_outbox):
    """As from the visit's manage link: never half a visit left holding a practitioner and a room."""
    clinic = visit_clinic()
    first, second = book(clinic, [clinic.consultation, clinic.facial], at(9))
    sign_in_by_code(client, run_tasks, sms_outbox, str(first.client.mobile_phone))
    response = client.post(reverse("account:visit_cancel", args=[second.pk]))
    assert response.status_code == 302 and "cancelled=1" in response.url
    statuses = set(Appointment.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
    assert statuses == {AppointmentStatus.CANCELLED}


# Routes that show no page of their own: a POST that acts and redirects (or re-renders a listed page), and the
# sign-in steps before a client is known. Every other account route must be in account_pages above.
ACTIONS = {
    "sign_out",
    "sign_out_everywhere",
    "visit_cancel",
    "data_code_send",
    "data_code_confirm",
    "data_download",
    "data_name",
    "data_email",
    "data_email_confirm",
    "data_phone",
    "data_phone_confirm",
    "join_record",
    "forms_health_changed",
}
SIGN_IN_STEPS = {"sign_in", "sign_in_sent", "sign_in_code", "sign_in_link"}


@pytest.mark.policy("client-account")
def test_the_two_client_checks_cover_every_account_route(two_clients):
    """A new account page fails here until account_pages (and so the two-client checks) includes it."""
    from django.urls import resolve

    from accounts.urls import urlpatterns

    covered = {resolve(url.split("?")[0]).url_name for url in account_pages(two_clients["Ava"])}
    covered |= {"visit_reschedule"}  # redirects to the visit's own manage page (test below)
    assert {p.name for p in urlpatterns} - covered - ACTIONS - SIGN_IN_STEPS == set()
    ava = two_clients["Ava"]
    for name in ACTIONS - {"visit_cancel", "join_record"}:
        assert ava["browser"].get(reverse(f"account:{name}")).status_code == 405, name
    for name in ("visit_cancel", "join_record"):
        assert ava["browser"].get(reverse(f"account:{name}", args=[1])).status_code == 405, name


@pytest.mark.policy("client-account")
def test_the_other_client_cannot_be_joined_to_an_account(two_clients):
    ava, bo = two_clients["Ava"], two_clients["Birgit"]
    assert ava["browser"].post(reverse("account:join_record", args=[bo["client"].pk])).status_code == 404
    assert Appointment.objects.get(pk=bo["future"].pk).client_id == bo["client"].pk
