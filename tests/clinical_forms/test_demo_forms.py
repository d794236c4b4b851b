"""The demo's clinical forms: every injectable has its own published treatment consent and needs the exam."""

import pytest

from clinical_forms.demo import seed_clinical_forms_demo_data
from clinical_forms.models import FieldKind, FormKind, FormTemplate
from clinical_forms.selectors import current_version
from tests.support.builders import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("service_slug", ["neurotoxin", "dermal-filler"])
def test_each_injectable_has_a_published_treatment_consent_that_needs_the_good_faith_exam(service_slug):
    service = ServiceFactory(slug=service_slug)
    seed_clinical_forms_demo_data()
    seed_clinical_forms_demo_data()  # running it again changes nothing
    consent = FormTemplate.objects.get(services=service, kind=FormKind.TREATMENT_CONSENT)
    assert consent.needs_good_faith_exam
    version = current_version(consent)
    assert version.number == 1 and version.is_published
    assert version.fields.filter(kind=FieldKind.CONSENT_TEXT).exists()
    assert FormTemplate.objects.filter(services=service, kind=FormKind.MEDICAL_HISTORY).exists()
    assert FormTemplate.objects.filter(slug="dermal-filler-consent").count() == 1
