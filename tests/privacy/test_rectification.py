"""Correction (rectification): saved, audited by field name, and propagated to what was derived from the old values."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.urls import reverse

from appointments.services import send_confirmation_email
from clinic.hashing import contact_hash
from messaging.marketing import deliver_campaign_email
from messaging.models import (
    Campaign,
    CampaignEmail,
    CampaignStatus,
    Channel,
    MessageKind,
    MessageStatus,
    SmsMessage,
    SmsOptOut,
)
from messaging.opt_outs import add_sms_opt_out
from messaging.opt_outs import is_sms_opted_out as is_opted_out
from messaging.sending import deliver_sms
from privacy.models import ConsentPurpose, ConsentSource
from privacy.rectification import CorrectionRefused, correct_client
from privacy.requests_models import AuditAction, PrivacyAuditEvent
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic, prove_contacts

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=LA)
OLD_PHONE, NEW_PHONE = "+14085550123", "+14085550456"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def jo():
    person = ClientFactory(first_name="Jo", last_name="Brightwater", email="jo.old@example.com", mobile_phone=OLD_PHONE)
    for purpose in (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.EMAIL_MARKETING):
        record_consent(client=person, purpose=purpose, granted=True, notice_text="x", source=ConsentSource.BOOKING_FORM)
    location, service, (practitioner,) = bookable_clinic()
    person.preferred_location = location
    person.save()
    appointment = AppointmentFactory(
        client=person, location=location, service=service, practitioner=practitioner, start=NOW + timedelta(days=2)
    )
    return person, appointment


def admin_correct(admin_client, person, **changes):
    data = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "mobile_phone": str(person.mobile_phone),
        "preferred_location": person.preferred_location_id or "",
        "consent_records-TOTAL_FORMS": "0",
        "consent_records-INITIAL_FORMS": "0",
        "appointments-TOTAL_FORMS": "0",
        "appointments-INITIAL_FORMS": "0",
        "sms_messages-TOTAL_FORMS": "0",
        "sms_messages-INITIAL_FORMS": "0",
        **changes,
    }
    response = admin_client.post(reverse("admin:clinic_client_change", args=[person.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()


@pytest.mark.policy("rights-correction")
def test_staff_correction_is_saved_and_audited_by_field_name_only(admin_client, jo):
    person, _ = jo
    admin_correct(admin_client, person, first_name="Joanna", mobile_phone=NEW_PHONE)
    assert person.first_name == "Joanna" and str(person.mobile_phone) == NEW_PHONE
    event = PrivacyAuditEvent.objects.get(action=AuditAction.DATA_CORRECTED, client=person)
    assert event.actor is not None and sorted(event.detail.split(", ")) == ["first_name", "mobile_phone"]
    assert "Joanna" not in event.detail and NEW_PHONE not in event.detail  # values are personal data
    assert LogEntry.objects.filter(object_id=str(person.pk)).exists()  # the admin's own history too


@pytest.mark.policy("rights-correction")
def test_a_corrected_number_and_name_reach_the_texts_already_queued(admin_client, jo, sms_outbox):
    person, appointment = jo
    reminder = SmsMessage.objects.create(
        to_number=OLD_PHONE,
        body="Hi Jo, a reminder of your visit on Wednesday.",
        client=person,
        location=appointment.location,
        appointment=appointment,
        kind=MessageKind.REMINDER,
        send_after=NOW + timedelta(days=1),
        appointment_start=appointment.start,
    )
    admin_correct(admin_client, person, first_name="Joanna", mobile_phone=NEW_PHONE)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        deliver_sms(message_id=reminder.pk)
    assert [(m.to, m.body.split(",")[0]) for m in sms_outbox] == [(NEW_PHONE, "Hi Joanna")]


@pytest.mark.policy("rights-correction")
def test_removing_the_number_cancels_what_was_queued_for_it(jo):
    person, appointment = jo
    reminder = SmsMessage.objects.create(
        to_number=OLD_PHONE,
        body="Hi Jo",
        client=person,
        location=appointment.location,
        kind=MessageKind.REMINDER,
        send_after=NOW + timedelta(days=1),
    )
    correct_client(client_id=person.pk, changes={"mobile_phone": ""})
    reminder.refresh_from_db()
    assert reminder.status == MessageStatus.SKIPPED and reminder.to_number == OLD_PHONE


@pytest.mark.policy("rights-correction", "sms-stop")
def test_the_opt_out_stays_with_the_number_not_the_person(jo):
    """Jo's old number texted STOP. After the correction the old number stays stopped (whoever has it now),
    and Jo's new number is not on the list because of a STOP sent from another number."""
    person, _ = jo
    add_sms_opt_out(phone=OLD_PHONE, reason="STOP", source="sms_keyword")
    correct_client(client_id=person.pk, changes={"mobile_phone": NEW_PHONE})
    assert is_opted_out(OLD_PHONE) and not is_opted_out(NEW_PHONE)
    assert list(SmsOptOut.objects.values_list("phone_hash", flat=True)) == [contact_hash(OLD_PHONE)]


