"""A visit of several services has one forms link (sent for its first appointment): every form the index lists
can be opened and signed from it, including those of the visit's later services."""

import pytest
from django.urls import reverse

from clinical_forms.links import forms_token
from clinical_forms.models import FormSubmission, SubmissionStatus
from clinical_forms.selectors import current_version
from tests.support.clinical_forms import form_template
from tests.support.visits import at, book, visit_clinic

pytestmark = pytest.mark.django_db


def test_the_forms_of_a_visits_later_service_open_and_sign_from_the_visits_one_link(client):
    clinic = visit_clinic()
    # Consultation first (no forms), then the neurotoxin, whose consent the visit needs.
    consent = form_template(slug="neurotoxin-consent", services_=[clinic.neurotoxin])
    parts = book(clinic, [clinic.consultation, clinic.neurotoxin], at(10))
    first = min(parts, key=lambda a: a.start) if isinstance(parts, list | tuple) else parts.appointments[0]
    token = forms_token(first)

    index = client.get(reverse("clinical_forms:index", args=[token]))
    fill_url = reverse("clinical_forms:fill", args=[token, consent.slug])
    assert fill_url in index.content.decode()  # the index offers it...

    page = client.get(fill_url)
    assert page.status_code == 200  # ...and it opens
    response = client.post(
        fill_url,
        {
            "version_id": current_version(consent).pk,
            "date_of_birth": "1990-04-12",
            "allergies": "no",
            "skin": "Dry",
            "signer_name": "Visitor0 Test",
            "sign": "1",
        },
    )
    assert response.status_code == 302
    assert FormSubmission.objects.filter(version__template=consent, status=SubmissionStatus.SIGNED).exists()
