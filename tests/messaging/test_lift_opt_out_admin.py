"""Staff lift a STOP on the person's behalf: managers and privacy officers only, with a reason, recorded and scoped."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from clinic.hashing import contact_hash
from clinic.roles import CLINIC_MANAGER, FRONT_DESK, PRIVACY_OFFICER
from messaging import opt_outs
from messaging.confirmations import queue_booking_confirmation
from messaging.models import OptOutEvent, OptOutSource, SmsOptOut
from messaging.permissions import Purpose, may_contact
from privacy.models import ConsentActor, ConsentPurpose, ConsentSource
from privacy.requests_models import AuditAction, PrivacyAuditEvent
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, StaffFactory, bookable_clinic

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LA)
PHONE = "+14085550143"
REASON = "client asked by phone on 2026-11-30 to resume reminders; confirmed identity by date of birth"


def staff(role, *locations):
    user = StaffFactory(locations=list(locations) or None)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def stopped():
    """Rosa of Milpitas booked with reminders, then texted STOP (which withdrew her SMS consents)."""
    milpitas, service, (person,) = bookable_clinic()
    glendale, _, _ = bookable_clinic()
    rosa = ClientFactory(first_name="Rosa", mobile_phone=PHONE, preferred_location=milpitas)
    for purpose in (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_MARKETING):
        record_consent(client=rosa, purpose=purpose, granted=True, notice_text="x", source=ConsentSource.BOOKING_FORM)
    appointment = AppointmentFactory(
        client=rosa, location=milpitas, service=service, practitioner=person, start=NOW + timedelta(days=2)
    )
    opt_out = opt_outs.add_sms_opt_out(phone=PHONE, reason="STOP", source=OptOutSource.SMS_KEYWORD, evidence="SM1")
    return {"milpitas": milpitas, "glendale": glendale, "rosa": rosa, "appointment": appointment, "opt_out": opt_out}


def lift_url(opt_out):
    return reverse("admin:messaging_smsoptout_lift", args=[opt_out.pk])


@pytest.mark.policy("sms-stop")
def test_the_front_desk_cannot_lift_a_stop(client, stopped):
    """Front desk may see the opt-out but gets 403 on the lift page and no button: the STOP stays."""
    client.force_login(staff(FRONT_DESK, stopped["milpitas"]))
    page = client.get(reverse("admin:messaging_smsoptout_change", args=[stopped["opt_out"].pk]))
    assert page.status_code == 200 and lift_url(stopped["opt_out"]) not in page.content.decode()
    assert client.get(lift_url(stopped["opt_out"])).status_code == 403
    assert client.post(lift_url(stopped["opt_out"]), {"reason": REASON}).status_code == 403
    assert SmsOptOut.objects.filter(pk=stopped["opt_out"].pk).exists()
    assert not OptOutEvent.objects.filter(action=OptOutEvent.LIFT).exists()


def test_the_service_refuses_staff_without_the_permission(stopped):
    """The permission is checked in the service too, not only by the page."""
    with pytest.raises(opt_outs.LiftRefused):
        opt_outs.lift_sms_opt_out_for_person(
            opt_out=stopped["opt_out"], reason=REASON, staff_user=staff(FRONT_DESK, stopped["milpitas"])
        )
    assert SmsOptOut.objects.filter(pk=stopped["opt_out"].pk).exists()


@pytest.mark.policy("sms-stop")
@pytest.mark.parametrize("reason", ["", "   ", "asked"])
def test_a_lift_needs_a_reason(client, stopped, reason):
    """No reason (or a word) re-renders the form with an error; nothing is lifted."""
    client.force_login(staff(CLINIC_MANAGER, stopped["milpitas"]))
    response = client.post(lift_url(stopped["opt_out"]), {"reason": reason})
    assert response.status_code == 200 and response.context["form"].errors
    assert SmsOptOut.objects.filter(pk=stopped["opt_out"].pk).exists()
    assert not PrivacyAuditEvent.objects.filter(action=AuditAction.SMS_OPT_OUT_LIFTED).exists()


@pytest.mark.policy("sms-stop")
@pytest.mark.parametrize("role", [CLINIC_MANAGER, PRIVACY_OFFICER])
def test_a_manager_or_privacy_officer_lifts_a_stop_with_a_reason_recorded_in_history_and_audit(client, stopped, role):
    """The OptOutEvent names the staff user, staff as actor and the reason; the audit trail has it for the client."""
    user = staff(role, stopped["milpitas"]) if role == CLINIC_MANAGER else staff(role)
    client.force_login(user)
    assert client.get(lift_url(stopped["opt_out"])).status_code == 200
    response = client.post(lift_url(stopped["opt_out"]), {"reason": REASON})
    assert response.status_code == 302
    assert not SmsOptOut.objects.filter(phone_hash=contact_hash(PHONE)).exists()
    event = OptOutEvent.objects.get(action=OptOutEvent.LIFT)
    assert (event.contact_hash, event.source, event.actor, event.staff_user, event.reason) == (
        contact_hash(PHONE),
        OptOutSource.ADMIN,
        ConsentActor.STAFF,
        user,
        REASON,
    )
    audit = PrivacyAuditEvent.objects.get(action=AuditAction.SMS_OPT_OUT_LIFTED)
    assert (audit.client, audit.actor) == (stopped["rosa"], user)
    assert REASON in audit.detail and PHONE not in audit.detail


def test_the_opt_out_page_shows_its_history_with_the_staff_user(client, stopped):
    manager = staff(CLINIC_MANAGER, stopped["milpitas"])
    opt_outs.lift_sms_opt_out_for_person(opt_out=stopped["opt_out"], reason=REASON, staff_user=manager)
    again = opt_outs.add_sms_opt_out(phone=PHONE, reason="STOP", source=OptOutSource.SMS_KEYWORD, evidence="SM2")
    client.force_login(manager)
    page = client.get(reverse("admin:messaging_smsoptout_change", args=[again.pk])).content.decode()
    assert REASON in page and manager.username in page


@pytest.mark.policy("security")
def test_another_locations_staff_cannot_lift_its_numbers_stop(client, stopped):
    """A Glendale manager does not see Milpitas's number: the lift page is a 404 and nothing changes."""
    client.force_login(staff(CLINIC_MANAGER, stopped["glendale"]))
    assert client.get(lift_url(stopped["opt_out"])).status_code == 404
    assert client.post(lift_url(stopped["opt_out"]), {"reason": REASON}).status_code == 404
    assert SmsOptOut.objects.filter(pk=stopped["opt_out"].pk).exists()


