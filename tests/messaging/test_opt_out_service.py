"""One service owns the opt-out lists: only it adds or lifts an opt-out, and every change says why."""

import re
from pathlib import Path

import pytest

from clinic.hashing import contact_hash
from messaging import opt_outs
from messaging.models import EmailOptOut, OptOutEvent, OptOutSource, SmsOptOut
from privacy.models import ConsentActor, ConsentPurpose, ConsentSource
from privacy.selectors import has_consent
from privacy.services import record_consent
from tests.support.builders import ClientFactory, StaffFactory
from tests.support.sms import inbound as text_in

pytestmark = pytest.mark.django_db
PHONE = "+14085550143"
ROOT = Path(__file__).resolve().parents[2]


def test_stop_and_start_by_text_are_recorded_with_the_inbound_text_as_evidence(client):
    text_in(client, "STOP", "SM" + "1" * 32)
    text_in(client, "START", "SM" + "2" * 32)
    lifted, added = OptOutEvent.objects.order_by("-id")[:2]
    assert (added.action, added.source, added.actor, added.evidence) == (
        "add",
        "sms_keyword",
        "client",
        "SM" + "1" * 32,
    )
    assert (lifted.action, lifted.source, lifted.actor, lifted.evidence) == (
        "lift",
        "sms_keyword",
        "client",
        "SM" + "2" * 32,
    )
    assert added.contact_hash == lifted.contact_hash == contact_hash(PHONE)
    assert PHONE not in str(OptOutEvent.objects.values_list()[::1])  # a keyed hash, never the number


@pytest.mark.policy("sms-stop")
@pytest.mark.parametrize(
    "source",
    [OptOutSource.PREFERENCE_CENTER, OptOutSource.EMAIL_LINK, OptOutSource.CARRIER, OptOutSource.PRIVACY_REQUEST],
)
def test_only_the_phones_own_start_or_staff_lift_a_stop(source):
    opt_outs.add_sms_opt_out(phone=PHONE, reason="STOP", source=OptOutSource.SMS_KEYWORD, evidence="SM1")
    with pytest.raises(opt_outs.LiftRefused):
        opt_outs.lift_sms_opt_out(phone=PHONE, reason="web", source=source, actor=ConsentActor.CLIENT, evidence="x")
    assert SmsOptOut.objects.exists()


def test_a_start_needs_the_inbound_text_and_staff_must_be_named():
    opt_outs.add_sms_opt_out(phone=PHONE, reason="STOP", source=OptOutSource.SMS_KEYWORD, evidence="SM1")
    with pytest.raises(opt_outs.LiftRefused):
        opt_outs.lift_sms_opt_out(
            phone=PHONE, reason="START", source=OptOutSource.SMS_KEYWORD, actor=ConsentActor.CLIENT
        )
    with pytest.raises(opt_outs.LiftRefused):
        opt_outs.lift_sms_opt_out(
            phone=PHONE, reason="asked by phone", source=OptOutSource.ADMIN, actor=ConsentActor.STAFF
        )
    staff = StaffFactory()
    assert opt_outs.lift_sms_opt_out(
        phone=PHONE,
        reason="Client asked at the desk",
        source=OptOutSource.ADMIN,
        actor=ConsentActor.STAFF,
        staff_user=staff,
        evidence="signed form 12",
    )
    event = OptOutEvent.objects.get(action=OptOutEvent.LIFT)
    assert (event.source, event.actor, event.staff_user, event.reason) == (
        "admin",
        "staff",
        staff,
        "Client asked at the desk",
    )
    assert not SmsOptOut.objects.exists()


def test_a_stop_withdraws_the_sms_consents_of_every_record_with_the_number():
    people = [ClientFactory(mobile_phone=PHONE), ClientFactory(mobile_phone=PHONE)]
    for person in people:
        record_consent(
            client=person,
            purpose=ConsentPurpose.SMS_MARKETING,
            granted=True,
            notice_text="x",
            source=ConsentSource.BOOKING_FORM,
        )
    opt_outs.add_sms_opt_out(phone=PHONE, reason="STOP", source=OptOutSource.SMS_KEYWORD, evidence="SM1")
    assert not any(has_consent(client=p, purpose=ConsentPurpose.SMS_MARKETING) for p in people)


