"""My data: download at once with a fresh code (audited), correct my details, delete my account."""

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountSession
from privacy.requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, RequestStatus, RequestType
from privacy.tasks import daily_privacy_housekeeping
from tests.support.accounts import sign_in_by_code, texted_code
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db
PHONE, NATIONAL, EMAIL = "+14085550123", "(408) 555-0123", "ava.lindqvist@example.com"
DATA = reverse("account:data")


@pytest.fixture
def ava():
    return ClientFactory(first_name="Ava", last_name="Lindqvist", email=EMAIL, mobile_phone=PHONE)


@pytest.fixture
def signed_in(ava, run_tasks, sms_outbox):
    browser = Browser(HTTP_USER_AGENT="AvaPhone/1.0")
    sign_in_by_code(browser, run_tasks, sms_outbox, NATIONAL)
    return browser


def fresh_code(browser, run_tasks, sms_outbox):
    with run_tasks():
        browser.post(reverse("account:data_code_send"))
    response = browser.post(reverse("account:data_code_confirm"), {"fresh-code": texted_code(sms_outbox)})
    assert response.status_code == 302, response.content[:300]


def test_the_download_needs_a_fresh_code(signed_in):
    response = signed_in.post(reverse("account:data_download"))
    assert response.status_code == 403
    assert not DataSubjectRequest.objects.exists()


@pytest.mark.policy("client-account")
def test_with_a_fresh_code_the_download_is_the_access_bundle_at_once_and_audited(signed_in, run_tasks, sms_outbox, ava):
    fresh_code(signed_in, run_tasks, sms_outbox)
    response = signed_in.post(reverse("account:data_download"), REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"]
    data = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("data.json"))
    assert data["categories"]["client"][0]["email"] == EMAIL
    request = DataSubjectRequest.objects.get()
    assert (request.request_type, request.status) == (RequestType.ACCESS, RequestStatus.COMPLETED)
    assert data["request_reference"] == request.reference
    download = PrivacyAuditEvent.objects.get(action=AuditAction.DATA_EXPORTED)
    assert download.client_id == ava.pk and "203.0.113.7" in download.detail and "fresh code" in download.detail
    # One download per code.
    assert signed_in.post(reverse("account:data_download")).status_code == 403


def test_a_fresh_code_is_checked_and_its_tries_limited(signed_in, run_tasks, sms_outbox):
    with run_tasks():
        signed_in.post(reverse("account:data_code_send"))
    code = texted_code(sms_outbox)
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(5):
        assert signed_in.post(reverse("account:data_code_confirm"), {"fresh-code": wrong}).status_code == 400
    assert signed_in.post(reverse("account:data_code_confirm"), {"fresh-code": code}).status_code == 400
    assert signed_in.post(reverse("account:data_download")).status_code == 403


def test_a_name_correction_is_saved_and_audited_as_the_clients_own(signed_in, ava):
    response = signed_in.post(reverse("account:data_name"), {"first_name": "Ava-Marie", "last_name": "Lind"})
    assert response.status_code == 302
    ava.refresh_from_db()
    assert (ava.first_name, ava.last_name) == ("Ava-Marie", "Lind")
    event = PrivacyAuditEvent.objects.get(action=AuditAction.DATA_CORRECTED)
    assert event.client_id == ava.pk and event.actor_label == "client (own account)"


def test_a_blank_name_is_refused_with_a_message(signed_in, ava):
    response = signed_in.post(reverse("account:data_name"), {"first_name": " ", "last_name": ""})
    assert response.status_code == 400
    ava.refresh_from_db()
    assert ava.first_name == "Ava"


@pytest.mark.policy("client-account")
def test_a_new_email_replaces_the_old_only_once_proven(signed_in, run_tasks, ava):
    with run_tasks():
        signed_in.post(reverse("account:data_email"), {"email": "ava.new@example.com"})
    message = mail.outbox[-1]
    assert message.to == ["ava.new@example.com"]
    ava.refresh_from_db()
    assert ava.email == EMAIL  # not yet
    code = re.search(r"code is (\d{6})", message.body).group(1)
    wrong = "333333" if code != "333333" else "444444"
    assert signed_in.post(reverse("account:data_email_confirm"), {"new_email-code": wrong}).status_code == 400
    ava.refresh_from_db()
    assert ava.email == EMAIL
    assert signed_in.post(reverse("account:data_email_confirm"), {"new_email-code": code}).status_code == 302
    ava.refresh_from_db()
    assert ava.email == "ava.new@example.com" and ava.email_verified_at is not None


def test_deleting_the_account_needs_a_fresh_code(signed_in, ava):
    assert signed_in.post(reverse("account:delete")).status_code == 403
    assert not DataSubjectRequest.objects.exists()


