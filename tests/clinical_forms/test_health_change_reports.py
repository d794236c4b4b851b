"""Completed forms are reused until they expire or the client reports a change in their health.

The report ("my health has changed since I signed") comes from the client on their forms link or
signed-in account page, or from the front desk in the admin. It is a record of its own, appended
only (signed forms never change); from then on the client's signed medical history and treatment
consents signed before it are not reused: the next visit needs fresh ones. A photo consent is kept.
"""

import json
from datetime import timedelta

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from appointments import services as appointment_services
from appointments.models import AppointmentStatus
from clinic.roles import FRONT_DESK, PRACTITIONER, PRIVACY_OFFICER
from clinical_forms import services
from clinical_forms.links import forms_token
from clinical_forms.models import (
    ClinicalRecordError,
    FormKind,
    FormSubmission,
    HealthChangeReport,
    ReportedVia,
    SubmissionStatus,
)
from clinical_forms.selectors import check_in_problems, signed_form, visit_forms_complete
from privacy.models import AuditAction, PrivacyAuditEvent
from tests.support.booking import MONDAY_10, SUNDAY_EVENING
from tests.support.builders import AppointmentFactory, ClientFactory, StaffFactory, bookable_clinic
from tests.support.clinical_forms import form_template, submission
from tests.support.spanish import SPANISH, assert_no_english, visible_text

pytestmark = pytest.mark.django_db

NOTE = "Started isotretinoin last month"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


@pytest.fixture
def clinic():
    location, service, people = bookable_clinic()
    history = form_template(slug="medical-history", kind=FormKind.MEDICAL_HISTORY, services_=[service])
    consent = form_template(slug="neurotoxin-consent", services_=[service])
    photos = form_template(slug="photo-consent", kind=FormKind.PHOTO_CONSENT, services_=[service])
    visit = AppointmentFactory(location=location, service=service, practitioner=people[0], start=MONDAY_10)
    return {
        "location": location,
        "service": service,
        "visit": visit,
        "client": visit.client,
        "templates": {"history": history, "consent": consent, "photos": photos},
    }


def sign(client_record, template, when=None):
    when = when or timezone.now() - timedelta(days=30)
    return submission(
        client=client_record,
        template=template,
        answers={"allergies": "no"},
        status=SubmissionStatus.SIGNED,
        signer_name="Dana Reyes",
        signed_at=when,
        expires_at=when + timedelta(days=365),
        document="Medical history ... Signed by Dana Reyes",
        document_sha256="ab" * 32,
    )


def sign_all(clinic):
    return {name: sign(clinic["client"], template) for name, template in clinic["templates"].items()}


def staff(role, *locations):
    user = StaffFactory(locations=list(locations))
    user.groups.add(Group.objects.get(name=role))
    return user


def forms_page(client, visit):
    return client.get(reverse("clinical_forms:index", args=[forms_token(visit)])).content.decode()


def report_on_link(client, visit, note=""):
    return client.post(reverse("clinical_forms:health_changed", args=[forms_token(visit)]), {"note": note})


# --- The rule: the reuse selector ignores forms signed before the latest report --------------------------------


@pytest.mark.policy("health-data-access")
def test_signed_history_and_consent_are_not_reused_after_the_client_reports_a_change_but_photo_consent_is(clinic):
    forms = sign_all(clinic)
    client_record, templates, visit = clinic["client"], clinic["templates"], clinic["visit"]
    assert visit_forms_complete(visit)

    services.report_health_change(client_id=client_record.pk, via=ReportedVia.FORMS_LINK, note=NOTE)

    assert signed_form(client_id=client_record.pk, template=templates["history"]) is None
    assert signed_form(client_id=client_record.pk, template=templates["consent"]) is None
    assert signed_form(client_id=client_record.pk, template=templates["photos"]) == forms["photos"]
    assert not visit_forms_complete(visit)
    # The signed forms themselves are untouched medical records.
    for form in forms.values():
        stored = FormSubmission.objects.get(pk=form.pk)
        assert (stored.status, stored.document_sha256, stored.signed_at) == (
            SubmissionStatus.SIGNED,
            "ab" * 32,
            form.signed_at,
        )


