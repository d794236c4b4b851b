"""The scheduled job completes verified erasures within PRIVACY_ERASURE_DAYS (14), end to end, as beat runs it."""

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from clinic.celery import app
from clinic.models import Client
from messaging.models import SmsMessage
from privacy.requests_models import DataSubjectRequest, RequestStatus, RequestType
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
EMAIL, PHONE = "rowan.ashgrove@example.com", "+14085550177"
SUBMITTED = datetime(2026, 12, 6, 18, 0, tzinfo=LA)  # a Sunday evening


def run_daily_job_as_beat_does():
    """Beat's schedule (from the data migration) names the task; run it with its stored arguments."""
    entry = PeriodicTask.objects.get(task="privacy.tasks.daily_privacy_housekeeping")
    assert entry.enabled and entry.crontab.hour == "7" and str(entry.crontab.timezone) == "America/Los_Angeles"
    return app.tasks[entry.task].apply(args=json.loads(entry.args), kwargs=json.loads(entry.kwargs)).get()


def at_seven(day):
    return datetime(day.year, day.month, day.day, 7, 0, tzinfo=LA)


@pytest.fixture
def rowan():
    person = ClientFactory(first_name="Rowan", last_name="Ashgrove", email=EMAIL, mobile_phone=PHONE)
    location, service, (practitioner,) = bookable_clinic()
    AppointmentFactory(
        client=person,
        location=location,
        service=service,
        practitioner=practitioner,
        start=datetime(2026, 11, 2, 10, tzinfo=LA),
        notes="Rowan Ashgrove: sensitive skin",
    )
    SmsMessage.objects.create(to_number=PHONE, body="Hi Rowan, see you Monday", client=person, location=location)
    return person


@pytest.fixture
def verified_deletion(client, rowan, django_capture_on_commit_callbacks, sms_outbox):
    """Submitted and verified on the web (email link, then the code texted to the phone on file)."""
    with time_machine.travel(SUBMITTED, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("privacy:request_form"), {"request_type": RequestType.ERASURE, "email": EMAIL})
        link = re.search(r"http://testserver(/privacy/requests/verify/\S+)", mail.outbox[-1].body).group(1)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(link)
        code = re.search(r"code is (\d{6})", sms_outbox[-1].body).group(1)
        client.post(reverse("privacy:request_code"), {"code": code})
    dsr = DataSubjectRequest.objects.get()
    assert dsr.status == RequestStatus.VERIFIED
    assert dsr.due_at == SUBMITTED + timedelta(days=14)
    return dsr


def assert_erased_and_told(rowan, dsr):
    rowan.refresh_from_db()
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.COMPLETED and dsr.completed_at <= dsr.deadline
    assert rowan.erased_at is not None and rowan.email == "" and str(rowan.mobile_phone) == ""
    assert not Client.objects.filter(last_name="Ashgrove").exists()
    assert not SmsMessage.objects.filter(body__icontains="Rowan").exists()
    told = [m for m in mail.outbox if dsr.reference in m.subject and "deleted" in m.subject]
    assert len(told) == 1 and told[0].to == [EMAIL]


@pytest.mark.policy("erasure-14-days")
def test_a_verified_deletion_is_completed_by_the_next_daily_run_and_the_requester_told(
    rowan, verified_deletion, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with time_machine.travel(at_seven(SUBMITTED + timedelta(days=1)), tick=False):
        with django_capture_on_commit_callbacks(execute=True):  # the email leaves once the erasure is committed
            result = run_daily_job_as_beat_does()
    assert result["erased"] == 1
    assert_erased_and_told(rowan, verified_deletion)


@pytest.mark.policy("erasure-14-days")
def test_a_deletion_staff_left_in_progress_is_still_completed_before_its_deadline(
    rowan, verified_deletion, django_capture_on_commit_callbacks
):
    """Staff took it ("in progress") and forgot it: the daily job completes it on its last run before the deadline."""
    DataSubjectRequest.objects.filter(pk=verified_deletion.pk).update(status=RequestStatus.IN_PROGRESS)
    mail.outbox.clear()
    day = SUBMITTED + timedelta(days=1)
    while DataSubjectRequest.objects.get(pk=verified_deletion.pk).status == RequestStatus.IN_PROGRESS:
        assert at_seven(day) < verified_deletion.due_at, "the deadline passed with the data still there"
        with time_machine.travel(at_seven(day), tick=False), django_capture_on_commit_callbacks(execute=True):
            run_daily_job_as_beat_does()
        day += timedelta(days=1)
    # Not before staff had most of the fortnight: only the last run or two before the deadline.
    assert verified_deletion.due_at - at_seven(day - timedelta(days=1)) <= timedelta(hours=36)
    assert_erased_and_told(rowan, verified_deletion)


@pytest.mark.policy("erasure-14-days", "rights-deadlines")
def test_a_deletion_under_legal_hold_is_not_erased_but_flagged_overdue_to_privacy_officers(
    rowan, verified_deletion, django_user_model
):
    officer = django_user_model.objects.create_user("officer", email="officer@clinic.example", password="x" * 12)
    officer.groups.add(Group.objects.get(name="Privacy officer"))
    DataSubjectRequest.objects.filter(pk=verified_deletion.pk).update(
        status=RequestStatus.IN_PROGRESS, legal_hold=True, legal_hold_reason="Pending lawsuit"
    )
    mail.outbox.clear()
    with time_machine.travel(at_seven(SUBMITTED + timedelta(days=15)), tick=False):
        run_daily_job_as_beat_does()
    rowan.refresh_from_db()
    assert rowan.erased_at is None  # a hold is for staff to refuse with its reason, not for the job to erase
    digest = next(m for m in mail.outbox if m.to == ["officer@clinic.example"])
    assert "1 overdue" in digest.subject and verified_deletion.reference in digest.body