@pytest.mark.policy("client-account")
def test_deleting_the_account_is_a_verified_erasure_kept_within_14_days(signed_in, run_tasks, sms_outbox, ava):
    page = signed_in.get(reverse("account:delete")).content.decode()
    assert "What we keep, and why" in page and "Payments and refunds" in page
    fresh_code(signed_in, run_tasks, sms_outbox)
    response = signed_in.post(reverse("account:delete"))
    assert response.status_code == 200
    request = DataSubjectRequest.objects.get()
    assert (request.request_type, request.status) == (RequestType.ERASURE, RequestStatus.VERIFIED)
    assert request.due_at <= timezone.now() + timedelta(days=14)
    assert list(request.clients.all()) == [ava]
    # Signed out everywhere at once.
    assert not AccountSession.objects.filter(ended_at__isnull=True).exists()
    assert signed_in.get(reverse("account:home")).status_code == 302
    # The daily job erases her by the deadline.
    with time_machine.travel(timezone.now() + timedelta(days=14, hours=1)), run_tasks():
        daily_privacy_housekeeping()
    ava.refresh_from_db()
    assert ava.erased_at is not None and EMAIL not in (ava.email or "")
    assert not AccountSession.objects.exists()


# --- Correcting my mobile number: proven by a code texted to it, and texting choices asked again ------------

NEW_PHONE, NEW_NATIONAL = "+14085550177", "(408) 555-0177"


def _new_phone_code(sms_outbox):
    message = sms_outbox[-1]
    assert message.to == NEW_PHONE
    return re.search(r"new mobile number is (\d{6})", message.body).group(1)


def _consent(client, purpose):
    from privacy.selectors import current_consents

    return current_consents(client_ids=[client.pk], purpose=purpose).get(client.pk, False)


@pytest.mark.policy("client-account")
def test_a_new_mobile_number_replaces_the_old_only_once_the_code_texted_to_it_comes_back(
    signed_in, run_tasks, sms_outbox, ava
):
    with run_tasks():
        response = signed_in.post(reverse("account:data_phone"), {"mobile_phone": NEW_NATIONAL})
    assert response.status_code == 200 and "We texted a code to the new number" in response.content.decode()
    code = _new_phone_code(sms_outbox)  # a number never heard from gets the code it was asked for
    ava.refresh_from_db()
    assert str(ava.mobile_phone) == PHONE  # not yet
    wrong = "333333" if code != "333333" else "444444"
    refused = signed_in.post(reverse("account:data_phone_confirm"), {"new_phone-code": wrong})
    assert refused.status_code == 400
    ava.refresh_from_db()
    assert str(ava.mobile_phone) == PHONE
    done = signed_in.post(
        reverse("account:data_phone_confirm"), {"new_phone-code": code, "new_phone-sms_reminders": "on"}
    )
    assert done.status_code == 302
    ava.refresh_from_db()
    assert str(ava.mobile_phone) == NEW_PHONE and ava.phone_verified_at is not None
    assert PrivacyAuditEvent.objects.filter(client=ava, action=AuditAction.DATA_CORRECTED).exists()


@pytest.mark.policy("client-account")
def test_texting_choices_do_not_move_to_a_new_number_by_themselves(signed_in, run_tasks, sms_outbox, ava):
    from privacy.models import ConsentPurpose, ConsentSource
    from privacy.services import record_consent

    for purpose in (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_MARKETING):
        record_consent(client=ava, purpose=purpose, granted=True, notice_text="yes", source=ConsentSource.BOOKING_FORM)
    with run_tasks():
        signed_in.post(reverse("account:data_phone"), {"mobile_phone": NEW_NATIONAL})
    # Nothing ticked for the new number: nothing may be texted to it, recorded as the client's own choice.
    assert (
        signed_in.post(
            reverse("account:data_phone_confirm"), {"new_phone-code": _new_phone_code(sms_outbox)}
        ).status_code
        == 302
    )
    assert not _consent(ava, ConsentPurpose.SMS_REMINDERS) and not _consent(ava, ConsentPurpose.SMS_MARKETING)
    latest = ava.consent_records.order_by("-recorded_at", "-pk").first()
    assert latest.source == ConsentSource.ACCOUNT and "changed their mobile number" in latest.evidence


@pytest.mark.policy("client-account")
def test_no_code_goes_to_a_new_number_on_the_stop_list(signed_in, run_tasks, sms_outbox, ava):
    from accounts.models import ChallengePurpose, SignInChallenge
    from messaging import opt_outs
    from messaging.models import OptOutSource

    opt_outs.add_sms_opt_out(phone=NEW_PHONE, reason="STOP", source=OptOutSource.SMS_KEYWORD)
    with run_tasks():
        response = signed_in.post(reverse("account:data_phone"), {"mobile_phone": NEW_NATIONAL})
    assert response.status_code == 400 and "text START from it" in response.content.decode()
    assert not [m for m in sms_outbox if m.to == NEW_PHONE]
    assert not SignInChallenge.objects.filter(purpose=ChallengePurpose.NEW_PHONE).exists()  # no code to enter


def test_a_new_number_code_is_its_own_purpose_the_stop_list_wins_and_privacy_codes_stay_on_file_only(ava):
    from messaging import opt_outs
    from messaging.models import OptOutSource
    from messaging.permissions import NOT_ON_FILE, OPTED_OUT, Purpose, may_contact

    assert may_contact(client=ava, purpose=Purpose.NEW_NUMBER_CODE, to=NEW_PHONE)
    assert may_contact(client=ava, purpose=Purpose.VERIFICATION_CODE, to=NEW_PHONE).reason == NOT_ON_FILE
    opt_outs.add_sms_opt_out(phone=NEW_PHONE, reason="STOP", source=OptOutSource.SMS_KEYWORD)
    assert may_contact(client=ava, purpose=Purpose.NEW_NUMBER_CODE, to=NEW_PHONE).reason == OPTED_OUT
