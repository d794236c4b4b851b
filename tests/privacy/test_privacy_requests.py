"""Privacy-rights requests end to end: intake, verification, deadlines, fulfilment, erasure, retention."""

import io
import json
import re
import zipfile
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from clinic.hashing import contact_hash
from clinic.models import Client
from messaging.marketing import campaign_audience
from messaging.models import Channel, EmailOptOut, SmsMessage, SmsOptOut
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from privacy.requests_models import (
    AuditAction,
    DataSubjectRequest,
    ErasureTombstone,
    PrivacyAuditEvent,
    Regime,
    RequestStatus,
    RequestType,
)
from privacy.retention import apply_retention
from privacy.selectors import has_consent
from privacy.services import record_consent
from privacy.subject_requests import RequestRefused, due_date, extend_deadline, send_export_link
from tests.support.builders import ClientFactory
from tests.support.privacy_requests import EMAIL, LA, PHONE, sent_code, submit, verify_link

pytestmark = pytest.mark.django_db
# --- Intake --------------------------------------------------------------------


@pytest.mark.policy("rights-how")
def test_intake_answers_the_same_for_known_and_unknown_emails(client, dana, run_tasks):
    known = submit(client, run_tasks, RequestType.ACCESS).content.decode()
    unknown = submit(client, run_tasks, RequestType.ACCESS, email="nobody@example.com").content.decode()
    strip = lambda html: re.sub(r'(PR-[0-9A-F]{8}|name="csrfmiddlewaretoken" value="[^"]+")', "", html)  # noqa: E731
    assert strip(known) == strip(unknown)
    # The random reference (PR-…) may itself hold "555": it is stripped before looking for the phone.
    assert "Reyesworth" not in strip(known) and "555" not in strip(known)


@pytest.mark.policy("rights-how")
def test_acknowledgement_email_has_reference_and_a_verification_link(client, dana, run_tasks):
    submit(client, run_tasks, RequestType.ACCESS)
    dsr = DataSubjectRequest.objects.get()
    (ack,) = mail.outbox
    assert ack.to == [EMAIL] and dsr.reference in ack.body and "/privacy/requests/verify/" in ack.body
    assert dsr.status == RequestStatus.RECEIVED and dsr.acknowledged_at is not None


def test_bad_input_rerenders_with_errors(client, run_tasks):
    response = submit(client, run_tasks, "delete-everything", email="not-an-email")
    assert response.status_code == 200 and "errorsummary" in response.content.decode()
    assert not DataSubjectRequest.objects.exists()


# --- Verification ----------------------------------------------------------------


@pytest.mark.policy("rights-objection")
def test_objection_takes_effect_at_verification(client, dana, run_tasks):
    submit(client, run_tasks, RequestType.OBJECTION)
    link = verify_link(mail.outbox[0])
    assert client.get(link).status_code == 200 and has_consent(
        client=dana, purpose=ConsentPurpose.SMS_MARKETING
    )  # GET does nothing
    client.post(link)
    dsr = DataSubjectRequest.objects.get()
    assert dsr.status == RequestStatus.COMPLETED
    assert not has_consent(client=dana, purpose=ConsentPurpose.SMS_MARKETING)
    assert not has_consent(client=dana, purpose=ConsentPurpose.EMAIL_MARKETING)
    assert has_consent(client=dana, purpose=ConsentPurpose.SMS_REMINDERS)  # reminders are not direct marketing
    assert campaign_audience(channel=Channel.SMS) == [] and campaign_audience(channel=Channel.EMAIL) == []


@pytest.mark.policy("rights-how")
def test_verification_link_works_once(client, dana, run_tasks):
    submit(client, run_tasks, RequestType.WITHDRAW_CONSENT)
    link = verify_link(mail.outbox[0])
    assert client.post(link).status_code == 200
    second = client.post(link)
    assert second.status_code == 410 and "already been used" in second.content.decode()


def test_expired_or_tampered_links_get_a_clear_page_not_a_500(client, dana, run_tasks, settings):
    submit(client, run_tasks, RequestType.WITHDRAW_CONSENT)
    link = verify_link(mail.outbox[0])
    assert client.post(link[:-3] + "xx/").status_code == 410
    with time_machine.travel(datetime.now(LA) + timedelta(hours=73)):
        response = client.post(link)
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert DataSubjectRequest.objects.get().status == RequestStatus.RECEIVED


