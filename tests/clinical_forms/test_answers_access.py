"""Only practitioners and the privacy officer read answers, of their locations; every read is audited."""

import logging

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from clinic.roles import FRONT_DESK, PRACTITIONER, PRIVACY_OFFICER
from clinical_forms import services
from clinical_forms.models import FormKind, FormSubmission
from clinical_forms.selectors import current_version
from messaging.models import SmsMessage
from privacy.models import AuditAction, ConsentPurpose, ConsentSource, PrivacyAuditEvent
from privacy.services import record_consent
from tests.support.booking import MONDAY_10, SUNDAY_EVENING
from tests.support.builders import AppointmentFactory, ClientFactory, LocationFactory, StaffFactory, bookable_clinic
from tests.support.clinical_forms import form_template

pytestmark = pytest.mark.django_db

SECRET = "Penicillin anaphylaxis"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


@pytest.fixture
def signed(django_capture_on_commit_callbacks):
    location, service, people = bookable_clinic()
    template = form_template(services_=[service])
    form_template(slug="photos", kind=FormKind.PHOTO_CONSENT, services_=[service])
    client = ClientFactory(mobile_phone="+14085550188")
    record_consent(  # agreed to appointment texts: the link is texted too
        client=client,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="Texts",
        source=ConsentSource.BOOKING_FORM,
    )
    appointment = AppointmentFactory(
        client=client, location=location, service=service, practitioner=people[0], start=MONDAY_10
    )
    data = {
        "version_id": current_version(template).pk,
        "date_of_birth": "1990-04-12",
        "allergies": "yes",
        "allergies__detail": SECRET,
        "skin": "Dry",
        "signer_name": "Dana Reyes",
    }
    with django_capture_on_commit_callbacks(execute=True):
        services.send_forms_link(appointment_id=appointment.pk)
        submission, _ = services.save_visit_form(appointment=appointment, template=template, data=data, sign=True)
    return {"location": location, "appointment": appointment, "submission": submission}


def staff(role, locations):
    user = StaffFactory(locations=locations)
    user.groups.add(Group.objects.get(name=role))
    return user


def submission_url(submission):
    return reverse("admin:clinical_forms_formsubmission_change", args=[submission.pk])


@pytest.mark.parametrize("role", [PRACTITIONER, PRIVACY_OFFICER])
@pytest.mark.policy("health-data-access")
def test_practitioners_and_the_privacy_officer_read_answers_and_every_read_is_audited(client, signed, role):
    reader = staff(role, [signed["location"]])
    client.force_login(reader)
    page = client.get(submission_url(signed["submission"]))
    assert page.status_code == 200 and SECRET in page.content.decode()
    event = PrivacyAuditEvent.objects.get(action=AuditAction.DATA_VIEWED, actor=reader)
    assert event.client_id == signed["submission"].client_id
    assert "Clinical form answers viewed" in event.detail and f"#{signed['submission'].pk}" in event.detail
    assert SECRET not in event.detail
    listing = client.get(reverse("admin:clinical_forms_formsubmission_changelist")).content.decode()
    assert SECRET not in listing  # the list says which forms exist, never an answer


@pytest.mark.policy("health-data-access")
def test_a_practitioner_of_another_location_reads_nothing(client, signed):
    client.force_login(staff(PRACTITIONER, [LocationFactory()]))
    assert client.get(submission_url(signed["submission"])).status_code == 404
    pdf = reverse("admin:clinical_forms_formsubmission_pdf", args=[signed["submission"].pk])
    assert client.get(pdf).status_code == 404
    listing = client.get(reverse("admin:clinical_forms_formsubmission_changelist")).content.decode()
    assert "Dana" not in listing and not PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_VIEWED).exists()


@pytest.mark.policy("health-data-access")
def test_the_front_desk_sees_whether_forms_are_complete_and_never_an_answer(client, signed):
    desk = staff(FRONT_DESK, [signed["location"]])
    client.force_login(desk)
    assert client.get(submission_url(signed["submission"])).status_code == 403
    assert client.get(reverse("admin:clinical_forms_formsubmission_changelist")).status_code == 403
    appointment_page = client.get(
        reverse("admin:appointments_appointment_change", args=[signed["appointment"].pk])
    ).content.decode()
    assert "incomplete (missing: Photos)" in appointment_page  # the consent is signed, the photo consent is not
    assert SECRET not in appointment_page


def test_the_signed_pdf_shows_the_documents_hash_and_its_download_is_audited(client, signed):
    reader = staff(PRACTITIONER, [signed["location"]])
    client.force_login(reader)
    response = client.get(reverse("admin:clinical_forms_formsubmission_pdf", args=[signed["submission"].pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert signed["submission"].document_sha256.encode() in response.content
    assert PrivacyAuditEvent.objects.filter(actor=reader, detail__contains="downloaded as PDF").count() == 1


@pytest.mark.policy("health-data-access")
def test_answers_reach_no_log_email_or_text(signed, caplog, client):
    caplog.set_level(logging.DEBUG)
    client.force_login(staff(PRACTITIONER, [signed["location"]]))
    client.get(submission_url(signed["submission"]))
    assert SECRET not in caplog.text
    assert mail.outbox and all(SECRET not in m.body and "Dry" not in m.body for m in mail.outbox)
    assert SmsMessage.objects.exists() and all(SECRET not in t.body for t in SmsMessage.objects.all())
    assert FormSubmission.objects.filter(pk=signed["submission"].pk).exists()
