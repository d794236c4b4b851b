"""A staff member's user can be deleted after they recorded a good-faith exam, a check-in override or a client's
health change report: the records keep the staff member's name and lose only the link to the user (as the
consent ledger does). PostgreSQL's append-only trigger let Django's SET_NULL clear the appointment link only,
so the user's deletion failed (a 500 in the admin). Every other change is still refused."""

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from clinic.roles import PRACTITIONER
from clinical_forms import services
from clinical_forms.models import CheckInOverride, GoodFaithExam, HealthChangeReport, ReportedVia
from tests.support.builders import AppointmentFactory, StaffFactory, bookable_clinic
from tests.support.environment import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]


def refused(sql, params):
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as error:
        return "clinical record" in str(error)
    return False


@pytest.fixture
def records():
    location, service, people = bookable_clinic()
    visit = AppointmentFactory(location=location, service=service, practitioner=people[0], start=timezone.now())
    staff = StaffFactory(locations=[location], first_name="Pat", last_name="Examiner")
    staff.groups.add(Group.objects.get(name=PRACTITIONER))
    return {
        "staff": staff,
        "exam": services.record_good_faith_exam(appointment_id=visit.pk, examiner=staff, outcome="cleared"),
        "override": services.record_check_in_override(appointment_id=visit.pk, user=staff, reason="Paper forms"),
        "report": services.report_health_change(
            client_id=visit.client_id, via=ReportedVia.FRONT_DESK, user=staff, note="New medicine"
        ),
    }


def test_deleting_a_staff_user_who_recorded_clinical_records_keeps_the_records_and_their_name(records):
    records["staff"].delete()

    exam = GoodFaithExam.objects.get(pk=records["exam"].pk)
    override = CheckInOverride.objects.get(pk=records["override"].pk)
    report = HealthChangeReport.objects.get(pk=records["report"].pk)
    assert (exam.examined_by_id, exam.outcome) == (None, "cleared") and exam.examiner_name
    assert (override.recorded_by_id, override.reason) == (None, "Paper forms") and override.recorded_by_name
    assert (report.reported_by_id, report.note) == (None, "New medicine") and report.reported_by_name


def test_the_admin_deletes_such_a_staff_user_without_a_500(admin_client, records):
    url = reverse("admin:auth_user_delete", args=[records["staff"].pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert HealthChangeReport.objects.filter(pk=records["report"].pk, reported_by=None).exists()


def test_a_link_is_only_ever_cleared_never_pointed_at_someone_else_nor_cleared_with_another_change(records):
    other = StaffFactory()
    exams, reports = GoodFaithExam._meta.db_table, HealthChangeReport._meta.db_table
    assert refused(f"UPDATE {exams} SET examined_by_id = %s WHERE id = %s", [other.pk, records["exam"].pk])
    assert refused(f"UPDATE {reports} SET reported_by_id = %s WHERE id = %s", [other.pk, records["report"].pk])
    assert refused(
        f"UPDATE {reports} SET reported_by_id = NULL, reported_by_name = 'Someone' WHERE id = %s",
        [records["report"].pk],
    )
    assert refused(f"UPDATE {reports} SET via = 'account', reported_by_id = NULL WHERE id = %s", [records["report"].pk])
    assert refused(f"UPDATE {exams} SET outcome = 'not_cleared' WHERE id = %s", [records["exam"].pk])
    assert refused(f"DELETE FROM {reports} WHERE id = %s", [records["report"].pk])
    assert HealthChangeReport.objects.get(pk=records["report"].pk).reported_by_id == records["staff"].pk
