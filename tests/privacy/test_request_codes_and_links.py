"""Privacy-request codes and links: the try limit holds, no requester is stuck because we could not text them,
and the export link is single use, short-lived, bound to the verifying browser, revoked on close and audited."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from clinic.models import Client
from privacy import registry
from privacy.requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, RequestStatus, RequestType
from privacy.retention import apply_retention
from privacy.subject_requests import complete_request, expire_unverified_requests, refuse_request, send_export_link
from tests.support.privacy_requests import EMAIL, PHONE, sent_code, submit, verify_link

pytestmark = pytest.mark.django_db
CODE_URL = "/privacy/requests/code/"


def confirm_email(client, run_tasks):
    with run_tasks():
        return client.post(verify_link(mail.outbox[0]))


def wrong(code):
    return "000000" if code != "000000" else "111111"


# --- 1. The code's try limit ---------------------------------------------------------------


@pytest.mark.policy("rights-how")
def test_after_five_wrong_codes_the_right_one_is_refused_and_a_new_code_is_needed(client, dana, run_tasks, sms_outbox):
    submit(client, run_tasks, RequestType.ERASURE)
    confirm_email(client, run_tasks)
    code = sent_code(sms_outbox)
    for _ in range(6):
        client.post(CODE_URL, {"code": wrong(code)})
    assert DataSubjectRequest.objects.get().sms_code_attempts == 5  # each wrong try counted, not rolled back
    refused = client.post(CODE_URL, {"code": code})
    assert "Ask for a new code" in refused.content.decode()
    assert DataSubjectRequest.objects.get().status == RequestStatus.RECEIVED

    with run_tasks():
        assert client.post("/privacy/requests/code/new/", {"action": "resend"}).status_code == 302
    new_code = sent_code(sms_outbox)
    client.post(CODE_URL, {"code": new_code})
    assert DataSubjectRequest.objects.get().status == RequestStatus.VERIFIED


def test_new_codes_are_capped_per_request_then_staff_check_identity(client, dana, run_tasks, sms_outbox):
    submit(client, run_tasks, RequestType.ACCESS)
    confirm_email(client, run_tasks)
    for _ in range(4):
        with run_tasks():
            assert client.post("/privacy/requests/code/new/", {"action": "resend"}).status_code == 302
    with run_tasks():
        last = client.post("/privacy/requests/code/new/", {"action": "resend"})
    dsr = DataSubjectRequest.objects.get()
    assert last.status_code == 200 and dsr.identity_check_needed and dsr.sms_codes_sent == 5
    assert client.post(CODE_URL, {"code": sent_code(sms_outbox)}).status_code == 400  # the session's code step is over


# --- 2. No requester stuck because we could not text them -----------------------------------


def text_stop(client, phone):
    url = "/messaging/twilio/inbound/"
    data = {"MessageSid": "SM" + "5" * 32, "From": phone, "To": "+14088211633", "Body": "STOP"}
    signature = RequestValidator("test-auth-token").compute_signature("http://testserver" + url, data)
    assert client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200


@pytest.mark.policy("rights-how")
def test_someone_who_texted_stop_can_still_verify_their_request(client, dana, run_tasks, sms_outbox):
    text_stop(Browser(), PHONE)
    sms_outbox.clear()
    submit(client, run_tasks, RequestType.ERASURE)
    response = confirm_email(client, run_tasks)
    dsr = DataSubjectRequest.objects.get()
    codes = [m for m in sms_outbox if m.to == PHONE and "code is" in m.body]
    if codes:  # the code is a reply they asked for
        client.post(CODE_URL, {"code": sent_code(codes)})
        assert DataSubjectRequest.objects.get().status == RequestStatus.VERIFIED
    else:  # or the other proof path: staff, flagged in the register
        assert response.status_code == 200 and "confirm it is you another way" in response.content.decode()
        assert (
            dsr.identity_check_needed
            and PrivacyAuditEvent.objects.filter(action=AuditAction.IDENTITY_CHECK_NEEDED).exists()
        )


def test_with_no_phone_on_file_the_request_goes_to_staff_not_verified_by_email_alone(client, run_tasks):
    Client.objects.create(first_name="Em", last_name="Only", email=EMAIL)
    submit(client, run_tasks, RequestType.ERASURE)
    response = confirm_email(client, run_tasks)
    dsr = DataSubjectRequest.objects.get()
    assert response.status_code == 200 and dsr.status == RequestStatus.RECEIVED and dsr.identity_check_needed
    assert "No mobile phone on file" in dsr.identity_check_reason


def test_a_failed_send_offers_the_staff_path(client, dana, run_tasks, monkeypatch):
    def broken_sender(**kwargs):
        raise ConnectionError("provider down")

    monkeypatch.setattr(registry, "_sms_sender", broken_sender)
    submit(client, run_tasks, RequestType.ACCESS)
    response = confirm_email(client, run_tasks)
    assert response.status_code == 200 and DataSubjectRequest.objects.get().identity_check_needed


def test_a_requester_whose_text_never_came_can_ask_for_the_staff_path(client, dana, run_tasks, sms_outbox):
    submit(client, run_tasks, RequestType.ACCESS)
    confirm_email(client, run_tasks)
    response = client.post("/privacy/requests/code/new/", {"action": "staff"})
    assert response.status_code == 200 and DataSubjectRequest.objects.get().identity_check_needed


def test_only_requests_never_acted_on_expire_or_are_purged(dana, client, run_tasks, sms_outbox, settings):
    from privacy.subject_requests import submit_request

    now = timezone.now()
    never_acted = submit_request(request_type=RequestType.ACCESS, email="a@example.com")
    DataSubjectRequest.objects.filter(pk=never_acted.pk).update(acknowledged_at=now)
    never_reached = submit_request(request_type=RequestType.ACCESS, email="b@example.com")  # acknowledgement never sent
    submit(client, run_tasks, RequestType.ERASURE)
    confirm_email(client, run_tasks)  # acted on: email confirmed, code never entered
    stuck = DataSubjectRequest.objects.get(email=EMAIL)
    with_staff = submit_request(request_type=RequestType.ACCESS, email="c@example.com")
    DataSubjectRequest.objects.filter(pk=with_staff.pk).update(acknowledged_at=now, identity_check_needed=True)

    later = now + timedelta(hours=settings.PRIVACY_VERIFICATION_HOURS + 1)
    assert expire_unverified_requests(now=later) == 1
    statuses = dict(DataSubjectRequest.objects.values_list("pk", "status"))
    assert statuses[never_acted.pk] == RequestStatus.EXPIRED
    assert statuses[never_reached.pk] == statuses[stuck.pk] == statuses[with_staff.pk] == RequestStatus.RECEIVED
    stuck.refresh_from_db()
    assert stuck.identity_check_needed  # the code never came back: staff follow up

    apply_retention(now=now + timedelta(days=settings.RETENTION_UNVERIFIED_REQUEST_DAYS + 1))
    assert set(DataSubjectRequest.objects.values_list("pk", flat=True)) == {never_reached.pk, stuck.pk, with_staff.pk}


# --- 3. The export download link -------------------------------------------------------------


@pytest.fixture
def export_link(client, dana, run_tasks, sms_outbox):
    """A verified access request (in `client`'s session) and the path of its emailed export link."""
    submit(client, run_tasks, RequestType.ACCESS)
    confirm_email(client, run_tasks)
    client.post(CODE_URL, {"code": sent_code(sms_outbox)})
    dsr = DataSubjectRequest.objects.get()
    mail.outbox.clear()
    with run_tasks():  # the email leaves once the link is committed
        send_export_link(request_id=dsr.pk)
    return re.search(r"http://testserver(\S+/download/\S+)", mail.outbox[0].body).group(1)


def is_zip(response):
    return response.status_code == 200 and response["Content-Type"] == "application/zip"


@pytest.mark.policy("rights-access-portability")
def test_the_export_link_works_once(client, export_link):
    assert is_zip(client.post(export_link, {"action": "download"}))
    replay = client.post(export_link, {"action": "download"})
    assert replay.status_code == 410 and not is_zip(replay)
    assert DataSubjectRequest.objects.get().status == RequestStatus.COMPLETED


@pytest.mark.policy("rights-access-portability")
def test_the_export_link_has_a_short_life(client, export_link, settings):
    assert settings.PRIVACY_EXPORT_LINK_HOURS <= 72
    with time_machine.travel(timezone.now() + timedelta(hours=settings.PRIVACY_EXPORT_LINK_HOURS, minutes=1)):
        late = client.post(export_link, {"action": "download"})
    assert late.status_code == 410 and "expired" in late.content.decode()


@pytest.mark.policy("rights-access-portability")
def test_in_another_browser_the_export_link_needs_a_fresh_code(export_link, sms_outbox, run_tasks):
    other = Browser()
    page = other.get(export_link)
    assert page.status_code == 200 and "fresh code" in page.content.decode()
    assert not is_zip(other.post(export_link, {"action": "download"}))
    with run_tasks():
        other.post(export_link, {"action": "send_code"})
    code = sent_code(sms_outbox)
    assert not is_zip(other.post(export_link, {"action": "code", "code": wrong(code)}))
    assert is_zip(other.post(export_link, {"action": "code", "code": code}))


@pytest.mark.parametrize("close", ["refused", "completed"])
@pytest.mark.policy("rights-access-portability")
def test_the_export_link_dies_when_the_request_is_refused_or_completed(client, export_link, close):
    dsr = DataSubjectRequest.objects.get()
    if close == "refused":
        refuse_request(request_id=dsr.pk, basis="Manifestly unfounded (repeated request).")
    else:
        complete_request(request_id=dsr.pk, outcome="Sent on paper.")
    response = client.post(export_link, {"action": "download"})
    assert response.status_code == 410 and not is_zip(response)


@pytest.mark.policy("rights-access-portability")
def test_every_download_is_audited_with_when_and_from_where(client, export_link):
    client.post(export_link, {"action": "download"}, REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="DanaLaptop/1.0")
    (event,) = PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_EXPORTED)
    assert event.request == DataSubjectRequest.objects.get() and event.at is not None
    assert "198.51.100.7" in event.detail and "DanaLaptop/1.0" in event.detail and "requester" in event.actor_label


@pytest.mark.policy("rights-access-portability")
def test_staff_cannot_redirect_a_verified_requests_export_to_another_address(export_link, admin_client, run_tasks):
    """Verification proved the email and phone the request came with; editing them afterwards would send
    the person's data (the export link) to an address nobody proved."""
    dsr = DataSubjectRequest.objects.get()
    url = reverse("admin:privacy_datasubjectrequest_change", args=[dsr.pk])
    admin_client.post(
        url,
        {
            "request_type": dsr.request_type,
            "email": "someone.else@example.com",
            "phone": "+14085550999",
            "details": "",
            "channel": dsr.channel,
            "legal_hold_reason": "",
        },
    )
    dsr.refresh_from_db()
    assert (dsr.email, dsr.phone) != ("someone.else@example.com", "+14085550999")
    assert dsr.email == EMAIL
    mail.outbox.clear()
    with run_tasks():
        send_export_link(request_id=dsr.pk)
    assert mail.outbox[0].to == [EMAIL]