def test_a_form_signed_after_the_report_is_reused_again(clinic):
    sign_all(clinic)
    client_record, history = clinic["client"], clinic["templates"]["history"]
    services.report_health_change(client_id=client_record.pk, via=ReportedVia.ACCOUNT)
    with time_machine.travel(SUNDAY_EVENING + timedelta(minutes=5), tick=False):
        fresh = sign(client_record, history, when=timezone.now())
        assert signed_form(client_id=client_record.pk, template=history) == fresh
        # The consent signed before the report is still not reused; only the fresh history is.
        assert services_to_sign_again(client_record) == ["Medical History"]


def services_to_sign_again(client_record):
    from clinical_forms.selectors import health_forms_to_sign_again

    return health_forms_to_sign_again(client_record.pk)


def test_the_check_in_gate_asks_for_fresh_forms_after_a_report(clinic):
    sign_all(clinic)
    visit = clinic["visit"]
    assert check_in_problems(appointment=visit, status=AppointmentStatus.CHECKED_IN) == []
    services.report_health_change(client_id=visit.client_id, via=ReportedVia.FRONT_DESK)
    problems = check_in_problems(appointment=visit, status=AppointmentStatus.CHECKED_IN)
    assert "The client has not signed Medical History, Neurotoxin Consent." in problems
    with pytest.raises(appointment_services.AppointmentStatusError):
        appointment_services.change_appointment_status(appointment_id=visit.pk, status=AppointmentStatus.CHECKED_IN)


def test_another_clients_report_changes_nothing(clinic):
    sign_all(clinic)
    services.report_health_change(client_id=ClientFactory().pk, via=ReportedVia.FRONT_DESK)
    assert visit_forms_complete(clinic["visit"])


# --- The client, on the forms link -------------------------------------------------------------------------------


def test_the_client_reports_a_change_on_the_forms_link_and_the_forms_are_to_do_again(client, clinic):
    sign_all(clinic)
    visit = clinic["visit"]
    page = forms_page(client, visit)
    assert "Has your health changed since you signed?" in page and 'for="health-note"' in page

    response = report_on_link(client, visit, NOTE)

    assert response.status_code == 302 and response["Location"].endswith("?health_changed=1")
    report = HealthChangeReport.objects.get()
    assert (report.client_id, report.appointment_id, report.via, report.note) == (
        visit.client_id,
        visit.pk,
        ReportedVia.FORMS_LINK,
        NOTE,
    )
    page = client.get(response["Location"]).content.decode()
    assert "Please sign the forms marked below again" in page
    assert "Medical History</a>: to do" in page and "Neurotoxin Consent</a>: to do" in page
    assert "Photo Consent: complete" in page
    assert "Has your health changed" not in page  # nothing signed is reused any more
    event = PrivacyAuditEvent.objects.get(action=AuditAction.DATA_CORRECTED, client_id=visit.client_id)
    assert "Health change reported" in event.detail and NOTE not in event.detail