@pytest.mark.policy("sms-stop")
def test_after_the_lift_the_number_is_texted_per_consent(
    client, stopped, sms_outbox, django_capture_on_commit_callbacks
):
    """Lifting alone restores no consent; reminders resumed on the person's behalf are texted, marketing is not."""
    rosa, appointment = stopped["rosa"], stopped["appointment"]
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert queue_booking_confirmation(appointment_id=appointment.pk) is None  # STOP
    manager = staff(CLINIC_MANAGER, stopped["milpitas"])
    client.force_login(manager)
    form = {"reason": REASON, "resume_reminders_for": rosa.pk}
    assert client.post(lift_url(stopped["opt_out"]), form).status_code == 302
    with time_machine.travel(NOW, tick=False):
        assert may_contact(client=rosa, purpose=Purpose.TRANSACTIONAL)
        assert not may_contact(client=rosa, purpose=Purpose.SMS_MARKETING)  # the STOP withdrew it; not given back
    consent = rosa.consent_records.filter(purpose=ConsentPurpose.SMS_REMINDERS).latest("pk")
    assert (consent.granted, consent.actor, consent.source, consent.staff_user) == (
        True,
        ConsentActor.STAFF,
        ConsentSource.ADMIN,
        manager,
    )
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert queue_booking_confirmation(appointment_id=appointment.pk) is not None
    assert [m.to for m in sms_outbox] == [PHONE]


def test_after_a_lift_without_resumed_reminders_nothing_is_texted(client, stopped, sms_outbox):
    """The STOP withdrew the consents: lifting it only takes the number off the list."""
    client.force_login(staff(CLINIC_MANAGER, stopped["milpitas"]))
    assert client.post(lift_url(stopped["opt_out"]), {"reason": REASON}).status_code == 302
    with time_machine.travel(NOW, tick=False):
        assert not may_contact(client=stopped["rosa"], purpose=Purpose.TRANSACTIONAL)
        assert queue_booking_confirmation(appointment_id=stopped["appointment"].pk) is None
    assert sms_outbox == []


