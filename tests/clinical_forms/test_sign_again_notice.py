"""After a reported change of health the client is asked, once per report, to sign their forms again.

The notice goes to the next upcoming visit that needs a medical history or treatment consent: an email, and a
text only with consent to appointment texts (asked again when the text goes, and held for quiet hours), both
with that visit's private forms link, in the client's language, and never a word of health data.
With no upcoming visit that needs those forms, nothing is sent (a later booking sends its own forms link).
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from clinical_forms import services
from clinical_forms.links import forms_url
from clinical_forms.models import FormKind, HealthChangeNotice, ReportedVia, SubmissionStatus
from messaging.models import MessageKind, MessageStatus, SmsMessage
from messaging.sending import deliver_sms
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic
from tests.support.clinical_forms import form_template, submission

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
TUESDAY_NOON = datetime(2026, 12, 8, 12, 0, tzinfo=LA)  # inside texting hours
NIGHT = datetime(2026, 12, 8, 23, 30, tzinfo=LA)
NEXT_MORNING = datetime(2026, 12, 9, 8, 0, tzinfo=LA)  # texting hours open
THURSDAY_10 = datetime(2026, 12, 10, 10, 0, tzinfo=LA)
PHONE = "+14085550143"
NOTE = "Started isotretinoin last month"
SUBJECT = "Please review and sign your forms again"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(TUESDAY_NOON, tick=False):
        yield


@pytest.fixture
def clinic():
    location, service, (person,) = bookable_clinic(hours=((time(8), time(20)),))
    location.sms_from_number = "+14088211633"
    location.save()
    templates = [
        form_template(slug="medical-history", kind=FormKind.MEDICAL_HISTORY, services_=[service]),
        form_template(slug="neurotoxin-consent", services_=[service]),
    ]
    client = ClientFactory(mobile_phone=PHONE, email="dana@example.com")
    when = TUESDAY_NOON - timedelta(days=30)
    for template in templates:
        submission(
            client=client,
            template=template,
            answers={"allergies": "no"},
            status=SubmissionStatus.SIGNED,
            signer_name="Dana Reyes",
            signed_at=when,
            expires_at=when + timedelta(days=365),
            document="Signed by Dana Reyes",
            document_sha256="ab" * 32,
        )
    visit = AppointmentFactory(
        location=location, service=service, practitioner=person, client=client, start=THURSDAY_10
    )
    return {"location": location, "service": service, "person": person, "client": client, "visit": visit}


def consent_to_texts(client, granted=True):
    record_consent(
        client=client,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=granted,
        notice_text="Texts",
        source=ConsentSource.BOOKING_FORM,
    )


def report(client, capture):
    with capture(execute=True):
        return services.report_health_change(client_id=client.pk, via=ReportedVia.FORMS_LINK, note=NOTE)


def notices():
    return [m for m in mail.outbox if m.subject.startswith(SUBJECT)]


def sign_again_texts():
    return SmsMessage.objects.filter(dedupe_key__startswith="forms-sign-again:")


@pytest.mark.policy("health-data-access")
def test_a_report_emails_and_texts_the_next_visits_forms_link_without_health_data(
    clinic, django_capture_on_commit_callbacks, sms_outbox
):
    consent_to_texts(clinic["client"])
    report(clinic["client"], django_capture_on_commit_callbacks)

    (email,) = notices()
    assert email.to == ["dana@example.com"]
    assert forms_url(clinic["visit"]) in email.body and "Thu Dec 10 at 10:00 AM PST" in email.body
    (text,) = sign_again_texts()
    assert text.kind == MessageKind.FORMS and text.appointment == clinic["visit"]
    assert forms_url(clinic["visit"]) in text.body and "Thu Dec 10" in text.body
    for body in (email.subject, email.body, text.body):
        assert "isotretinoin" not in body.lower() and "health" not in body.lower()
        assert "Medical History" not in body and "Consent" not in body
    text.refresh_from_db()
    assert text.status == MessageStatus.SENT
    assert [m.to for m in sms_outbox] == [PHONE]


@pytest.mark.policy("health-data-access")
def test_once_per_report_however_often_the_task_runs(clinic, django_capture_on_commit_callbacks):
    consent_to_texts(clinic["client"])
    first = report(clinic["client"], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.send_health_change_notice(report_id=first.pk)
    assert again == {"emailed": False, "texted": False}
    assert len(notices()) == 1 and sign_again_texts().count() == 1


@pytest.mark.policy("health-data-access")
def test_once_per_visit_so_a_forwarded_link_posted_again_and_again_does_not_flood_the_client(
    clinic, django_capture_on_commit_callbacks
):
    consent_to_texts(clinic["client"])
    for _ in range(3):
        report(clinic["client"], django_capture_on_commit_callbacks)
    assert len(notices()) == 1 and sign_again_texts().count() == 1
    assert HealthChangeNotice.objects.count() == 3  # each report is recorded; only the first notice names the visit
    assert HealthChangeNotice.objects.filter(appointment=clinic["visit"]).count() == 1

    later_visit = AppointmentFactory(
        location=clinic["location"],
        service=clinic["service"],
        practitioner=clinic["person"],
        client=clinic["client"],
        start=THURSDAY_10 + timedelta(days=7),
    )
    clinic["visit"].delete()  # the notified visit is gone: the next report asks for the next visit
    report(clinic["client"], django_capture_on_commit_callbacks)
    assert len(notices()) == 2 and forms_url(later_visit) in notices()[-1].body


@pytest.mark.policy("sms-program")
def test_no_text_without_consent_to_texts_only_the_email(clinic, django_capture_on_commit_callbacks, sms_outbox):
    report(clinic["client"], django_capture_on_commit_callbacks)
    assert len(notices()) == 1 and not sign_again_texts().exists()
    assert sms_outbox == []


@pytest.mark.policy("sms-program")
def test_a_text_queued_before_a_withdrawal_of_consent_is_not_sent(
    clinic, django_capture_on_commit_callbacks, sms_outbox
):
    consent_to_texts(clinic["client"])
    with time_machine.travel(NIGHT, tick=False):  # held for quiet hours
        report(clinic["client"], django_capture_on_commit_callbacks)
    (text,) = sign_again_texts()
    consent_to_texts(clinic["client"], granted=False)  # withdrawn before the text went
    with time_machine.travel(NEXT_MORNING, tick=False):
        assert deliver_sms(message_id=text.pk).outcome == "skipped"
    text.refresh_from_db()
    assert text.status == MessageStatus.SKIPPED and "consent" in text.status_reason.lower()
    assert sms_outbox == []


@pytest.mark.policy("sms-quiet-hours")
def test_a_report_at_night_holds_the_text_until_texting_hours(clinic, django_capture_on_commit_callbacks):
    consent_to_texts(clinic["client"])
    with time_machine.travel(NIGHT, tick=False):
        report(clinic["client"], django_capture_on_commit_callbacks)
    (text,) = sign_again_texts()
    assert text.status == MessageStatus.QUEUED
    assert text.send_after == NEXT_MORNING
    assert len(notices()) == 1  # email is not held: quiet hours are for texts


def test_no_notice_without_an_upcoming_visit_needing_those_forms(clinic, django_capture_on_commit_callbacks):
    consent_to_texts(clinic["client"])
    clinic["visit"].delete()
    other = bookable_clinic()[1]  # a service needing no form
    AppointmentFactory(
        location=clinic["location"],
        practitioner=clinic["person"],
        service=other,
        client=clinic["client"],
        start=THURSDAY_10,
    )
    result = report(clinic["client"], django_capture_on_commit_callbacks)
    assert notices() == [] and not sign_again_texts().exists()
    assert HealthChangeNotice.objects.get(report=result).appointment is None


def test_the_notice_names_the_earliest_upcoming_visit_needing_the_forms(clinic, django_capture_on_commit_callbacks):
    later = AppointmentFactory(
        location=clinic["location"],
        service=clinic["service"],
        practitioner=clinic["person"],
        client=clinic["client"],
        start=THURSDAY_10 + timedelta(days=7),
    )
    result = report(clinic["client"], django_capture_on_commit_callbacks)
    assert HealthChangeNotice.objects.get(report=result).appointment == clinic["visit"]
    assert forms_url(later) not in notices()[0].body


def test_the_notice_is_in_the_clients_language(clinic, django_capture_on_commit_callbacks):
    clinic["client"].language = "es"
    clinic["client"].save()
    consent_to_texts(clinic["client"])
    report(clinic["client"], django_capture_on_commit_callbacks)
    (email,) = [m for m in mail.outbox if forms_url(clinic["visit"]) in m.body]
    assert email.subject.startswith("Por favor") and "Hola" in email.body
    assert "vuelva a firmar" in sign_again_texts().get().body


def test_a_mail_fault_is_retried_and_the_email_still_goes_once(clinic, django_capture_on_commit_callbacks, settings):
    # A real SMTP connection to a port nobody listens on: the mail server is down.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    with django_capture_on_commit_callbacks(execute=False):
        result = services.report_health_change(client_id=clinic["client"].pk, via=ReportedVia.FORMS_LINK)
    with pytest.raises(OSError):
        services.send_health_change_notice(report_id=result.pk)
    assert HealthChangeNotice.objects.get(report=result).emailed_at is None  # released for the retry
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.send_health_change_notice(report_id=result.pk)["emailed"]
    assert not services.send_health_change_notice(report_id=result.pk)["emailed"]
    assert len(notices()) == 1


def test_a_notice_whose_task_never_ran_is_sent_by_the_sweeper_once(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the broker was down: the task never ran
        result = services.report_health_change(client_id=clinic["client"].pk, via=ReportedVia.FRONT_DESK)
    assert services.send_missing_health_change_notices() == 0  # its own task may still be on its way
    with time_machine.travel(TUESDAY_NOON + timedelta(minutes=10), tick=False):
        assert services.send_missing_health_change_notices() == 1
        assert services.send_missing_health_change_notices() == 0
    assert len(notices()) == 1 and HealthChangeNotice.objects.get(report=result).emailed_at is not None


def test_an_email_the_mail_server_kept_refusing_is_sent_by_a_later_sweep_and_the_sweep_never_raises(
    clinic, django_capture_on_commit_callbacks, settings
):
    """Rule: the sign-again email goes once, even past the task's retries (the sweeper was blind to a notice
    that existed but whose email never went, and one mail fault raised out of the reminders' beat)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # a port nobody listens on
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    with django_capture_on_commit_callbacks(execute=False):
        result = services.report_health_change(client_id=clinic["client"].pk, via=ReportedVia.FRONT_DESK)
    with pytest.raises(OSError):  # the task's last retry
        services.send_health_change_notice(report_id=result.pk)
    with time_machine.travel(TUESDAY_NOON + timedelta(minutes=10), tick=False):
        assert services.send_missing_health_change_notices() == 0  # still down: logged, not raised
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert services.send_missing_health_change_notices() == 1
        assert services.send_missing_health_change_notices() == 0
    assert len(notices()) == 1 and HealthChangeNotice.objects.get(report=result).emailed_at is not None


@pytest.mark.policy("sms-program")
def test_the_booking_forms_link_text_is_also_stopped_at_send_time_after_a_withdrawal(
    clinic, django_capture_on_commit_callbacks, sms_outbox
):
    newcomer = ClientFactory(mobile_phone="+14085550177")
    consent_to_texts(newcomer)
    visit = AppointmentFactory(
        location=clinic["location"],
        service=clinic["service"],
        practitioner=clinic["person"],
        client=newcomer,
        start=THURSDAY_10 + timedelta(hours=2),
    )
    with time_machine.travel(NIGHT, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert services.send_forms_link(appointment_id=visit.pk)["texted"]
    text = SmsMessage.objects.get(dedupe_key=f"forms-link:{visit.pk}")
    assert text.kind == MessageKind.FORMS and text.status == MessageStatus.QUEUED  # held for quiet hours
    consent_to_texts(newcomer, granted=False)
    with time_machine.travel(NEXT_MORNING, tick=False):
        assert deliver_sms(message_id=text.pk).outcome == "skipped"
    assert sms_outbox == []
