"""Links reach only the person they were made for: not after the front desk changes an appointment's client.

Attack (issue 18 and 17 audit): the front desk books a visit for the wrong client (A), whose confirmation carries
the manage and forms links, then corrects the appointment to the right client (B). A's links kept their key, so
they now opened B's appointment: B's half-filled health answers on the forms page (prefilled), B's payments on the
manage page, and the power to cancel B's visit.
"""

import pytest
import time_machine
from django.urls import reverse

from appointments import services
from appointments.links import manage_token
from appointments.models import Appointment
from clinical_forms.links import forms_token
from clinical_forms.models import FormSubmission
from tests.support.booking import MONDAY_10, SUNDAY_EVENING
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.clinical_forms import form_template

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


@pytest.fixture
def corrected(django_capture_on_commit_callbacks):
    location, service, people = bookable_clinic()
    consent = form_template(slug="neurotoxin-consent", services_=[service])
    wrong = ClientFactory(first_name="Wrongly", last_name="Booked", email="wrong@example.com")
    right = ClientFactory(first_name="Rightful", last_name="Client", email="right@example.com")
    # The right client had started the consent: a draft with a health answer.
    FormSubmission.objects.create(
        client=right,
        version=consent.versions.get(),
        answers={"allergies": "yes", "allergies__detail": "Penicillin-Secret"},
    )
    appointment = AppointmentFactory(location=location, service=service, practitioner=people[0], start=MONDAY_10)
    appointment.client = wrong
    appointment.confirmation_emailed_at = SUNDAY_EVENING  # the wrong client was sent the links
    appointment.save()
    links = {
        "manage": reverse("appointments:manage", args=[manage_token(appointment)]),
        "forms": reverse("clinical_forms:fill", args=[forms_token(appointment), consent.slug]),
        "forms index": reverse("clinical_forms:index", args=[forms_token(appointment)]),
    }
    appointment.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.save_appointment_from_front_desk(
            appointment_id=appointment.pk,
            client=right,
            location=appointment.location,
            service=appointment.service,
            practitioner=appointment.practitioner,
            start=appointment.start,
            status=appointment.status,
            source=appointment.source,
            expected_updated_at=appointment.updated_at,
        )
    return Appointment.objects.get(pk=appointment.pk), links


@pytest.mark.parametrize("link", ["manage", "forms", "forms index"])
def test_the_old_clients_links_no_longer_open_the_appointment_once_staff_change_its_client(client, corrected, link):
    appointment, links = corrected
    response = client.get(links[link])
    page = response.content.decode()
    assert "Penicillin-Secret" not in page and "Rightful" not in page
    assert response.status_code == 404


def test_links_made_for_the_new_client_work(client, corrected):
    appointment, _ = corrected
    assert client.get(reverse("appointments:manage", args=[manage_token(appointment)])).status_code == 200
    assert client.get(reverse("clinical_forms:index", args=[forms_token(appointment)])).status_code == 200


def test_the_new_client_is_sent_the_confirmation_with_their_own_link(corrected, mailoutbox):
    appointment, links = corrected
    sent = [m for m in mailoutbox if "right@example.com" in m.to]
    assert len(sent) == 1
    assert manage_token(appointment) in sent[0].body and links["manage"] not in sent[0].body
