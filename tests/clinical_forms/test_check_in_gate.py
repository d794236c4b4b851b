"""A treatment appointment is checked in or completed only with its signed forms and a good-faith exam,
unless a practitioner or manager records an override with a reason; the front desk sees the state, never an answer."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from appointments import services as appointment_services
from appointments.models import AppointmentStatus
from clinic.roles import CLINIC_MANAGER, FRONT_DESK, PRACTITIONER, PRIVACY_OFFICER
from clinical_forms import services
from clinical_forms.models import (
    CheckInOverride,
    ClinicalRecordError,
    ExamOutcome,
    FormKind,
    GoodFaithExam,
    SubmissionStatus,
)
from privacy.models import AuditAction, PrivacyAuditEvent
from tests.support.booking import MONDAY_10, SUNDAY_EVENING
from tests.support.builders import (
    AppointmentFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    StaffFactory,
    bookable_clinic,
)
from tests.support.clinical_forms import form_template, submission
from tests.support.front_desk import editing

pytestmark = pytest.mark.django_db

S = AppointmentStatus
NOTE = "Asymmetric brow, discussed dosing"
CALENDAR = reverse("admin:appointments_day_calendar")
STATUS = reverse("admin:appointments_day_calendar_status")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING + timedelta(hours=15), tick=False):  # Monday 9:00
        yield


@pytest.fixture
def treatment():
    location, service, people = bookable_clinic()
    consent = form_template(slug="neurotoxin-consent", services_=[service], needs_good_faith_exam=True)
    history = form_template(slug="medical-history", kind=FormKind.MEDICAL_HISTORY, services_=[service])
    appointment = AppointmentFactory(location=location, service=service, practitioner=people[0], start=MONDAY_10)
    return {"location": location, "appointment": appointment, "templates": [consent, history], "people": people}


def sign(client, template):
    from django.utils import timezone

    now = timezone.now()
    return submission(
        client=client,
        template=template,
        status=SubmissionStatus.SIGNED,
        signer_name="Dana Reyes",
        signed_at=now,
        expires_at=now + timedelta(days=365),
        document="signed",
        document_sha256="0" * 64,
    )


def staff(role, locations):
    user = StaffFactory(locations=locations)
    user.groups.add(Group.objects.get(name=role))
    return user


def status_of(appointment):
    appointment.refresh_from_db()
    return appointment.status


@pytest.mark.parametrize("target", [S.CHECKED_IN, S.COMPLETED])
def test_a_treatment_is_not_checked_in_or_completed_without_its_signed_forms_and_exam(treatment, target):
    appointment = treatment["appointment"]
    with pytest.raises(appointment_services.AppointmentStatusError, match="has not signed Medical History"):
        appointment_services.change_appointment_status(appointment_id=appointment.pk, status=target)
    assert appointment_services.change_status(appointment_ids=[appointment.pk], status=target) == (0, 1)
    for template in treatment["templates"]:
        sign(appointment.client, template)
    with pytest.raises(appointment_services.AppointmentStatusError, match="No good-faith exam"):
        appointment_services.change_appointment_status(appointment_id=appointment.pk, status=target)
    assert status_of(appointment) == S.BOOKED
    services.record_good_faith_exam(
        appointment_id=appointment.pk, examiner=None, outcome=ExamOutcome.NOT_CLEARED, notes=NOTE
    )
    with pytest.raises(appointment_services.AppointmentStatusError, match="did not clear"):
        appointment_services.change_appointment_status(appointment_id=appointment.pk, status=target)
    # A later exam supersedes the first (which stays, unchanged).
    services.record_good_faith_exam(appointment_id=appointment.pk, examiner=None, outcome=ExamOutcome.CLEARED)
    assert appointment_services.change_status(appointment_ids=[appointment.pk], status=target) == (1, 0)
    assert status_of(appointment) == target
    assert GoodFaithExam.objects.filter(appointment=appointment).count() == 2


def test_the_gate_holds_on_the_calendar_and_the_front_desk_edit_form_too(client, treatment):
    appointment = treatment["appointment"]
    client.force_login(staff(FRONT_DESK, [treatment["location"]]))
    page = client.post(STATUS, {"appointment": appointment.pk, "status": S.CHECKED_IN}, follow=True)
    assert "has not signed" in page.content.decode() and status_of(appointment) == S.BOOKED
    change_url = reverse("admin:appointments_appointment_change", args=[appointment.pk])
    form = {
        "client": appointment.client_id,
        "location": appointment.location_id,
        "service": appointment.service_id,
        "practitioner": appointment.practitioner_id,
        "start_0": "2026-12-07",
        "start_1": "10:00",
        "status": S.CHECKED_IN,
        "source": appointment.source,
        "notes": "",
        **editing(appointment),
    }
    page = client.post(change_url, form)
    assert page.status_code == 200 and "has not signed" in page.content.decode()
    assert status_of(appointment) == S.BOOKED


@pytest.mark.parametrize("role", [PRACTITIONER, CLINIC_MANAGER])
def test_an_override_with_a_reason_lets_it_through_and_is_shown_on_the_appointment(client, treatment, role):
    appointment = treatment["appointment"]
    user = staff(role, [treatment["location"]])
    client.force_login(user)
    add = reverse("admin:clinical_forms_checkinoverride_add")
    refused = client.post(add, {"appointment": appointment.pk, "reason": "   "})
    assert refused.status_code == 200 and not CheckInOverride.objects.exists()
    done = client.post(add, {"appointment": appointment.pk, "reason": "Paper forms signed at the desk"})
    assert done.status_code == 302
    override = CheckInOverride.objects.get()
    assert (override.recorded_by, override.client_id) == (user, appointment.client_id)

    appointment_services.change_appointment_status(appointment_id=appointment.pk, status=S.CHECKED_IN)
    assert status_of(appointment) == S.CHECKED_IN
    client.force_login(staff(FRONT_DESK, [treatment["location"]]))
    page = client.get(reverse("admin:appointments_appointment_change", args=[appointment.pk])).content.decode()
    assert "Check-in override: Paper forms signed at the desk" in page


@pytest.mark.policy("health-data-access")
def test_the_front_desk_records_no_exam_or_override_and_a_practitioner_only_at_their_locations(client, treatment):
    appointment = treatment["appointment"]
    exam_add = reverse("admin:clinical_forms_goodfaithexam_add")
    client.force_login(staff(FRONT_DESK, [treatment["location"]]))
    assert client.get(exam_add).status_code == 403
    assert client.get(reverse("admin:clinical_forms_checkinoverride_add")).status_code == 403
    client.force_login(staff(PRACTITIONER, [LocationFactory()]))
    page = client.post(exam_add, {"appointment": appointment.pk, "outcome": ExamOutcome.CLEARED})
    assert page.status_code == 200 and not GoodFaithExam.objects.exists()

    practitioner = staff(PRACTITIONER, [treatment["location"]])
    client.force_login(practitioner)
    done = client.post(exam_add, {"appointment": appointment.pk, "outcome": ExamOutcome.CLEARED, "notes": NOTE})
    assert done.status_code == 302
    exam = GoodFaithExam.objects.get()
    assert (exam.examined_by, exam.outcome, exam.notes) == (practitioner, ExamOutcome.CLEARED, NOTE)
    page = client.get(reverse("admin:clinical_forms_goodfaithexam_change", args=[exam.pk])).content.decode()
    assert NOTE in page
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_VIEWED, actor=practitioner).count() == 1


@pytest.mark.policy("health-data-access")
@pytest.mark.parametrize(
    ("role", "exam_link", "override_link"),
    [
        (FRONT_DESK, False, False),
        (PRIVACY_OFFICER, False, False),
        (CLINIC_MANAGER, False, True),
        (PRACTITIONER, True, True),
    ],
)
def test_the_appointment_page_links_to_recording_an_exam_or_override_only_for_staff_who_may(
    client, treatment, role, exam_link, override_link
):
    """Every role sees the forms and exam state; a link that would answer 403 is not shown."""
    appointment = treatment["appointment"]
    client.force_login(staff(role, [treatment["location"]]))
    response = client.get(reverse("admin:appointments_appointment_change", args=[appointment.pk]))
    page = response.content.decode()
    assert response.status_code == 200 and "Good-faith exam: needed" in page
    exam_add = reverse("admin:clinical_forms_goodfaithexam_add") + f"?appointment={appointment.pk}"
    override_add = reverse("admin:clinical_forms_checkinoverride_add") + f"?appointment={appointment.pk}"
    assert (exam_add in page, override_add in page) == (exam_link, override_link)
    for url, shown in ((exam_add, exam_link), (override_add, override_link)):
        assert client.get(url).status_code == (200 if shown else 403)


def test_exams_and_overrides_are_appended_never_changed_or_deleted(treatment):
    appointment = treatment["appointment"]
    exam = services.record_good_faith_exam(appointment_id=appointment.pk, examiner=None, outcome=ExamOutcome.CLEARED)
    override = services.record_check_in_override(appointment_id=appointment.pk, user=None, reason="Paper forms")
    for record in (exam, override):
        with pytest.raises(ClinicalRecordError):
            record.save()
        with pytest.raises(ClinicalRecordError):
            record.delete()
        with pytest.raises(ClinicalRecordError):
            type(record).objects.all().delete()
    with pytest.raises(ClinicalRecordError):
        GoodFaithExam.objects.update(outcome=ExamOutcome.NOT_CLEARED)
    appointment.delete()  # a superuser's delete: the record stays, without its appointment
    assert GoodFaithExam.objects.get().appointment is None and CheckInOverride.objects.get().appointment is None


def test_a_service_that_needs_no_form_or_exam_is_checked_in_as_before(treatment):
    other = ServiceFactory()
    other.locations.add(treatment["location"])
    appointment = AppointmentFactory(
        # Later the same morning: the treatment's own appointment holds 10:00 (PostgreSQL refuses an overlap).
        location=treatment["location"],
        service=other,
        practitioner=treatment["people"][0],
        start=MONDAY_10 + timedelta(hours=3),
    )
    appointment_services.change_appointment_status(appointment_id=appointment.pk, status=S.CHECKED_IN)
    assert status_of(appointment) == S.CHECKED_IN


def test_the_day_list_and_calendar_show_forms_and_exam_state_in_a_fixed_number_of_queries(
    client, treatment, django_assert_max_num_queries
):
    from appointments import status_gates

    appointment = treatment["appointment"]
    sign(appointment.client, treatment["templates"][0])
    sign(appointment.client, treatment["templates"][1])
    many = [appointment] + [
        AppointmentFactory(
            location=treatment["location"],
            service=appointment.service,
            practitioner=treatment["people"][0],
            start=MONDAY_10 + timedelta(hours=i),
        )
        for i in range(1, 6)
    ]
    with django_assert_max_num_queries(4):
        notes = status_gates.day_notes(many)
    assert notes[appointment.pk] == "forms complete; exam needed"
    assert all(notes[a.pk] == "forms incomplete; exam needed" for a in many[1:])

    client.force_login(staff(FRONT_DESK, [treatment["location"]]))
    listing = client.get(reverse("admin:appointments_appointment_changelist")).content.decode()
    calendar = client.get(CALENDAR + f"?location={treatment['location'].pk}&date=2026-12-07").content.decode()
    for page in (listing, calendar):
        assert "orms complete; exam needed" in page and "orms incomplete; exam needed" in page
        assert NOTE not in page


@pytest.mark.parametrize("target", [S.CHECKED_IN, S.COMPLETED])
def test_a_checked_in_appointment_edited_into_a_treatment_or_another_client_still_needs_forms_and_exam(
    treatment, target
):
    # Checked in for a service needing nothing, then the edit form swaps in the treatment (or another client)
    # while keeping the status: the gate applies to the appointment as it will be saved, not only to a change.
    plain = ServiceFactory()
    plain.locations.add(treatment["location"])
    treatment["people"][0].services.add(plain)
    appointment = treatment["appointment"]
    appointment.service = plain
    appointment.save()
    appointment_services.change_appointment_status(appointment_id=appointment.pk, status=target)
    appointment.refresh_from_db()
    treatment_service = treatment["templates"][0].services.get()
    with pytest.raises(appointment_services.AppointmentStatusError, match="has not signed"):
        appointment_services.save_appointment_from_front_desk(
            appointment_id=appointment.pk,
            client=appointment.client,
            location=appointment.location,
            service=treatment_service,
            practitioner=appointment.practitioner,
            start=appointment.start,
            status=target,
            source=appointment.source,
            expected_updated_at=appointment.updated_at,
        )
    appointment.refresh_from_db()
    assert appointment.service == plain

    # Forms signed and exam cleared for this client's treatment: another client without them is refused too.
    treated = AppointmentFactory(
        location=treatment["location"],
        service=treatment_service,
        practitioner=treatment["people"][0],
        start=MONDAY_10 + timedelta(hours=3),
    )
    for template in treatment["templates"]:
        sign(treated.client, template)
    services.record_good_faith_exam(appointment_id=treated.pk, examiner=None, outcome=ExamOutcome.CLEARED)
    appointment_services.change_appointment_status(appointment_id=treated.pk, status=target)
    treated.refresh_from_db()
    stranger = ClientFactory()
    with pytest.raises(appointment_services.AppointmentStatusError, match="has not signed"):
        appointment_services.save_appointment_from_front_desk(
            appointment_id=treated.pk,
            client=stranger,
            location=treated.location,
            service=treated.service,
            practitioner=treated.practitioner,
            start=treated.start,
            status=target,
            source=treated.source,
            expected_updated_at=treated.updated_at,
        )
    treated.refresh_from_db()
    assert treated.client_id != stranger.pk


@pytest.mark.policy("health-data-access")
@pytest.mark.parametrize("recorded", ["exam", "override"])
def test_an_exam_or_override_recorded_for_the_old_client_does_not_carry_over_when_staff_change_the_client(
    treatment, recorded
):
    appointment = treatment["appointment"]
    old_client, new_client = appointment.client, ClientFactory()
    for template in treatment["templates"]:
        sign(old_client, template)
        sign(new_client, template)  # the new client's forms are in order: only the exam is in question
    if recorded == "exam":
        services.record_good_faith_exam(appointment_id=appointment.pk, examiner=None, outcome=ExamOutcome.CLEARED)
    else:
        services.record_check_in_override(appointment_id=appointment.pk, user=None, reason="Exam done on paper")
    appointment.refresh_from_db()
    with pytest.raises(appointment_services.AppointmentStatusError, match="No good-faith exam"):
        appointment_services.save_appointment_from_front_desk(
            appointment_id=appointment.pk,
            client=new_client,
            location=appointment.location,
            service=appointment.service,
            practitioner=appointment.practitioner,
            start=appointment.start,
            status=S.CHECKED_IN,
            source=appointment.source,
            expected_updated_at=appointment.updated_at,
        )
    # The client changed, the status kept: the gate re-checks for the new client, who needs their own exam.
    appointment.refresh_from_db()
    appointment_services.save_appointment_from_front_desk(
        appointment_id=appointment.pk,
        client=new_client,
        location=appointment.location,
        service=appointment.service,
        practitioner=appointment.practitioner,
        start=appointment.start,
        status=appointment.status,
        source=appointment.source,
        expected_updated_at=appointment.updated_at,
    )
    appointment.refresh_from_db()
    with pytest.raises(appointment_services.AppointmentStatusError, match="No good-faith exam"):
        appointment_services.change_appointment_status(appointment_id=appointment.pk, status=S.CHECKED_IN)
    services.record_good_faith_exam(appointment_id=appointment.pk, examiner=None, outcome=ExamOutcome.CLEARED)
    appointment_services.change_appointment_status(appointment_id=appointment.pk, status=S.CHECKED_IN)
    appointment.refresh_from_db()
    assert appointment.status == S.CHECKED_IN
