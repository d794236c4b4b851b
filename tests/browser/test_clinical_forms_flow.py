"""A client completes and signs a neurotoxin visit's forms from the private link, on a phone, in headless Chromium
(drawing a signature on the consent besides typing their name)."""

import re
from datetime import timedelta
from urllib.parse import urlencode, urlparse

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.demo import seed_demo_data
from appointments.models import AppointmentStatus, Practitioner, Service
from clinic.models import Location
from clinic.roles import FRONT_DESK, PRACTITIONER, sync_role_groups
from clinical_forms.demo import seed_clinical_forms_demo_data
from clinical_forms.links import forms_token
from clinical_forms.models import FormSubmission, HealthChangeReport, SubmissionStatus
from clinical_forms.signature import strokes
from privacy.demo import seed_privacy_demo_data
from tests.support.accessibility import axe_violations
from tests.support.builders import AppointmentFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def neurotoxin_visit():
    seed_demo_data()
    seed_privacy_demo_data()
    seed_clinical_forms_demo_data()
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    return AppointmentFactory(
        location=Location.objects.get(slug="milpitas"),
        service=Service.objects.get(slug="neurotoxin"),
        practitioner=Practitioner.objects.get(name="Dr. Priya Raman"),
        start=start,
        client__first_name="Dana",
        client__last_name="Reyes",
    )


def sign(page, name="Dana Reyes"):
    page.get_by_label("Type your full name to sign").fill(name)
    page.get_by_role("button", name="Sign").click()
    page.get_by_text("Thank you, your form is signed.").wait_for()


@pytest.mark.policy("health-data-access")
def test_a_client_fills_and_signs_a_neurotoxin_visits_forms_on_a_phone(phone_page, live_server, neurotoxin_visit):
    page = phone_page
    page.goto(f"{live_server.url}/forms/{forms_token(neurotoxin_visit)}/")
    page.get_by_role("heading", name="Your forms").wait_for()

    page.get_by_role("link", name="Medical history").click()
    page.get_by_label("Date of birth").fill("1990-04-12")
    for question in ("allergies", "pregnant", "neuromuscular", "cold_sores"):
        page.check(f'input[name="{question}"][value="no"]')
    page.check('input[name="prior_treatments"][value="Neurotoxin"]')
    # Half-way: save, come back, and what was typed is still there.
    page.get_by_role("button", name="Save and finish later").click()
    page.get_by_text("Saved.").wait_for()
    page.get_by_role("link", name="Medical history").click()
    assert page.get_by_label("Date of birth").input_value() == "1990-04-12"
    sign(page)

    page.get_by_role("link", name="Neurotoxin treatment consent").click()
    assert page.get_by_text("botulinum toxin type A").is_visible()
    page.check('input[name="questions_answered"][value="yes"]')
    # With JavaScript the client may also draw a signature (the typed name still signs); the page stays accessible.
    pad = page.locator("canvas.signature-pad")
    pad.wait_for(state="visible")
    assert axe_violations(page) == []
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 30)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 15, box["y"] + 30 + (step % 3) * 12)
    page.mouse.up()
    sign(page)
    consent = FormSubmission.objects.get(
        client=neurotoxin_visit.client, status=SubmissionStatus.SIGNED, version__template__slug="neurotoxin-consent"
    )
    drawn = strokes(consent.signature_drawing)
    assert drawn and sum(len(s) for s in drawn) >= 5
    assert all(0 <= x <= 600 and 0 <= y <= 200 for s in drawn for x, y in s)
    assert "SHA-256 of the drawn strokes" in consent.document

    page.get_by_role("link", name="Photo consent").click()
    page.get_by_label("Photos may be taken and kept in my clinical record").check()
    sign(page)

    page.get_by_text("All done: nothing more is needed before your visit.").wait_for()
    signed = FormSubmission.objects.filter(client=neurotoxin_visit.client, status=SubmissionStatus.SIGNED)
    assert signed.count() == 3
    photos = signed.get(version__template__slug="photo-consent")
    assert photos.answers["scope_clinical_record"] is True and photos.answers["scope_marketing"] is False
    assert all(len(s.document_sha256) == 64 and s.signed_user_agent and s.signed_ip for s in signed)

    # The practitioner records the good-faith exam from the appointment's page; then the visit is checked in.
    sync_role_groups(apps)  # a transactional test before this one may have flushed the groups a migration made
    staff = StaffFactory(locations=[neurotoxin_visit.location])
    staff.groups.add(Group.objects.get(name=PRACTITIONER), Group.objects.get(name=FRONT_DESK))
    desk = signed_in_page(page.context.browser, live_server, staff)
    desk.goto(live_server.url + reverse("admin:appointments_appointment_change", args=[neurotoxin_visit.pk]))
    desk.get_by_text("Good-faith exam: needed").wait_for()
    desk.get_by_role("link", name="Record the good-faith exam (practitioners)").click()
    desk.get_by_label("Outcome").select_option("cleared")
    desk.get_by_role("button", name="Save", exact=True).click()
    desk.get_by_text("Good-faith exam: cleared for treatment").wait_for()
    calendar = (
        reverse("admin:appointments_day_calendar")
        + "?"
        + urlencode({"location": neurotoxin_visit.location_id, "date": neurotoxin_visit.local_start.date().isoformat()})
    )
    desk.goto(live_server.url + calendar)
    desk.get_by_text("Forms complete; exam done").wait_for()
    desk.locator(f"#appointment-{neurotoxin_visit.pk}").get_by_role("button", name=re.compile("^Check in")).click()
    desk.get_by_text("Status: Checked in").wait_for()
    neurotoxin_visit.refresh_from_db()
    assert neurotoxin_visit.status == AppointmentStatus.CHECKED_IN
    desk.context.close()

    # The client tells the clinic their health changed since they signed: the history and consent are to do again.
    assert axe_violations(page) == []  # the forms list, with its "Has your health changed?" form
    page.get_by_label("What changed (optional)").fill("A new medicine")
    page.get_by_role("button", name="My health has changed").click()
    page.get_by_text("Please sign the forms marked below again").wait_for()
    assert axe_violations(page) == []
    assert HealthChangeReport.objects.get(client=neurotoxin_visit.client).note == "A new medicine"


def signed_in_page(browser, live_server, user):
    django_client = Client()
    django_client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url) else route.abort()
    )
    host = urlparse(live_server.url).hostname
    context.add_cookies(
        [{"name": "sessionid", "value": django_client.cookies["sessionid"].value, "domain": host, "path": "/"}]
    )
    return context.new_page()