@pytest.mark.policy("erasure-14-days")
def test_deletion_also_needs_the_code_texted_to_the_phone_on_file(client, dana, run_tasks, sms_outbox):
    submit(client, run_tasks, RequestType.ERASURE)
    with run_tasks():
        response = client.post(verify_link(mail.outbox[0]))
    assert response.status_code == 302 and response["Location"] == reverse("privacy:request_code")
    assert DataSubjectRequest.objects.get().status == RequestStatus.RECEIVED
    assert sms_outbox[-1].to == PHONE
    wrong = client.post(
        reverse("privacy:request_code"), {"code": "000000" if sent_code(sms_outbox) != "000000" else "111111"}
    )
    assert "not right" in wrong.content.decode()
    client.post(reverse("privacy:request_code"), {"code": sent_code(sms_outbox)})
    dsr = DataSubjectRequest.objects.get()
    assert dsr.status == RequestStatus.VERIFIED
    assert dsr.due_at <= dsr.verified_at + timedelta(days=14)


def test_code_page_without_the_email_step_reveals_nothing(client):
    response = client.post(reverse("privacy:request_code"), {"code": "123456"})
    assert response.status_code == 400


@pytest.mark.policy("share-no-sale")
def test_opt_out_of_sale_needs_no_verification(client, dana, run_tasks):
    record_consent(
        client=dana,
        purpose=ConsentPurpose.SALE_SHARING,
        granted=True,
        notice_text="x",
        source=ConsentSource.COOKIE_BANNER,
    )
    submit(client, run_tasks, RequestType.OPT_OUT_SALE)
    assert not has_consent(client=dana, purpose=ConsentPurpose.SALE_SHARING)


@pytest.mark.policy("rights-restriction")
def test_restriction_flags_the_client_and_stops_reminders(client, dana, run_tasks):
    submit(client, run_tasks, RequestType.RESTRICTION)
    client.post(verify_link(mail.outbox[0]))
    dana.refresh_from_db()
    assert dana.processing_restricted
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.PROCESSING_RESTRICTED, client=dana).exists()


# --- Deadlines ---------------------------------------------------------------------


@pytest.mark.policy("rights-deadlines")
def test_deadlines_as_the_laws_count_them(settings):
    received = datetime(2026, 1, 31, 12, tzinfo=LA)
    assert due_date(received, Regime.GDPR) == datetime(2026, 2, 28, 12, tzinfo=LA)  # one calendar month
    assert due_date(received, Regime.CCPA) == received + timedelta(days=45)
    assert due_date(received, "strictest") == datetime(2026, 2, 28, 12, tzinfo=LA)


@pytest.mark.policy("rights-deadlines")
def test_extension_needs_a_reason_is_told_to_the_person_and_happens_once(dana, run_tasks):
    from privacy.subject_requests import submit_request

    dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL)
    with pytest.raises(RequestRefused, match="needs a reason"):
        extend_deadline(request_id=dsr.pk, reason="  ")
    with run_tasks():  # told once the extension is committed
        extend_deadline(request_id=dsr.pk, reason="Records are on paper at the other location.")
    dsr.refresh_from_db()
    assert dsr.extended_due_at > dsr.due_at and dsr.extension_notified_at is not None
    assert any("Records are on paper" in m.body for m in mail.outbox)
    with pytest.raises(RequestRefused, match="already been extended"):
        extend_deadline(request_id=dsr.pk, reason="Again")


def test_gdpr_extension_must_be_told_within_the_first_month(dana):
    from privacy.subject_requests import submit_request

    dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL)
    with pytest.raises(RequestRefused, match="within the first month"):
        extend_deadline(request_id=dsr.pk, reason="Late", now=dsr.received_at + timedelta(days=40))


# --- Access and portability ------------------------------------------------------------


def verified_access_request(client, run_tasks, sms_outbox):
    submit(client, run_tasks, RequestType.ACCESS)
    with run_tasks():
        client.post(verify_link(mail.outbox[0]))
    client.post(reverse("privacy:request_code"), {"code": sent_code(sms_outbox)})
    return DataSubjectRequest.objects.get()