def test_reminders_can_be_resumed_only_for_a_client_with_that_number(client, stopped):
    """The client picker offers only the number's own (visible) clients; another client's id is refused."""
    other = ClientFactory(preferred_location=stopped["milpitas"])
    client.force_login(staff(CLINIC_MANAGER, stopped["milpitas"]))
    response = client.post(lift_url(stopped["opt_out"]), {"reason": REASON, "resume_reminders_for": other.pk})
    assert response.status_code == 200 and "resume_reminders_for" in response.context["form"].errors
    assert SmsOptOut.objects.filter(pk=stopped["opt_out"].pk).exists()


def test_a_staff_lift_records_who_lifted_it_and_the_persons_request_as_the_evidence(stopped):
    manager = staff(CLINIC_MANAGER)

    opt_outs.lift_sms_opt_out_for_person(
        opt_out=stopped["opt_out"], reason=REASON, staff_user=manager, resume_reminders_for=stopped["rosa"]
    )

    event = OptOutEvent.objects.get(action=OptOutEvent.LIFT)
    assert event.evidence == f"Lifted by staff user {manager.pk} on the person's behalf"
    assert (event.staff_user, event.actor, event.source) == (manager, ConsentActor.STAFF, OptOutSource.ADMIN)
    resumed = stopped["rosa"].consent_records.filter(purpose=ConsentPurpose.SMS_REMINDERS).latest("id")
    assert resumed.granted and resumed.evidence == REASON and resumed.staff_user == manager


def test_a_reason_of_the_minimum_length_is_enough_and_one_shorter_is_refused(stopped):
    manager = staff(CLINIC_MANAGER)
    with pytest.raises(opt_outs.LiftRefused, match="Say how"):
        opt_outs.lift_sms_opt_out_for_person(
            opt_out=stopped["opt_out"], reason="x" * (opt_outs.MIN_STAFF_REASON - 1), staff_user=manager
        )
    assert SmsOptOut.objects.exists()

    opt_outs.lift_sms_opt_out_for_person(
        opt_out=stopped["opt_out"], reason="x" * opt_outs.MIN_STAFF_REASON, staff_user=manager
    )
    assert not SmsOptOut.objects.exists()


def test_a_staff_lift_audits_each_record_with_the_number_and_says_whose_reminders_resumed(stopped):
    """One audit row per record holding the number: only the one the person named says reminders resumed,
    and none of them carries the number (not even as a hash: the row already names the client)."""
    sister = ClientFactory(first_name="Ines", mobile_phone=PHONE, preferred_location=stopped["milpitas"])
    manager = staff(CLINIC_MANAGER)

    opt_outs.lift_sms_opt_out_for_person(
        opt_out=stopped["opt_out"], reason=REASON, staff_user=manager, resume_reminders_for=stopped["rosa"]
    )

    rows = {row.client: row.detail for row in PrivacyAuditEvent.objects.filter(action=AuditAction.SMS_OPT_OUT_LIFTED)}
    assert set(rows) == {stopped["rosa"], sister}
    lifted = f"SMS opt-out lifted on the person's behalf: {REASON}."
    assert rows[stopped["rosa"]] == lifted + " Appointment reminders resumed."
    assert rows[sister] == lifted


def test_a_staff_lift_of_a_number_no_record_holds_is_audited_by_the_numbers_keyed_hash(stopped):
    """Rosa's record was since given another number: the audit row names the number by its hash, never in clear."""
    stopped["rosa"].mobile_phone = "+14085550199"
    stopped["rosa"].save()
    opt_out = SmsOptOut.objects.get(pk=stopped["opt_out"].pk)

    opt_outs.lift_sms_opt_out_for_person(opt_out=opt_out, reason=REASON, staff_user=staff(CLINIC_MANAGER))

    row = PrivacyAuditEvent.objects.get(action=AuditAction.SMS_OPT_OUT_LIFTED)
    assert row.client is None
    number = f"(number hash {contact_hash(PHONE)[:12]})"
    assert row.detail == f"SMS opt-out lifted on the person's behalf {number}: {REASON}."