@pytest.mark.policy("health-data-encrypted")
def test_the_note_is_encrypted_at_rest(clinic):
    report = services.report_health_change(client_id=clinic["client"].pk, via=ReportedVia.FORMS_LINK, note=NOTE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT note FROM {HealthChangeReport._meta.db_table} WHERE id = %s", [report.pk])
        (raw,) = cursor.fetchone()
    assert raw and "isotretinoin" not in raw


def test_a_note_too_long_is_refused_with_a_message_and_what_was_typed_kept(client, clinic):
    sign_all(clinic)
    long_note = "x" * (services.HEALTH_NOTE_MAX_LENGTH + 1)
    response = report_on_link(client, clinic["visit"], long_note)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Please keep the note under 2000 characters." in page and long_note in page
    assert not HealthChangeReport.objects.exists() and visit_forms_complete(clinic["visit"])


def test_a_tampered_or_expired_link_records_nothing(client, clinic):
    sign_all(clinic)
    token = forms_token(clinic["visit"])
    assert client.post(reverse("clinical_forms:health_changed", args=[token[:-2] + "xx"])).status_code == 404
    with time_machine.travel(MONDAY_10 + timedelta(days=1), tick=False):
        assert client.post(reverse("clinical_forms:health_changed", args=[token])).status_code == 410
    assert client.get(reverse("clinical_forms:health_changed", args=[token])).status_code == 405
    assert not HealthChangeReport.objects.exists()


def test_the_forms_link_offers_the_report_in_spanish(client, clinic):
    sign_all(clinic)
    page = client.get(reverse("clinical_forms:index", args=[forms_token(clinic["visit"])]), **SPANISH)
    text = visible_text(page)
    assert "¿Ha cambiado su salud desde que firmó?" in text and "Mi salud ha cambiado" in text
    assert "Qué cambió (opcional)" in text
    assert_no_english(page, "Has your health changed", "My health has changed", "What changed")


# --- The signed-in client, on their account's forms page ----------------------------------------------------------


def test_the_signed_in_client_reports_a_change_on_my_forms(client, clinic, run_tasks, sms_outbox):
    from tests.support.accounts import sign_in_by_code

    client_record = clinic["client"]
    client_record.mobile_phone = "+14085550123"
    client_record.save()
    sign_all(clinic)
    sign_in_by_code(client, run_tasks, sms_outbox, "(408) 555-0123")
    page = client.get(reverse("account:forms")).content.decode()
    assert "Has your health changed since you signed?" in page and "Nothing to complete." in page

    response = client.post(reverse("account:forms_health_changed"), {"note": NOTE})

    assert response.status_code == 302
    report = HealthChangeReport.objects.get()
    assert (report.client_id, report.via, report.note, report.appointment_id) == (
        client_record.pk,
        ReportedVia.ACCOUNT,
        NOTE,
        None,
    )
    page = client.get(response["Location"]).content.decode()
    assert "Medical History (to do)" in page and "Complete the forms for this visit" in page


# --- The front desk, in the admin -------------------------------------------------------------------------------


@pytest.mark.policy("health-data-access")
def test_the_front_desk_records_a_report_from_the_client_page_and_never_reads_its_note(client, clinic):
    sign_all(clinic)
    client_record, location = clinic["client"], clinic["location"]
    desk = staff(FRONT_DESK, location)
    client.force_login(desk)
    client_page = reverse("admin:clinic_client_change", args=[client_record.pk])
    add_url = reverse("admin:clinical_forms_healthchangereport_add") + f"?client={client_record.pk}"
    assert add_url.replace("&", "&amp;") in client.get(client_page).content.decode()

    response = client.post(add_url, {"client": client_record.pk, "note": NOTE})

    assert response.status_code == 302 and response["Location"] == client_page
    report = HealthChangeReport.objects.get()
    assert (report.via, report.reported_by, report.note) == (ReportedVia.FRONT_DESK, desk, NOTE)
    assert not visit_forms_complete(clinic["visit"])
    listed = client.get(client_page).content.decode()
    assert "Health changes reported since signing" in listed and "recorded by" in listed and NOTE not in listed
    shown = client.get(reverse("admin:clinical_forms_healthchangereport_change", args=[report.pk]))
    assert shown.status_code == 200 and NOTE not in shown.content.decode()
    visit_page = client.get(reverse("admin:appointments_appointment_change", args=[clinic["visit"].pk]))
    assert "Health change reported" in visit_page.content.decode()
    assert not PrivacyAuditEvent.objects.filter(
        action=AuditAction.DATA_VIEWED, detail__contains="Health change"
    ).exists()

    # A practitioner of the location reads the note; the read is audited.
    practitioner = staff(PRACTITIONER, location)
    client.force_login(practitioner)
    shown = client.get(reverse("admin:clinical_forms_healthchangereport_change", args=[report.pk]))
    assert NOTE in shown.content.decode()
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_VIEWED, actor=practitioner).count() == 1


def test_the_front_desk_of_another_location_records_nothing_for_this_client(client, clinic):
    from tests.support.builders import LocationFactory

    client.force_login(staff(FRONT_DESK, LocationFactory()))
    response = client.post(
        reverse("admin:clinical_forms_healthchangereport_add"), {"client": clinic["client"].pk, "note": ""}
    )
    assert response.status_code == 200 and not HealthChangeReport.objects.exists()


