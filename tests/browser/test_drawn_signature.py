"""On a phone, with JavaScript, a client may draw their signature besides typing their name; the page stays
accessible (axe) and the drawing reaches the signed form."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments.demo import seed_demo_data
from appointments.models import Practitioner, Service
from clinic.models import Location
from clinical_forms.demo import seed_clinical_forms_demo_data
from clinical_forms.links import forms_token
from clinical_forms.models import FormSubmission, SubmissionStatus
from clinical_forms.signature import strokes
from privacy.demo import seed_privacy_demo_data
from tests.support.accessibility import axe_violations
from tests.support.builders import AppointmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def filler_visit():
    seed_demo_data()
    seed_privacy_demo_data()
    seed_clinical_forms_demo_data()
    return AppointmentFactory(
        location=Location.objects.get(slug="milpitas"),
        service=Service.objects.get(slug="dermal-filler"),
        practitioner=Practitioner.objects.get(name="Alicia Nguyen, RN"),
        start=(timezone.now() + timedelta(days=2)).replace(microsecond=0),
        client__first_name="Dana",
        client__last_name="Reyes",
    )


@pytest.mark.policy("health-data-encrypted")
def test_a_client_draws_a_signature_besides_typing_their_name(phone_page, live_server, filler_visit):
    page = phone_page
    page.goto(f"{live_server.url}/forms/{forms_token(filler_visit)}/")
    page.get_by_role("link", name="Dermal filler treatment consent").click()
    pad = page.locator("canvas.signature-pad")
    pad.wait_for(state="visible")  # shown by the script; hidden without JavaScript
    assert axe_violations(page) == []
    page.check('input[name="previous_filler"][value="no"]')
    page.check('input[name="questions_answered"][value="yes"]')
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 30)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 15, box["y"] + 30 + (step % 3) * 12)
    page.mouse.up()
    page.get_by_label("Type your full name to sign").fill("Dana Reyes")
    page.get_by_role("button", name="Sign").click()
    page.get_by_text("Thank you, your form is signed.").wait_for()
    signed = FormSubmission.objects.get(
        client=filler_visit.client, status=SubmissionStatus.SIGNED, version__template__slug="dermal-filler-consent"
    )
    drawn = strokes(signed.signature_drawing)
    assert drawn and sum(len(s) for s in drawn) >= 5
    assert all(0 <= x <= 600 and 0 <= y <= 200 for s in drawn for x, y in s)
    assert "SHA-256 of the drawn strokes" in signed.document
