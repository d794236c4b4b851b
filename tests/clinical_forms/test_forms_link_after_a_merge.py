"""A forms link shows only what its holder typed: never another record's half-filled health answers.

Attack (issue 18 audit, as the manage link's after a merge): someone books with a stranger's phone; the front desk,
seeing the same phone, merges the booking into the stranger's older record. The booker's forms link then opened the
forms of the stranger's record, prefilled with the stranger's draft answers.
"""

from datetime import time

import pytest
import time_machine
from django.urls import reverse

from appointments.models import Appointment
from clinic import identity
from clinical_forms.links import forms_token
from clinical_forms.models import FormKind, FormSubmission
from tests.support.booking import MONDAY_10, SUNDAY_EVENING, post_booking
from tests.support.builders import ClientFactory, StaffFactory, bookable_clinic
from tests.support.clinical_forms import form_template

pytestmark = pytest.mark.django_db

VICTIM_PHONE = "+14085550177"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


def test_after_a_merge_the_bookers_forms_link_shows_none_of_the_other_records_draft_answers(
    client, django_capture_on_commit_callbacks
):
    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    history = form_template(slug="medical-history", kind=FormKind.MEDICAL_HISTORY, services_=[service])
    victim = ClientFactory(first_name="Vera", email="victim@example.com", mobile_phone=VICTIM_PHONE)
    FormSubmission.objects.create(
        client=victim,
        version=history.versions.get(),
        answers={"allergies": "yes", "allergies__detail": "Vera-Private-Condition"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_booking(client, location, service, MONDAY_10, first_name="Mallory", mobile_phone=VICTIM_PHONE)
    appointment = Appointment.objects.get()
    link = reverse("clinical_forms:fill", args=[forms_token(appointment), history.slug])
    identity.merge_clients(
        keep_id=victim.pk, duplicate_id=appointment.client_id, staff_user=StaffFactory(is_superuser=True), reason="x"
    )
    page = client.get(link).content.decode()
    assert "Vera-Private-Condition" not in page
    # What the booker types through their link is kept apart too: the other draft is left as it was.
    client.post(link, {"version_id": history.versions.get().pk, "allergies": "no", "skin": "Dry"})
    kept = FormSubmission.objects.get(answers__isnull=False, appointment__isnull=True)
    assert kept.answers["allergies__detail"] == "Vera-Private-Condition"
