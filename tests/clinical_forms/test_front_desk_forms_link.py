"""A booking the front desk makes (admin, phone, a visit of several services) sends the forms link too."""

import re

import pytest
from django.core import mail

from appointments import services as appointment_services
from appointments.models import AppointmentStatus
from clinical_forms.models import FormKind
from messaging.models import SmsMessage
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import ClientFactory
from tests.support.clinical_forms import form_template
from tests.support.front_desk import ADD_URL, add_form, front_desk_user
from tests.support.visits import at, visit_clinic

pytestmark = pytest.mark.django_db


def links():
    return [m for m in mail.outbox if m.subject.startswith("Please complete your forms")]


def test_a_phone_booking_in_the_admin_emails_the_forms_link_and_texts_it_with_consent(
    client, django_capture_on_commit_callbacks
):
    clinic = visit_clinic()
    form_template(services_=[clinic.neurotoxin])
    person = ClientFactory(
        email="phone.caller@example.com", mobile_phone="+14085550177", preferred_location=clinic.location
    )
    record_consent(
        client=person,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="Texts",
        source=ConsentSource.ADMIN,
    )
    client.force_login(front_desk_user(clinic.location))
    day = at(10)
    data = add_form(clinic.location, clinic.neurotoxin, clinic.avery, person, 10)  # source: front desk (phone)
    data["start_0"] = day.date().isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD_URL, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert [m.to for m in links()] == [["phone.caller@example.com"]]
    texts = SmsMessage.objects.filter(dedupe_key__startswith="forms-link:")
    assert [t.to_number for t in texts] == ["+14085550177"]


def test_a_front_desk_visit_links_the_forms_of_every_service_in_it(client, django_capture_on_commit_callbacks):
    clinic = visit_clinic()
    form_template(slug="facial-consent", services_=[clinic.facial])
    form_template(slug="history", kind=FormKind.MEDICAL_HISTORY, services_=[clinic.neurotoxin])
    person = ClientFactory(email="visit.caller@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        parts = appointment_services.book_visit_from_front_desk(
            client=person,
            location=clinic.location,
            service_ids=[clinic.consultation.pk, clinic.facial.pk],
            practitioner_ids=[None, None],
            start=at(10),
        )
    assert len(parts) == 2 and all(p.status == AppointmentStatus.BOOKED for p in parts)
    (link,) = links()
    path = re.search(r"http://\S+(/forms/\S+/)", link.body).group(1)
    page = client.get(path).content.decode()
    assert "Facial Consent" in page and "History" not in page  # the second part's form, not another service's
