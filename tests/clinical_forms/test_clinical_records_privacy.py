"""The client's export holds their signed forms as PDFs and their exams; exams are held and retained like forms."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from clinical_forms import services
from clinical_forms.models import CheckInOverride, ExamOutcome, GoodFaithExam, SubmissionStatus
from privacy.export import build_bundle
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.clinical_forms import form_template, submission

pytestmark = pytest.mark.django_db


def signed(client, template, when):
    return submission(
        client=client,
        template=template,
        status=SubmissionStatus.SIGNED,
        signer_name="Dana Reyes",
        signed_at=when,
        expires_at=when + timedelta(days=365),
        document="Consent ... Signed by Dana Reyes",
        document_sha256="ab" * 32,
    )


@pytest.mark.policy("health-data-retention")
def test_the_export_holds_each_signed_form_as_its_pdf_and_the_clients_exams_but_not_anothers():
    location, service, people = bookable_clinic()
    template = form_template(services_=[service])
    dana, other = ClientFactory(), ClientFactory()
    form = signed(dana, template, timezone.now())
    signed(other, template, timezone.now())
    visit = AppointmentFactory(
        client=dana,
        location=location,
        service=service,
        practitioner=people[0],
        start=timezone.now() + timedelta(days=1),
    )
    services.record_good_faith_exam(
        appointment_id=visit.pk, examiner=None, outcome=ExamOutcome.CLEARED, notes="No contraindication"
    )

    bundle = zipfile.ZipFile(io.BytesIO(build_bundle(client_ids=[dana.pk])))

    pdfs = [name for name in bundle.namelist() if name.startswith("signed-forms/")]
    assert pdfs == [f"signed-forms/{template.slug}-v1-{form.pk}.pdf"]
    content = bundle.read(pdfs[0])
    assert content.startswith(b"%PDF") and form.document_sha256.encode() in content
    data = json.loads(bundle.read("data.json"))["categories"]
    assert [exam["notes"] for exam in data["good_faith_exams"]] == ["No contraindication"]


@pytest.mark.policy("health-data-retention")
def test_exams_and_overrides_stay_through_an_erasure_and_go_with_the_forms_after_the_legal_period(settings):
    from privacy import registry

    location, service, people = bookable_clinic()
    client = ClientFactory()
    long_ago = timezone.now() - relativedelta(years=settings.CLINICAL_RECORD_RETENTION_YEARS, days=10)
    visit = AppointmentFactory(
        client=client, location=location, service=service, practitioner=people[0], start=long_ago
    )
    services.record_good_faith_exam(appointment_id=visit.pk, examiner=None, outcome="cleared", now=long_ago)
    services.record_check_in_override(appointment_id=visit.pk, user=None, reason="Paper forms", now=long_ago)
    recent = AppointmentFactory(
        client=ClientFactory(), location=location, service=service, practitioner=people[0], start=timezone.now()
    )
    services.record_good_faith_exam(appointment_id=recent.pk, examiner=None, outcome="cleared")

    registry.erase_subject([client.pk])
    assert GoodFaithExam.objects.filter(client=client).exists()
    assert "good-faith exams" in services.legal_hold_sentence([client.pk])

    assert services.delete_records_past_retention() == 2
    assert not GoodFaithExam.objects.filter(client=client).exists() and not CheckInOverride.objects.exists()
    assert GoodFaithExam.objects.filter(appointment=recent).exists()