@pytest.mark.policy("rights-access-portability")
def test_verified_requester_downloads_a_complete_bundle(client, dana, run_tasks, sms_outbox):
    dsr = verified_access_request(client, run_tasks, sms_outbox)
    mail.outbox.clear()
    with run_tasks():  # the email leaves once the link is committed
        send_export_link(request_id=dsr.pk)
    url = re.search(r"http://testserver(\S+/download/\S+)", mail.outbox[0].body).group(1)
    assert client.get(url)["Content-Type"].startswith("text/html")  # a button: mail scanners follow links
    response = client.post(url, {"action": "download"})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(bundle.namelist())
    assert {
        "data.json",
        "summary.html",
        "client.csv",
        "appointments.csv",
        "consent_history.csv",
        "messages.csv",
        "privacy_requests.csv",
    } <= names
    data = json.loads(bundle.read("data.json"))
    assert data["schema"] == "clinic-subject-export/1"
    assert data["categories"]["client"][0]["email"] == EMAIL
    assert data["categories"]["appointments"][0]["notes"] == "Dana prefers mornings"
    assert len(data["categories"]["consent_history"]) == 3
    assert {"Hi Dana, see you Tuesday", "Thanks! Dana"} <= {m["body"] for m in data["categories"]["messages"]}
    assert "Reyesworth" in bundle.read("summary.html").decode()
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_EXPORTED, request=dsr).exists()


@pytest.mark.policy("rights-access-portability")
def test_unverified_requester_gets_nothing(client, dana, run_tasks):
    from privacy.subject_requests import download_token

    submit(client, run_tasks, RequestType.ACCESS)
    dsr = DataSubjectRequest.objects.get()
    response = client.get(reverse("privacy:request_download", args=[download_token(dsr)]))
    assert response.status_code == 410 and b"PK" not in response.content[:2]
    with pytest.raises(RequestRefused, match="Only a verified request"):
        send_export_link(request_id=dsr.pk)


# --- Erasure ---------------------------------------------------------------------------