def test_the_submission_page_links_to_recording_a_report(client, clinic):
    forms = sign_all(clinic)
    client.force_login(staff(PRACTITIONER, clinic["location"]))
    page = client.get(reverse("admin:clinical_forms_formsubmission_change", args=[forms["history"].pk]))
    assert f"?client={clinic['client'].pk}" in page.content.decode()


@pytest.mark.policy("health-data-access")
@pytest.mark.parametrize(("role", "may_record"), [(FRONT_DESK, True), (PRACTITIONER, True), (PRIVACY_OFFICER, False)])
def test_the_link_to_record_a_report_is_shown_only_to_those_who_may_record_one(client, clinic, role, may_record):
    """The privacy officer reads reports and answers (each read audited) but does not take the client's word for
    a change: that is the front desk's or a practitioner's. They see no link that would answer 403."""
    forms = sign_all(clinic)
    client_record = clinic["client"]
    client.force_login(staff(role, clinic["location"]))
    add_url = reverse("admin:clinical_forms_healthchangereport_add") + f"?client={client_record.pk}"
    client_page = client.get(reverse("admin:clinic_client_change", args=[client_record.pk])).content.decode()
    assert "Health changes reported since signing" in client_page
    assert (add_url.replace("&", "&amp;") in client_page) is may_record
    if role != FRONT_DESK:  # the front desk never opens answers
        form_page = client.get(reverse("admin:clinical_forms_formsubmission_change", args=[forms["history"].pk]))
        assert form_page.status_code == 200
        assert (add_url in form_page.content.decode()) is may_record
    assert client.get(add_url).status_code == (200 if may_record else 403)


# --- A medical record: appended only, exported, held, retained --------------------------------------------------


def test_a_report_is_appended_never_changed_or_deleted(clinic):
    report = services.report_health_change(client_id=clinic["client"].pk, via=ReportedVia.FRONT_DESK, note=NOTE)
    with pytest.raises(ClinicalRecordError):
        report.save()
    with pytest.raises(ClinicalRecordError):
        report.delete()
    with pytest.raises(ClinicalRecordError):
        HealthChangeReport.objects.all().delete()
    with pytest.raises(ClinicalRecordError):
        HealthChangeReport.objects.update(via=ReportedVia.ACCOUNT)


@pytest.mark.policy("health-data-retention")
def test_reports_are_exported_held_through_an_erasure_and_deleted_after_the_legal_period(settings, clinic):
    from privacy import registry
    from privacy.export import build_bundle

    client_record = clinic["client"]
    long_ago = timezone.now() - relativedelta(years=settings.CLINICAL_RECORD_RETENTION_YEARS, days=10)
    services.report_health_change(client_id=client_record.pk, via=ReportedVia.FRONT_DESK, note=NOTE, now=long_ago)
    other = services.report_health_change(client_id=ClientFactory().pk, via=ReportedVia.ACCOUNT)

    import io
    import zipfile

    bundle = zipfile.ZipFile(io.BytesIO(build_bundle(client_ids=[client_record.pk])))
    exported = json.loads(bundle.read("data.json"))["categories"]["health_change_reports"]
    assert [(r["note"], r["reported"]) for r in exported] == [(NOTE, "Staff, on the client's behalf")]

    registry.erase_subject([client_record.pk])
    assert HealthChangeReport.objects.filter(client=client_record).exists()
    assert "reported changes of health" in services.legal_hold_sentence([client_record.pk])

    clinic["visit"].delete()  # no recent visit keeps the record any longer
    assert services.delete_records_past_retention() == 1
    assert list(HealthChangeReport.objects.all()) == [other]


# --- Never in logs, emails, SMS or the staff's CSV -------------------------------------------------------------