def test_email_opt_out_is_lifted_only_by_a_link_to_the_address_or_staff():
    opt_outs.add_email_opt_out(email="dana@example.com", reason="Unsubscribe link", source=OptOutSource.EMAIL_LINK)
    with pytest.raises(opt_outs.LiftRefused):
        opt_outs.lift_email_opt_out(
            email="dana@example.com", reason="page", source=OptOutSource.PREFERENCE_CENTER, actor=ConsentActor.CLIENT
        )
    assert EmailOptOut.objects.exists()
    assert [e.action for e in OptOutEvent.objects.all()] == ["add"]


def test_no_code_outside_the_service_adds_or_lifts_an_opt_out():
    """Direct creates and deletes of SmsOptOut / EmailOptOut live only in messaging/opt_outs.py."""
    write = re.compile(
        r"(Sms|Email)OptOut\.objects\b[^\n]*\.(create|get_or_create|update_or_create|bulk_create|delete)\("
    )
    offenders = []
    for path in [p for app in ("appointments", "clinic", "messaging", "privacy") for p in (ROOT / app).rglob("*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" in relative:
            continue
        if relative == "messaging/opt_outs.py":
            continue
        offenders += [f"{relative}: {m.group(0)}" for m in write.finditer(path.read_text())]
    assert offenders == []


def test_the_address_own_link_lifts_its_email_opt_out_and_the_history_keeps_who_why_and_the_proof():
    opt_outs.add_email_opt_out(email="dana@example.com", reason="Unsubscribe link", source=OptOutSource.EMAIL_LINK)
    opt_outs.add_email_opt_out(email="lee@example.com", reason="Unsubscribe link", source=OptOutSource.EMAIL_LINK)

    lifted = opt_outs.lift_email_opt_out(
        email="dana@example.com",
        reason="Clicked Yes in the confirmation email",
        source=OptOutSource.EMAIL_LINK,
        actor=ConsentActor.CLIENT,
        evidence="confirm-token-1234",
    )

    assert lifted is True
    # Only that address comes off the list.
    assert list(EmailOptOut.objects.values_list("email_hash", flat=True)) == [contact_hash("lee@example.com")]
    event = OptOutEvent.objects.get(action=OptOutEvent.LIFT)
    assert (event.channel, event.contact_hash, event.source, event.actor, event.evidence, event.staff_user) == (
        "email",
        contact_hash("dana@example.com"),
        OptOutSource.EMAIL_LINK,
        ConsentActor.CLIENT,
        "confirm-token-1234",
        None,
    )
    assert event.reason == "Clicked Yes in the confirmation email"


@pytest.mark.parametrize("who", ["no staff user", "not recorded as staff"])
def test_a_staff_lift_of_an_email_opt_out_names_the_staff_member_acting_for_the_person(who):
    opt_outs.add_email_opt_out(email="dana@example.com", reason="Unsubscribe link", source=OptOutSource.EMAIL_LINK)
    staff = StaffFactory()
    with pytest.raises(opt_outs.LiftRefused, match="staff"):
        opt_outs.lift_email_opt_out(
            email="dana@example.com",
            reason="Asked at the desk, ID checked",
            source=OptOutSource.ADMIN,
            actor=ConsentActor.STAFF if who == "no staff user" else ConsentActor.CLIENT,
            staff_user=None if who == "no staff user" else staff,
        )
    assert EmailOptOut.objects.count() == 1

    opt_outs.lift_email_opt_out(
        email="dana@example.com",
        reason="Asked at the desk, ID checked",
        source=OptOutSource.ADMIN,
        actor=ConsentActor.STAFF,
        staff_user=staff,
    )
    assert not EmailOptOut.objects.exists()
    assert OptOutEvent.objects.get(action=OptOutEvent.LIFT).staff_user == staff


def test_an_email_opt_out_kept_after_erasure_holds_only_the_keyed_hash():
    opt_outs.add_email_opt_out(
        email="dana@example.com", reason="Erased", source=OptOutSource.EMAIL_LINK, keep_address=False
    )
    entry = EmailOptOut.objects.get()
    assert entry.email == "" and entry.email_hash == contact_hash("dana@example.com")


def test_an_unsubscribe_link_made_for_an_older_address_lists_that_address_without_storing_the_new_one():
    # The record's address changed after the email was sent: the link's address is unsubscribed, by hash.
    opt_outs.add_email_opt_out(
        email="dana.new@example.com",
        email_hash=contact_hash("dana.old@example.com"),
        reason="Unsubscribe link",
        source=OptOutSource.EMAIL_LINK,
    )
    entry = EmailOptOut.objects.get()
    assert entry.email_hash == contact_hash("dana.old@example.com")
    assert entry.email == ""
    assert not opt_outs.is_email_opted_out("dana.new@example.com")


def test_a_stop_keeps_the_text_that_asked_and_a_staff_added_opt_out_names_the_staff_member():
    staff = StaffFactory()
    entry = opt_outs.add_sms_opt_out(
        phone=PHONE, reason="Replied STOP", source=OptOutSource.SMS_KEYWORD, evidence="SM9"
    )
    assert (str(entry.phone), entry.evidence) == (PHONE, "SM9")
    opt_outs.add_sms_opt_out(
        phone="+14085550144",
        reason="Asked at the desk",
        source=OptOutSource.ADMIN,
        actor=ConsentActor.STAFF,
        staff_user=staff,
        evidence="desk note",
    )
    opt_outs.add_email_opt_out(
        email="dana@example.com",
        reason="Asked at the desk",
        source=OptOutSource.ADMIN,
        actor=ConsentActor.STAFF,
        staff_user=staff,
        evidence="desk note",
    )
    staff_events = OptOutEvent.objects.filter(source=OptOutSource.ADMIN)
    assert [(e.channel, e.actor, e.staff_user, e.evidence) for e in staff_events.order_by("id")] == [
        ("sms", ConsentActor.STAFF, staff, "desk note"),
        ("email", ConsentActor.STAFF, staff, "desk note"),
    ]
    assert EmailOptOut.objects.get().reason == "Asked at the desk"


def test_an_erased_numbers_opt_out_keeps_only_its_keyed_hash():
    entry = opt_outs.add_sms_opt_out(phone=PHONE, reason="Erased", source=OptOutSource.SMS_KEYWORD, keep_number=False)
    entry.refresh_from_db()
    assert entry.phone == "" and entry.phone_hash == contact_hash(PHONE)
    assert opt_outs.is_sms_opted_out(PHONE)


def test_an_overlong_reason_or_evidence_is_cut_to_the_fields_size_so_the_opt_out_is_never_lost():
    entry = opt_outs.add_sms_opt_out(phone=PHONE, reason="r" * 500, source=OptOutSource.SMS_KEYWORD, evidence="e" * 500)
    opt_outs.add_email_opt_out(email="dana@example.com", reason="r" * 500, source=OptOutSource.EMAIL_LINK)
    entry.refresh_from_db()
    assert (len(entry.reason), len(entry.evidence)) == (200, 200)
    assert len(EmailOptOut.objects.get().reason) == 200
    assert {(len(e.reason), len(e.evidence)) for e in OptOutEvent.objects.filter(channel="sms")} == {(200, 200)}


def test_a_staff_added_stop_withdraws_the_consents_in_the_ledger_as_the_staff_member():
    staff = StaffFactory()
    person = ClientFactory(mobile_phone=PHONE)
    record_consent(
        client=person,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="x",
        source=ConsentSource.BOOKING_FORM,
    )
    opt_outs.add_sms_opt_out(
        phone=PHONE,
        reason="Asked at the desk",
        source=OptOutSource.ADMIN,
        actor=ConsentActor.STAFF,
        staff_user=staff,
        evidence="desk note",
    )
    withdrawals = person.consent_records.filter(granted=False)
    assert withdrawals.count() == len(opt_outs.SMS_PURPOSES)  # every SMS program: reminders, offers, waitlist
    assert {(w.actor, w.staff_user_id, w.evidence) for w in withdrawals} == {
        (ConsentActor.STAFF, staff.pk, "desk note")
    }