def text_columns_containing(*needles):
    """Every (table, column) of the database whose text holds any needle, case-insensitive."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                if connection.vendor == "postgresql" and column.type_code not in (25, 1043, 1042, 114, 3802):
                    continue  # text, varchar, char, json, jsonb
                for needle in needles:
                    cursor.execute(
                        f'SELECT COUNT(*) FROM "{table}" WHERE LOWER(CAST("{column.name}" AS TEXT)) LIKE %s',
                        [f"%{needle.lower()}%"],
                    )
                    if cursor.fetchone()[0]:
                        hits.append((table, column.name, needle))
    return hits


@pytest.mark.policy("rights-correction", "rights-erasure")
def test_erasure_leaves_no_trace_but_the_hashed_suppression_entry(client, dana, run_tasks, sms_outbox, admin_client):
    # Staff touched the record, so the admin's history names the client too.
    admin_client.post(
        reverse("admin:clinic_client_change", args=[dana.pk]),
        {
            "first_name": "Dana",
            "last_name": "Reyesworth",
            "email": EMAIL,
            "mobile_phone": PHONE,
            "consent_records-TOTAL_FORMS": "0",
            "consent_records-INITIAL_FORMS": "0",
            "appointments-TOTAL_FORMS": "0",
            "appointments-INITIAL_FORMS": "0",
            "sms_messages-TOTAL_FORMS": "0",
            "sms_messages-INITIAL_FORMS": "0",
        },
    )
    submit(client, run_tasks, RequestType.ERASURE, details="Please delete everything, Dana Reyesworth")
    with run_tasks():
        client.post(verify_link(mail.outbox[0]))
    client.post(reverse("privacy:request_code"), {"code": sent_code(sms_outbox)})
    call_command("erase_subject", "--email", EMAIL)

    assert text_columns_containing("Reyesworth", EMAIL, PHONE, "4085550143") == []
    dana.refresh_from_db()
    assert dana.erased_at is not None and dana.first_name == "Erased"
    # Kept: the anonymised appointment for the accounts, and the hashed opt-outs.
    appointment = Appointment.objects.get()
    assert appointment.client_id == dana.pk and appointment.notes == ""
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()
    assert EmailOptOut.objects.filter(email_hash=contact_hash(EMAIL)).exists()
    assert DataSubjectRequest.objects.get().status == RequestStatus.COMPLETED
    # The person books again later: still never texted or marketed to.
    returning = ClientFactory(email=EMAIL, mobile_phone=PHONE)
    record_consent(
        client=returning,
        purpose=ConsentPurpose.SMS_MARKETING,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    assert campaign_audience(channel=Channel.SMS) == []


@pytest.mark.policy("erasure-legal-hold")
def test_erasure_is_idempotent_and_refused_under_legal_hold(dana):
    from privacy.erasure import ErasureRefused, erase_clients, fulfil_erasure_request
    from privacy.subject_requests import submit_request

    dsr = submit_request(request_type=RequestType.ERASURE, email=EMAIL)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        status=RequestStatus.VERIFIED, legal_hold=True, legal_hold_reason="Subpoena in case 26-123"
    )
    dsr.clients.set([dana])
    with pytest.raises(ErasureRefused):
        fulfil_erasure_request(request_id=dsr.pk)
    dsr.refresh_from_db()
    dana.refresh_from_db()
    assert dsr.status == RequestStatus.REFUSED and "Subpoena" in dsr.refusal_basis and dana.email == EMAIL
    erase_clients(client_ids=[dana.pk])
    erase_clients(client_ids=[dana.pk])
    dana.refresh_from_db()
    assert dana.first_name == "Erased" and ConsentRecord.objects.filter(client=dana).count() == 3


@pytest.mark.policy("children", "rights-erasure")
def test_erase_command_needs_a_verified_request_or_force_with_reason(dana):
    with pytest.raises(CommandError):
        call_command("erase_subject", "--email", EMAIL)
    with pytest.raises(CommandError):
        call_command("erase_subject", "--email", EMAIL, "--force")
    call_command("erase_subject", "--email", EMAIL, "--force", "--reason", "Court order 26-77")
    assert Client.objects.get(pk=dana.pk).erased_at is not None
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_ERASED, detail__contains="Court order").exists()


@pytest.mark.policy("rights-erasure")
def test_after_restoring_an_older_backup_erasures_are_applied_again(dana, tmp_path):
    from privacy.erasure import erase_clients

    family = ClientFactory(first_name="Sam", email="", mobile_phone="+14085550199")
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        erase_clients(client_ids=[dana.pk, family.pk])
    out = io.StringIO()
    call_command("erased_contact_hashes", stdout=out)  # on the newest database
    tombstones = tmp_path / "erased.txt"
    tombstones.write_text(out.getvalue())
    assert {line.split()[0] for line in out.getvalue().splitlines()} == {"email", "phone"}
    assert EMAIL not in out.getvalue() and "4085550143" not in out.getvalue()

    # The restored backup predates the erasures: Dana and Sam are back. Also there: Dana's
    # sister on the same number (her own email), and someone who signs up with Sam's number
    # after the erasure.
    restored = ClientFactory(first_name="Dana", last_name="Reyesworth", email=EMAIL.upper(), mobile_phone=PHONE)
    sam_again = ClientFactory(first_name="Sam", email="", mobile_phone="+14085550199")
    sister = ClientFactory(first_name="Ana", email="ana.reyes@example.com", mobile_phone=PHONE)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        newcomer = ClientFactory(first_name="Lee", email="", mobile_phone="+14085550199")
    out = io.StringIO()
    call_command("reapply_erasures", str(tombstones), stdout=out)
    for person in (restored, sam_again, sister, newcomer):
        person.refresh_from_db()
    assert restored.erased_at is not None and "Reyesworth" not in restored.last_name
    assert sam_again.erased_at is not None
    assert sister.erased_at is None and newcomer.erased_at is None
    assert "Erased again: 2 client(s)" in out.getvalue()
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_ERASED, detail__contains="restore").count() == 2
    with pytest.raises(CommandError):
        call_command("reapply_erasures", str(tmp_path / "missing.txt"))
    (tmp_path / "junk.txt").write_text("not a tombstone\n")
    with pytest.raises(CommandError):
        call_command("reapply_erasures", str(tmp_path / "junk.txt"))


def test_export_command_writes_the_bundle(dana, tmp_path):
    out = tmp_path / "dana.zip"
    call_command("export_subject_data", "--email", EMAIL, "--out", str(out))
    assert "data.json" in zipfile.ZipFile(out).namelist()


# --- Admin and audit -------------------------------------------------------------------------


@pytest.mark.policy("security")
def test_staff_views_and_exports_are_recorded(admin_client, dana, admin_user):
    admin_client.get(reverse("admin:clinic_client_change", args=[dana.pk]))
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_VIEWED, client=dana, actor=admin_user).exists()


def test_register_lists_overdue_first_and_exports_csv(admin_client, dana):
    from privacy.subject_requests import submit_request

    old = submit_request(request_type=RequestType.ACCESS, email=EMAIL, now=datetime(2026, 1, 1, tzinfo=LA))
    DataSubjectRequest.objects.filter(pk=old.pk).update(status=RequestStatus.VERIFIED)
    html = admin_client.get(reverse("admin:privacy_datasubjectrequest_changelist")).content.decode()
    assert "OVERDUE" in html
    response = admin_client.post(
        reverse("admin:privacy_datasubjectrequest_changelist"),
        {"action": "export_register_csv", "_selected_action": [old.pk]},
    )
    assert response["Content-Type"] == "text/csv" and old.reference in response.content.decode()


@pytest.mark.policy("rights-deadlines")
def test_daily_digest_reaches_privacy_officers(dana, django_user_model):
    from django.contrib.auth.models import Group

    from privacy.digest import send_digest
    from privacy.subject_requests import submit_request

    officer = django_user_model.objects.create_user("officer", email="officer@clinic.example", password="x" * 12)
    officer.groups.add(Group.objects.get(name="Privacy officer"))
    dsr = submit_request(request_type=RequestType.ACCESS, email=EMAIL, now=datetime(2026, 1, 1, tzinfo=LA))
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=RequestStatus.VERIFIED)
    mail.outbox.clear()
    assert send_digest() == 1
    assert mail.outbox[0].to == ["officer@clinic.example"] and dsr.reference in mail.outbox[0].body


# --- Retention -----------------------------------------------------------------------------------


@pytest.mark.policy("retention")
def test_erasure_tombstones_go_once_no_backup_that_could_be_restored_predates_them(dana, settings):
    from privacy.erasure import erase_clients

    settings.BACKUP_RETENTION_DAYS = 35
    erase_clients(client_ids=[dana.pk])
    erased_at = ErasureTombstone.objects.get(kind="email").erased_at
    assert ErasureTombstone.objects.count() == 2  # email and phone

    assert apply_retention(now=erased_at + timedelta(days=35, hours=23))["erasure_tombstones"] == 0
    assert ErasureTombstone.objects.count() == 2  # a 35-day-old backup may still be restored
    assert apply_retention(dry_run=True, now=erased_at + timedelta(days=36, seconds=1))["erasure_tombstones"] == 2
    assert ErasureTombstone.objects.count() == 2
    apply_retention(now=erased_at + timedelta(days=36, seconds=1))
    assert not ErasureTombstone.objects.exists()


@pytest.mark.policy("retention")
def test_retention_wipes_old_texts_purges_unverified_requests_and_anonymises_long_inactive_clients(dana, settings):
    from privacy.subject_requests import submit_request

    now = datetime(2027, 6, 1, tzinfo=LA)
    SmsMessage.objects.update(created_at=now - timedelta(days=400))
    stale = submit_request(request_type=RequestType.ACCESS, email="x@example.com", now=now - timedelta(days=40))
    DataSubjectRequest.objects.filter(pk=stale.pk).update(
        acknowledged_at=now - timedelta(days=40)
    )  # the link reached them
    kept = submit_request(request_type=RequestType.ACCESS, email="y@example.com", now=now - timedelta(days=40))
    DataSubjectRequest.objects.filter(pk=kept.pk).update(
        status=RequestStatus.COMPLETED, verified_at=now - timedelta(days=39)
    )
    sleeper = ClientFactory(last_name="Sleeperton")
    Client.objects.filter(pk=sleeper.pk).update(created_at=now - timedelta(days=365 * 8))

    expected = {"sms_bodies": 2, "unverified_requests": 1, "erasure_tombstones": 0, "inactive_clients": 1}
    assert apply_retention(dry_run=True, now=now) == expected
    assert SmsMessage.objects.filter(body__contains="Dana").count() == 2  # dry run changed nothing
    apply_retention(now=now)
    assert not SmsMessage.objects.filter(body__contains="Dana").exists()
    assert (
        not DataSubjectRequest.objects.filter(pk=stale.pk).exists()
        and DataSubjectRequest.objects.filter(pk=kept.pk).exists()
    )
    assert Client.objects.get(pk=sleeper.pk).erased_at is not None
    assert Client.objects.get(pk=dana.pk).erased_at is None  # has a recent appointment
