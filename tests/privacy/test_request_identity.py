"""Privacy requests prove control of contact points, and find every record holding the proven email."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from clinic.models import Client
from privacy.requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, RequestType
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db
EMAIL, PHONE = "dana.reyes@example.com", "+14085550143"
BOOKER_PHONE = "+14085550199"


@pytest.fixture
def records():
    """Dana's own record, and a later online booking anyone could have made with her email and their own phone."""
    dana = ClientFactory(first_name="Dana", last_name="Zed", email=EMAIL, mobile_phone=PHONE)
    booker = ClientFactory(first_name="Aaron", last_name="Abbot", email=EMAIL, mobile_phone=BOOKER_PHONE)
    return dana, booker


def submit_and_confirm(client, django_capture_on_commit_callbacks, request_type):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("privacy:request_form"), {"request_type": request_type, "email": EMAIL})
    link = re.search(r"http://testserver(/privacy/requests/verify/\S+)", mail.outbox[0].body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(link)


def test_the_verified_email_matches_every_record_holding_it_and_marks_it_proven(
    client, records, django_capture_on_commit_callbacks
):
    dana, booker = records
    submit_and_confirm(client, django_capture_on_commit_callbacks, RequestType.OBJECTION)
    dsr = DataSubjectRequest.objects.get()
    assert dsr.verified_at is not None and set(dsr.clients.all()) == {dana, booker}
    assert Client.objects.filter(email_verified_at__isnull=False).count() == 2
    assert not Client.objects.filter(phone_verified_at__isnull=False).exists()  # an email proves no phone


@pytest.mark.policy("security-identity")
def test_the_code_goes_to_the_phone_on_file_not_to_a_later_bookings_typed_phone(
    client, records, sms_outbox, django_capture_on_commit_callbacks
):
    dana, booker = records
    submit_and_confirm(client, django_capture_on_commit_callbacks, RequestType.ERASURE)
    assert [m.to for m in sms_outbox] == [PHONE]
    code = re.search(r"code is (\d{6})", sms_outbox[-1].body).group(1)
    client.post(reverse("privacy:request_code"), {"code": code})
    dana.refresh_from_db()
    booker.refresh_from_db()
    assert dana.phone_verified_at is not None and booker.phone_verified_at is None


def test_a_proven_phone_wins_over_the_oldest_records(client, records, sms_outbox, django_capture_on_commit_callbacks):
    dana, booker = records
    Client.objects.filter(pk=booker.pk).update(phone_verified_at="2026-01-01T00:00:00Z")
    submit_and_confirm(client, django_capture_on_commit_callbacks, RequestType.ERASURE)
    assert [m.to for m in sms_outbox] == [BOOKER_PHONE]


def test_a_consent_change_from_a_request_staff_logged_is_recorded_as_staff_on_the_persons_behalf(records):
    """Consent changes come from the person or from staff on their behalf, recorded as such."""
    from privacy.models import ConsentActor, ConsentRecord
    from privacy.subject_requests import submit_request
    from tests.support.builders import StaffFactory

    staff = StaffFactory()
    submit_request(request_type=RequestType.OPT_OUT_SALE, email=EMAIL, channel="phone", staff_user=staff)
    submit_request(request_type=RequestType.OPT_OUT_SALE, email=EMAIL)
    staff_rows, web_rows = ConsentRecord.objects.order_by("id")[:2], ConsentRecord.objects.order_by("id")[2:]
    assert {(r.actor, r.staff_user_id) for r in staff_rows} == {(ConsentActor.STAFF, staff.pk)}
    assert {(r.actor, r.staff_user_id) for r in web_rows} == {(ConsentActor.CLIENT, None)}
    audited = PrivacyAuditEvent.objects.filter(action=AuditAction.CONSENT_WITHDRAWN).order_by("id")
    assert [(e.actor_id, e.actor_label) for e in audited] == [(staff.pk, "")] * 2 + [(None, "requester")] * 2
