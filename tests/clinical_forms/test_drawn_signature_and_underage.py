"""A drawn signature besides the typed name (progressive enhancement): checked server-side, kept encrypted,
covered by the document's hash and drawn in the PDF; junk is a form error, never a 500. An under-18 refusal
is shown to the front desk on the appointment and the day's list (the fact, never the date)."""

import hashlib
import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse

from appointments import status_gates
from clinic.roles import FRONT_DESK
from clinical_forms.links import forms_token
from clinical_forms.models import FormKind, FormSubmission, SubmissionStatus
from clinical_forms.pdf import signed_form_pdf
from clinical_forms.personal_data import export_clinical_forms
from clinical_forms.selectors import current_version
from clinical_forms.signature import drawing_sha256, drawing_svg, parse_drawing
from tests.support.booking import MONDAY_10, SUNDAY_EVENING
from tests.support.builders import AppointmentFactory, StaffFactory, bookable_clinic
from tests.support.clinical_forms import form_template

pytestmark = pytest.mark.django_db
DRAWING = [[[10, 20], [30.04, 40], [50, 60]], [[100, 100]]]


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


@pytest.fixture
def visit():
    location, service, people = bookable_clinic()
    consent = form_template(slug="neurotoxin-consent", services_=[service])
    history = form_template(slug="medical-history", kind=FormKind.MEDICAL_HISTORY, services_=[service])
    appointment = AppointmentFactory(location=location, service=service, practitioner=people[0], start=MONDAY_10)
    return {"appointment": appointment, "consent": consent, "history": history, "location": location}


def _fill(appointment, template):
    return reverse("clinical_forms:fill", args=[forms_token(appointment), template.slug])


def _answers(template, **overrides):
    data = {
        "version_id": current_version(template).pk,
        "date_of_birth": "1990-04-12",
        "allergies": "no",
        "skin": "Dry",
        "signer_name": "Dana Reyes",
        "sign": "1",
        **overrides,
    }
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.policy("health-data-encrypted")
def test_a_drawn_signature_is_kept_encrypted_in_the_hashed_document_and_drawn_in_the_pdf(client, visit):
    appointment, template = visit["appointment"], visit["consent"]
    response = client.post(_fill(appointment, template), _answers(template, signature_drawing=json.dumps(DRAWING)))
    assert response.status_code == 302 and "signed=1" in response["Location"]
    signed = FormSubmission.objects.get(client=appointment.client, status=SubmissionStatus.SIGNED)
    canonical = "[[[10.0,20.0],[30.0,40.0],[50.0,60.0]],[[100.0,100.0]]]"
    assert signed.signature_drawing == canonical
    assert f"SHA-256 of the drawn strokes: {drawing_sha256(canonical)}" in signed.document
    assert signed.document_sha256 == hashlib.sha256(signed.document.encode()).hexdigest()
    with connection.cursor() as cursor:  # at rest: ciphertext, not the strokes
        cursor.execute("SELECT signature_drawing FROM clinical_forms_formsubmission WHERE id = %s", [signed.pk])
        (stored,) = cursor.fetchone()
    assert "100.0" not in stored and stored.startswith("gAAAA")
    without = FormSubmission(
        version=signed.version,
        document=signed.document,
        document_sha256=signed.document_sha256,
        signed_at=signed.signed_at,
        signature_drawing="",
    )
    assert len(signed_form_pdf(signed)) > len(signed_form_pdf(without))  # the strokes are drawn
    assert b"Drawn signature:" in signed_form_pdf(signed)
    exported = export_clinical_forms([appointment.client_id])["clinical_forms"][0]
    assert exported["drawn_signature_strokes"] == [[[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]], [[100.0, 100.0]]]


def test_the_typed_name_alone_still_signs_and_the_pad_is_hidden_until_javascript_shows_it(client, visit):
    appointment, template = visit["appointment"], visit["consent"]
    page = client.get(_fill(appointment, template)).content.decode()
    assert "data-signature-pad hidden" in page and 'name="signature_drawing"' in page
    assert "vendor/signature_pad/signature_pad.umd.min.js" in page and "js/signature.js" in page
    assert client.post(_fill(appointment, template), _answers(template)).status_code == 302
    signed = FormSubmission.objects.get(status=SubmissionStatus.SIGNED)
    assert signed.signature_drawing == "" and "drawn strokes" not in signed.document


JUNK = [
    "not json",
    "{}",
    "[1, 2]",
    "[[[1]]]",
    '[[["a", "b"]]]',
    "[[[NaN, 1]]]",
    "[[[1e999, 1]]]",
    "[[[true, 1]]]",
    "[[[-1, 5]]]",
    "[[[601, 5]]]",
    "[[]]",
    "[" * 5000 + "]" * 5000,
    json.dumps([[[1, 1]] * 6000]),
    "x" * 300_000,
    "[[[1,1]]]\x00",
]


@pytest.mark.parametrize("junk", JUNK, ids=range(len(JUNK)))
def test_a_drawing_that_is_not_strokes_on_the_pad_is_a_form_error_never_a_500(client, visit, junk):
    appointment, template = visit["appointment"], visit["consent"]
    response = client.post(_fill(appointment, template), _answers(template, signature_drawing=junk))
    assert response.status_code == 200
    html = response.content.decode()
    said = "could not read the signature you drew" in html or "Null characters are not allowed" in html
    assert said and 'id="signature-draw-error"' in html and "Dana Reyes" in html  # what was typed stays
    assert not FormSubmission.objects.filter(status=SubmissionStatus.SIGNED).exists()


def test_the_server_redraws_the_svg_from_numbers_only():
    canonical = parse_drawing(json.dumps(DRAWING))
    svg = drawing_svg(canonical)
    assert svg.startswith("<svg") and 'points="10,20 30,40 50,60"' in svg and "<circle" in svg
    assert parse_drawing("  ") == ""


@pytest.mark.policy("children")
@pytest.mark.policy("health-data-access")
def test_an_under_18_refusal_is_shown_to_the_front_desk_on_the_appointment_and_the_days_list(client, visit):
    appointment, history = visit["appointment"], visit["history"]
    seventeen = (SUNDAY_EVENING.date() - timedelta(days=17 * 365)).isoformat()
    assert client.post(_fill(appointment, history), _answers(history, date_of_birth=seventeen)).status_code == 403
    notes = status_gates.day_notes([appointment])
    assert notes[appointment.pk].startswith("UNDER 18: forms refused")
    desk = StaffFactory(locations=[visit["location"]])
    desk.groups.add(Group.objects.get(name=FRONT_DESK))
    client.force_login(desk)
    page = client.get(reverse("admin:appointments_appointment_change", args=[appointment.pk])).content.decode()
    assert (
        "Under 18: the client&#x27;s forms were refused" in page or "Under 18: the client's forms were refused" in page
    )
    assert seventeen not in page
    listing = client.get(reverse("admin:appointments_appointment_changelist")).content.decode()
    assert "UNDER 18: forms refused" in listing
    # The client corrects a mistyped date and signs: the notice goes.
    client.logout()
    assert client.post(_fill(appointment, history), _answers(history)).status_code == 302
    assert "UNDER 18" not in status_gates.day_notes([appointment]).get(appointment.pk, "")
