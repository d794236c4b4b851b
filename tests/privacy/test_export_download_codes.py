"""A fresh code for opening an export in another browser: the person is told where it went, its email names the
request, the codes a request may get are capped in all, and a download through the link is audited."""

import re
import threading
import time

import pytest
from django.core import mail
from django.db import connection, transaction

from privacy.requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, RequestStatus, RequestType
from privacy.subject_requests import (
    MAX_CODES_SENT_IN_ALL,
    VerificationError,
    send_download_code,
    send_export_link,
    submit_request,
    use_download_link,
    verify_by_staff,
)
from tests.support.builders import ClientFactory
from tests.support.environment import requires_postgres

pytestmark = pytest.mark.django_db
EMAIL, PHONE = "dana.reyes@example.com", "+14085550143"


def export_link_for(django_capture_on_commit_callbacks, *, phone=PHONE):
    """A verified access request with its export link emailed; returns (request, the link's path)."""
    ClientFactory(email=EMAIL, mobile_phone=phone)
    dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL)
    verify_by_staff(request_id=dsr.pk, staff_user=None)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        send_export_link(request_id=dsr.pk)
    return dsr, re.search(r"http://testserver(\S+/download/\S+)", mail.outbox[0].body).group(1)


def test_the_page_says_the_fresh_code_went_by_text_when_it_was_texted(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    _, link = export_link_for(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(link, {"action": "send_code"})
    assert [m.to for m in sms_outbox] == [PHONE]
    assert "We sent a code by text to the mobile number on file." in page.content.decode()


def test_an_emailed_fresh_code_names_the_request_it_opens_and_its_life(
    client, settings, django_capture_on_commit_callbacks
):
    dsr, link = export_link_for(django_capture_on_commit_callbacks, phone="")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(link, {"action": "send_code"})
    assert "We sent a code to your email address." in page.content.decode()
    (message,) = mail.outbox
    assert message.to == [EMAIL] and dsr.reference in message.subject
    assert f"It expires in {settings.PRIVACY_SMS_CODE_MINUTES} minutes." in message.body


def test_fresh_codes_for_an_export_are_capped_in_all(sms_outbox, django_capture_on_commit_callbacks):
    dsr, _ = export_link_for(django_capture_on_commit_callbacks)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(sms_codes_sent=MAX_CODES_SENT_IN_ALL - 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_download_code(request_id=dsr.pk) == "sms"
        assert send_download_code(request_id=dsr.pk) is None
    assert len(sms_outbox) == 1
    assert DataSubjectRequest.objects.get().sms_codes_sent == MAX_CODES_SENT_IN_ALL


def test_a_download_through_the_link_is_audited_as_the_requesters_with_what_is_known_of_where_it_came_from(
    django_capture_on_commit_callbacks,
):
    dsr, link = export_link_for(django_capture_on_commit_callbacks)
    token = link.rstrip("/").rsplit("/", 1)[1]

    use_download_link(token=token, proof="fresh code", user_agent="B" * 400)

    dsr = DataSubjectRequest.objects.get(pk=dsr.pk)
    assert (dsr.status, dsr.outcome) == (RequestStatus.COMPLETED, "Export downloaded by the verified requester.")
    row = PrivacyAuditEvent.objects.get(request=dsr, action=AuditAction.DATA_EXPORTED)
    assert row.actor_label == "requester (download link)"
    assert " UTC from unknown address (fresh code); browser: " + "B" * 300 == row.detail[row.detail.index(" UTC") :]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_of_two_racing_downloads_through_one_link_only_one_gets_the_export(django_capture_on_commit_callbacks):
    # The link is single use: the second download waits on the request's row lock, then finds the link spent.
    dsr, link = export_link_for(django_capture_on_commit_callbacks)
    token = link.rstrip("/").rsplit("/", 1)[1]
    spent = threading.Event()

    def first_download_commits_a_moment_later():
        with transaction.atomic():
            use_download_link(token=token, proof="verified in this browser")
            spent.set()
            time.sleep(0.5)
        connection.close()

    first = threading.Thread(target=first_download_commits_a_moment_later)
    first.start()
    spent.wait()
    with pytest.raises(VerificationError, match="already been used"):
        use_download_link(token=token, proof="fresh code")
    first.join()

    assert PrivacyAuditEvent.objects.filter(request=dsr, action=AuditAction.DATA_EXPORTED).count() == 1
    assert DataSubjectRequest.objects.get(pk=dsr.pk).status == RequestStatus.COMPLETED