@pytest.mark.policy("health-data-access")
def test_answers_exam_notes_and_health_notes_reach_no_log_email_text_or_staff_csv(
    client, clinic, caplog, admin_client, django_capture_on_commit_callbacks
):
    """Issue 18: health data is "never in logs, emails, SMS, exports to staff CSVs": here through the client's
    report, an erasure whose answer names the medical records kept, and the privacy request register (CSV)."""
    import csv
    import io
    import logging

    from django.core import mail

    from messaging.models import SmsMessage
    from privacy.erasure import fulfil_erasure_request
    from privacy.requests_models import DataSubjectRequest, RequestStatus, RequestType
    from privacy.subject_requests import submit_request

    caplog.set_level(logging.DEBUG)
    secret_answer, exam_note = "Secret-allergy-Zq81", "Exam-note-Zq82"
    client_record, visit = clinic["client"], clinic["visit"]
    client_record.email = "dana.reyes@example.com"
    client_record.save()
    submission(
        client=client_record,
        template=clinic["templates"]["history"],
        answers={"allergies": "yes", "allergies__detail": secret_answer},
        status=SubmissionStatus.SIGNED,
        signer_name="Dana Reyes",
        signed_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=365),
        document=f"Medical history ... {secret_answer}",
        document_sha256="ab" * 32,
    )
    services.record_good_faith_exam(appointment_id=visit.pk, examiner=None, outcome="cleared", notes=exam_note)
    with django_capture_on_commit_callbacks(execute=True):
        assert report_on_link(client, visit, NOTE).status_code == 302
    dsr = submit_request(request_type=RequestType.ERASURE, email=client_record.email)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=RequestStatus.VERIFIED, verified_at=timezone.now())
    dsr.clients.set([client_record])
    with django_capture_on_commit_callbacks(execute=True):
        fulfil_erasure_request(request_id=dsr.pk)
    register = admin_client.post(
        reverse("admin:privacy_datasubjectrequest_changelist"),
        {"action": "export_register_csv", "_selected_action": [dsr.pk]},
    )
    cells = [cell for row in csv.reader(io.StringIO(register.content.decode())) for cell in row]

    assert any("reported changes of health" in cell for cell in cells)  # the CSV holds the outcome: it would show
    assert mail.outbox and any("medical records" in m.body for m in mail.outbox)
    for secret in (secret_answer, exam_note, NOTE):
        assert secret not in caplog.text
        assert all(secret not in m.body and secret not in m.subject for m in mail.outbox)
        assert all(secret not in text.body for text in SmsMessage.objects.all())
        assert all(secret not in cell for cell in cells)


@pytest.mark.parametrize("note", ["\x00 nul byte", "é" * 1999, "<script>alert(1)</script>", "   "])
def test_odd_notes_get_a_clear_answer_never_a_500(client, clinic, note):
    sign_all(clinic)
    response = report_on_link(client, clinic["visit"], note)
    assert response.status_code == 302
    report = HealthChangeReport.objects.get()
    assert report.note == (note.strip() or "")  # kept as typed (encrypted), blank stored as nothing
    page = client.get(response["Location"]).content.decode()
    assert "<script>alert(1)</script>" not in page


@pytest.mark.policy("health-data-access")
def test_no_page_that_shows_answers_or_a_health_note_loads_an_analytics_or_ad_tag(client, clinic, settings):
    """The staff's pages of answers, exams and health-change notes, and the client's account forms page, carry no
    tag even when the browser accepted them (the public pages do)."""
    settings.GA_MEASUREMENT_ID, settings.GTM_CONTAINER_ID, settings.META_PIXEL_ID = "G-TEST123", "GTM-T45", "99988"
    forms = sign_all(clinic)
    report = services.report_health_change(client_id=clinic["client"].pk, via=ReportedVia.FORMS_LINK, note=NOTE)
    client.post("/privacy/cookies/", {"choice": "accept_all", "next": "/"})
    assert "G-TEST123" in client.get("/").content.decode()  # accepted: the public pages carry them
    client.force_login(staff(PRACTITIONER, clinic["location"]))
    for url in (
        reverse("admin:clinical_forms_formsubmission_change", args=[forms["history"].pk]),
        reverse("admin:clinical_forms_healthchangereport_change", args=[report.pk]),
        reverse("admin:clinic_client_change", args=[clinic["client"].pk]),
        reverse("admin:appointments_appointment_change", args=[clinic["visit"].pk]),
        reverse("clinical_forms:index", args=[forms_token(clinic["visit"])]),
    ):
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert "G-TEST123" not in html and "GTM-T45" not in html and "99988" not in html, url