@pytest.mark.policy("rights-correction")
def test_a_corrected_email_moves_queued_marketing_email_and_future_confirmations_use_the_corrected_name(jo, sms_outbox):
    person, appointment = jo
    campaign = Campaign.objects.create(
        name="Spring", channel=Channel.EMAIL, subject="Spring", body="Offers", status=CampaignStatus.SENT, send_at=NOW
    )
    queued = CampaignEmail.objects.create(campaign=campaign, client=person, to_email=person.email)
    changed = correct_client(client_id=person.pk, changes={"email": "Jo.New@Example.com", "first_name": "Joanna"})
    assert changed == ["email", "first_name"]
    # A corrected address is unproven until its owner confirms it (double opt-in); here Jo has.
    prove_contacts(person, phone=False)
    mail.outbox.clear()
    deliver_campaign_email(email_id=queued.pk)
    assert [m.to for m in mail.outbox] == [["jo.new@example.com"]]
    # A confirmation written after the correction greets the corrected name, at the corrected address.
    mail.outbox.clear()
    send_confirmation_email(appointment_id=appointment.pk)
    assert mail.outbox[0].to == ["jo.new@example.com"] and "Joanna" in mail.outbox[0].body


@pytest.mark.policy("rights-correction")
def test_an_unchanged_save_records_nothing_and_an_erased_client_cannot_be_corrected(jo):
    person, _ = jo
    assert correct_client(client_id=person.pk, changes={"first_name": "Jo", "mobile_phone": OLD_PHONE}) == []
    assert not PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_CORRECTED).exists()
    from privacy.erasure import erase_clients

    erase_clients(client_ids=[person.pk])
    with pytest.raises(CorrectionRefused):
        correct_client(client_id=person.pk, changes={"first_name": "Someone"})


@pytest.mark.policy("rights-correction")
def test_saving_an_erased_clients_admin_page_is_refused_on_the_form_not_a_500(admin_client, jo):
    """Staff who edit an erased (anonymised) record get the form back with the reason; nothing is written."""
    from privacy.erasure import erase_clients

    person, _ = jo
    erase_clients(client_ids=[person.pk])
    person.refresh_from_db()
    url = reverse("admin:clinic_client_change", args=[person.pk])
    data = {
        "first_name": "Jo",
        "last_name": "Brightwater",
        "email": "jo.back@example.com",
        "mobile_phone": "",
        "preferred_location": "",
        "notes": "typed back in",
        "consent_records-TOTAL_FORMS": "0",
        "consent_records-INITIAL_FORMS": "0",
        "appointments-TOTAL_FORMS": "0",
        "appointments-INITIAL_FORMS": "0",
        "sms_messages-TOTAL_FORMS": "0",
        "sms_messages-INITIAL_FORMS": "0",
    }
    admin_client.raise_request_exception = False
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "erased" in response.content.decode()
    after = type(person).objects.get(pk=person.pk)
    assert (after.first_name, after.email, after.notes) == (person.first_name, person.email, person.notes)


@pytest.mark.policy("rights-correction")
def test_the_client_form_cannot_lift_a_restriction_of_processing(admin_client, jo):
    """A restriction is the person's right, set and lifted through their privacy request (audited as such);
    unticking a box on the client page while correcting a name must not lift it."""
    person, _ = jo
    type(person).objects.filter(pk=person.pk).update(processing_restricted=True)
    person.refresh_from_db()
    admin_correct(admin_client, person, first_name="Joanna")  # the box is not posted: unticked
    assert person.first_name == "Joanna"
    assert person.processing_restricted is True
