"""Signed forms are medical records: kept through an erasure under a legal hold the answer names,
deleted by the retention task CLINICAL_RECORD_RETENTION_YEARS after the later of signing and the last visit."""

from datetime import timedelta

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.utils import timezone

from clinical_forms.models import FormKind, FormSubmission, SubmissionStatus
from clinical_forms.tasks import delete_clinical_records_past_retention
from privacy.erasure import fulfil_erasure_request
from privacy.requests_models import DataSubjectRequest, RequestStatus, RequestType
from privacy.subject_requests import submit_request
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.clinical_forms import form_template, submission

pytestmark = pytest.mark.django_db


def signed(client, template, at):
    return submission(
        client=client,
        template=template,
        answers={"allergies": "no"},
        status=SubmissionStatus.SIGNED,
        signer_name="Quinn Example",
        signed_at=at,
        expires_at=at + timedelta(days=365),
        document="Consent ... Signed by Quinn Example",
        document_sha256="0" * 64,
    )


def verified_erasure(client):
    dsr = submit_request(request_type=RequestType.ERASURE, email=client.email)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=RequestStatus.VERIFIED, verified_at=timezone.now())
    dsr.clients.set([client])
    return dsr


@pytest.mark.policy("health-data-retention")
def test_an_erasure_keeps_signed_forms_under_a_legal_hold_it_names_and_deletes_unsigned_ones(
    django_capture_on_commit_callbacks,
):
    person = ClientFactory(email="quinn@example.com")
    kept = signed(person, form_template(), timezone.now())
    draft = submission(client=person, template=form_template(slug="history", kind=FormKind.MEDICAL_HISTORY))
    dsr = verified_erasure(person)
    with django_capture_on_commit_callbacks(execute=True):
        fulfil_erasure_request(request_id=dsr.pk)
    assert FormSubmission.objects.filter(pk=kept.pk).exists()
    assert not FormSubmission.objects.filter(pk=draft.pk).exists()
    answer = next(m for m in mail.outbox if m.to == ["quinn@example.com"] and "deleted" in m.subject)
    assert "medical records that the law requires us to keep" in answer.body and "7 years" in answer.body
    dsr.refresh_from_db()
    assert "medical records" in dsr.outcome


def test_an_erasure_of_someone_with_no_signed_form_names_no_medical_hold(django_capture_on_commit_callbacks):
    person = ClientFactory(email="quinn@example.com")
    dsr = verified_erasure(person)
    with django_capture_on_commit_callbacks(execute=True):
        fulfil_erasure_request(request_id=dsr.pk)
    answer = next(m for m in mail.outbox if m.to == ["quinn@example.com"] and "deleted" in m.subject)
    assert "medical records" not in answer.body


@pytest.mark.policy("health-data-retention")
def test_the_retention_task_deletes_signed_forms_only_after_the_legal_period_from_the_last_visit(settings):
    settings.CLINICAL_RECORD_RETENTION_YEARS = 7
    location, service, people = bookable_clinic()
    template = form_template(services_=[service])
    now = timezone.now()
    long_ago = now - relativedelta(years=8)
    gone = signed(ClientFactory(), template, long_ago)
    still_visiting = ClientFactory()
    kept_for_visit = signed(still_visiting, template, long_ago)
    with time_machine.travel(now - relativedelta(years=3), tick=False):
        AppointmentFactory(
            client=still_visiting, location=location, service=service, practitioner=people[0], start=timezone.now()
        )
    recent = signed(ClientFactory(), template, now - relativedelta(years=6))
    assert delete_clinical_records_past_retention() == 1
    assert delete_clinical_records_past_retention() == 0  # idempotent
    remaining = set(FormSubmission.objects.values_list("pk", flat=True))
    assert gone.pk not in remaining and {kept_for_visit.pk, recent.pk} <= remaining
