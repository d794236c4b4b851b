"""The client completes a visit's forms from a private link, on a phone, without an account."""

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from clinical_forms import services
from clinical_forms.links import forms_token
from clinical_forms.models import FormKind, FormSubmission, SignedFormError, SubmissionStatus
from clinical_forms.selectors import current_version
from messaging.models import SmsMessage
from tests.support.booking import MONDAY_10, SUNDAY_EVENING, post_booking
from tests.support.builders import AppointmentFactory, bookable_clinic
from tests.support.clinical_forms import CONSENT_WORDING, form_template

pytestmark = pytest.mark.django_db

PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


@pytest.fixture
def visit():
    location, service, people = bookable_clinic()
    location.email = "milpitas@clinic.example"
    location.save()
    consent = form_template(slug="neurotoxin-consent", services_=[service])
    history = form_template(slug="medical-history", kind=FormKind.MEDICAL_HISTORY, services_=[service])
    appointment = AppointmentFactory(location=location, service=service, practitioner=people[0], start=MONDAY_10)
    return {"appointment": appointment, "consent": consent, "history": history, "service": service}


def fill_url(appointment, template):
    return reverse("clinical_forms:fill", args=[forms_token(appointment), template.slug])


def good_answers(template, **overrides):
    data = {
        "version_id": current_version(template).pk,
        "date_of_birth": "1990-04-12",
        "allergies": "yes",
        "allergies__detail": "Penicillin",
        "skin": "Dry",
        "signer_name": "Dana Reyes",
        "sign": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_booking_emails_a_private_forms_link_and_texts_it_only_with_consent_to_appointment_texts(
    client, django_capture_on_commit_callbacks
):
    location, service, _ = bookable_clinic()
    form_template(services_=[service])
    with django_capture_on_commit_callbacks(execute=True):
        post_booking(client, location, service, MONDAY_10, email="no.texts@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        post_booking(
            client,
            location,
            service,
            MONDAY_10 + timedelta(hours=2),
            email="texts@example.com",
            mobile_phone="+14085550188",
            sms_reminders="on",
        )
    links = [m for m in mail.outbox if m.subject.startswith("Please complete your forms")]
    assert sorted(m.to[0] for m in links) == ["no.texts@example.com", "texts@example.com"]
    path = re.search(r"http://\S+(/forms/\S+/)", links[0].body).group(1)
    page = client.get(path, HTTP_USER_AGENT=PHONE_UA)
    assert page.status_code == 200 and "Neurotoxin Consent" in page.content.decode()
    texts = SmsMessage.objects.filter(dedupe_key__startswith="forms-link:")
    assert [t.to_number for t in texts] == ["+14085550188"]
    assert "/forms/" in texts[0].body


def test_the_link_goes_once_and_not_at_all_when_every_form_is_done_or_none_is_needed(
    visit, django_capture_on_commit_callbacks
):
    appointment = visit["appointment"]
    with django_capture_on_commit_callbacks(execute=True):
        first = services.send_forms_link(appointment_id=appointment.pk)
        again = services.send_forms_link(appointment_id=appointment.pk)
    assert first["emailed"] and not again["emailed"]
    assert len([m for m in mail.outbox if m.subject.startswith("Please complete")]) == 1
    other = AppointmentFactory(
        location=appointment.location,
        service=bookable_clinic()[1],  # a service that needs no form
        practitioner=appointment.practitioner,
        start=MONDAY_10 + timedelta(days=1),
    )
    assert services.send_forms_link(appointment_id=other.pk) == {"emailed": False, "texted": False}


def test_a_tampered_link_gets_a_clear_page_and_an_expired_or_cancelled_visits_link_too(client, visit):
    appointment = visit["appointment"]
    token = forms_token(appointment)
    tampered = client.get(reverse("clinical_forms:index", args=[token[:-3] + "abc"]))
    assert tampered.status_code == 404 and "This link does not work" in tampered.content.decode()
    with time_machine.travel(appointment.end + timedelta(minutes=1), tick=False):
        expired = client.get(reverse("clinical_forms:index", args=[token]))
    assert expired.status_code == 410 and "This link has expired" in expired.content.decode()
    unknown_form = client.get(reverse("clinical_forms:fill", args=[token, "no-such-form"]))
    assert unknown_form.status_code == 404


def test_a_half_filled_form_keeps_what_was_typed(client, visit):
    appointment, template = visit["appointment"], visit["consent"]
    url = fill_url(appointment, template)
    response = client.post(url, {"version_id": current_version(template).pk, "skin": "Oily", "save": "1"})
    assert response.status_code == 302 and "saved=1" in response["Location"]
    page = client.get(url).content.decode()
    assert re.search(r'value="Oily"[^>]*checked', page)
    # Signing with answers missing: the errors are shown and what was typed is kept.
    response = client.post(url, good_answers(template, date_of_birth=None, allergies__detail=""))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please check the form" in html and "Please tell us more" in html
    assert 'value="Dana Reyes"' in html
    draft = FormSubmission.objects.get(client=appointment.client)
    assert draft.status == SubmissionStatus.IN_PROGRESS and draft.answers["skin"] == "Dry"


@pytest.mark.policy("health-data-encrypted")
def test_signing_keeps_signer_time_ip_agent_and_the_hash_of_the_exact_document_and_it_never_changes(client, visit):
    appointment, template = visit["appointment"], visit["consent"]
    response = client.post(
        fill_url(appointment, template), good_answers(template), HTTP_USER_AGENT=PHONE_UA, REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 302 and "signed=1" in response["Location"]
    signed = FormSubmission.objects.get(client=appointment.client)
    assert signed.status == SubmissionStatus.SIGNED and signed.signer_name == "Dana Reyes"
    assert signed.signed_at == SUNDAY_EVENING and signed.signed_ip == "203.0.113.9"
    assert signed.signed_user_agent == PHONE_UA
    assert signed.expires_at == SUNDAY_EVENING + timedelta(days=template.valid_days)
    assert CONSENT_WORDING in signed.document and "Penicillin" in signed.document and "Dana Reyes" in signed.document
    assert signed.document_sha256 == hashlib.sha256(signed.document.encode()).hexdigest()
    signed.signer_name = "Someone Else"
    with pytest.raises(SignedFormError):
        signed.save()
    with pytest.raises(SignedFormError):
        signed.delete()
    index = client.get(reverse("clinical_forms:index", args=[forms_token(appointment)])).content.decode()
    assert "Neurotoxin Consent: complete" in index


def test_a_form_changed_while_being_filled_is_shown_again_in_its_new_version_and_not_saved_on_the_old(client, visit):
    appointment, template = visit["appointment"], visit["consent"]
    old = current_version(template)
    draft = services.start_new_version(template_id=template.pk)
    draft.fields.filter(key="skin").update(label="Skin type (new wording)")
    services.publish_version(version_id=draft.pk)
    response = client.post(fill_url(appointment, template), good_answers(template, version_id=old.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "updated while you were filling it in" in html and "Skin type (new wording)" in html
    assert f'name="version_id" value="{draft.pk}"' in html
    assert "Penicillin" in html  # what was typed is offered again
    assert not FormSubmission.objects.filter(version=old).exists()
    assert not FormSubmission.objects.filter(status=SubmissionStatus.SIGNED).exists()


def test_a_date_of_birth_under_18_is_refused_with_a_clear_message_and_the_clinic_is_told(
    client, visit, django_capture_on_commit_callbacks
):
    appointment, template = visit["appointment"], visit["history"]
    seventeen = (SUNDAY_EVENING.date() - timedelta(days=17 * 365)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(fill_url(appointment, template), good_answers(template, date_of_birth=seventeen))
    assert response.status_code == 403
    assert "only clients aged 18 or over" in response.content.decode()
    assert not FormSubmission.objects.filter(status=SubmissionStatus.SIGNED).exists()
    staff_mail = [m for m in mail.outbox if m.to == ["milpitas@clinic.example"]]
    assert len(staff_mail) == 1 and "under 18" in staff_mail[0].subject
    assert seventeen not in staff_mail[0].body and "Penicillin" not in staff_mail[0].body


def test_a_signed_form_is_reused_for_later_visits_until_it_expires(client, visit):
    appointment, template = visit["appointment"], visit["history"]
    client.post(fill_url(appointment, template), good_answers(template))
    later = AppointmentFactory(
        client=appointment.client,
        location=appointment.location,
        service=appointment.service,
        practitioner=appointment.practitioner,
        start=MONDAY_10 + timedelta(days=30),
    )
    index = reverse("clinical_forms:index", args=[forms_token(later)])
    assert "Medical History: complete" in client.get(index).content.decode()
    with time_machine.travel(SUNDAY_EVENING + timedelta(days=template.valid_days + 1), tick=False):
        much_later = AppointmentFactory(
            client=appointment.client,
            location=appointment.location,
            service=appointment.service,
            practitioner=appointment.practitioner,
            start=MONDAY_10 + timedelta(days=template.valid_days + 10),
        )
        html = client.get(reverse("clinical_forms:index", args=[forms_token(much_later)])).content.decode()
    assert "Medical History</a>: to do" in html


@pytest.mark.parametrize(
    "odd",
    [
        {"version_id": "not-a-number"},
        {"date_of_birth": "31/31/1990"},
        {"skin": "Not an option"},
        {"allergies": "maybe"},
        {"signer_name": "x" * 5000},
        {"allergies__detail": "y" * 50000},
    ],
)
def test_odd_input_gets_a_clear_answer_never_a_500(client, visit, odd):
    appointment, template = visit["appointment"], visit["consent"]
    response = client.post(fill_url(appointment, template), good_answers(template, **odd))
    assert response.status_code == 200
    assert not FormSubmission.objects.filter(status=SubmissionStatus.SIGNED).exists()


@pytest.mark.policy("health-data-access")
def test_the_forms_pages_load_no_analytics_or_ad_tag_even_when_the_visitor_accepted_them(client, visit, settings):
    settings.GA_MEASUREMENT_ID, settings.GTM_CONTAINER_ID, settings.META_PIXEL_ID = "G-TEST123", "GTM-T45", "99988"
    client.post("/privacy/cookies/", {"choice": "accept_all", "next": "/"})
    assert "G-TEST123" in client.get("/").content.decode()  # accepted: the public pages carry them
    appointment = visit["appointment"]
    for url in (
        reverse("clinical_forms:index", args=[forms_token(appointment)]),
        fill_url(appointment, visit["consent"]),
    ):
        html = client.get(url).content.decode()
        assert "G-TEST123" not in html and "GTM-T45" not in html and "99988" not in html


def test_one_reminder_goes_within_48_hours_of_a_visit_whose_forms_are_missing(
    client, visit, django_capture_on_commit_callbacks
):
    appointment = visit["appointment"]  # Monday 10:00, 16 hours away
    later = AppointmentFactory(
        location=appointment.location,
        service=appointment.service,
        practitioner=appointment.practitioner,
        start=MONDAY_10 + timedelta(days=3),  # outside the 48 hours
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_due_form_reminders() == 1
        assert services.send_due_form_reminders() == 0  # once
    reminders = [m for m in mail.outbox if m.subject.startswith("Reminder: Please complete your forms")]
    assert [m.to for m in reminders] == [[appointment.client.email]]
    assert later.client.email not in {m.to[0] for m in mail.outbox}
    # A visit whose forms are all signed gets no reminder.
    done = AppointmentFactory(
        location=appointment.location,
        service=appointment.service,
        practitioner=appointment.practitioner,
        start=MONDAY_10 + timedelta(hours=3),
    )
    for template in (visit["consent"], visit["history"]):
        client.post(fill_url(done, template), good_answers(template))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_due_form_reminders() == 0


@pytest.mark.policy("health-data-access")
def test_forms_pages_under_the_private_link_are_never_cached(client, visit):
    """The list and the form (with the draft's health answers) are private: no shared or back-forward cache."""
    appointment, history = visit["appointment"], visit["history"]
    client.post(fill_url(appointment, history), good_answers(history, sign=None, allergies__detail="Latex"))
    for url in (reverse("clinical_forms:index", args=[forms_token(appointment)]), fill_url(appointment, history)):
        response = client.get(url)
        assert response.status_code == 200, url
        cache_control = response.get("Cache-Control", "")
        assert "private" in cache_control and "no-store" in cache_control, url
    assert "Latex" in response.content.decode()  # the fill page shows what was typed: it must not be stored
