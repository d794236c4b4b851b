"""Confirmation and reminder texts: consent, exactly once, quiet hours, re-checks at send time."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments.models import AppointmentStatus
from messaging.confirmations import queue_booking_confirmation
from messaging.models import MessageKind, MessageStatus, ReminderRule, SmsMessage
from messaging.opt_outs import add_sms_opt_out
from messaging.reminders import dispatch_due_reminders
from messaging.sending import deliver_sms
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.booking import ANA_WITH_REMINDERS, post_booking
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")


def at(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LA)


def consent(client, purpose=ConsentPurpose.SMS_REMINDERS, granted=True):
    record_consent(
        client=client,
        purpose=purpose,
        granted=granted,
        notice_text="Text me reminders.",
        source=ConsentSource.BOOKING_FORM,
    )


@pytest.fixture
def clinic():
    location, service, (person,) = bookable_clinic(hours=((time(6), time(22)),))
    return location, service, person


def make_appointment(clinic, start, *, opted_in=True, created=None, **kwargs):
    location, service, person = clinic
    client = kwargs.pop("client", None) or ClientFactory()
    if opted_in:
        consent(client)
    with time_machine.travel(created or start - timedelta(days=5), tick=False):
        return AppointmentFactory(
            location=location, service=service, practitioner=person, start=start, client=client, **kwargs
        )


def move(appointment, start):
    appointment.start, appointment.end = start, start + appointment.service.duration
    appointment.save()


def run_pass(now):
    """One beat pass at `now`, with its queued tasks run (eagerly) at that time."""
    with time_machine.travel(now, tick=False):
        return dispatch_due_reminders(now=now)


@pytest.fixture(autouse=True)
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a pass queues on commit; tests call run_pass inside `capture`."""
    return django_capture_on_commit_callbacks


def dispatch(capture, now):
    with time_machine.travel(now, tick=False), capture(execute=True):
        return dispatch_due_reminders(now=now)


@pytest.mark.policy("use-appointments")
def test_reminders_go_24h_and_2h_before_exactly_once(clinic, sms_outbox, run_on_commit):
    appointment = make_appointment(clinic, at(2026, 12, 8, 14))
    dispatch(run_on_commit, at(2026, 12, 7, 13, 59))
    assert sms_outbox == []
    dispatch(run_on_commit, at(2026, 12, 7, 14, 0))
    dispatch(run_on_commit, at(2026, 12, 7, 14, 1))  # the next beat: nothing new
    assert len(sms_outbox) == 1
    dispatch(run_on_commit, at(2026, 12, 8, 12, 0))
    dispatch(run_on_commit, at(2026, 12, 8, 12, 1))
    assert len(sms_outbox) == 2
    body = sms_outbox[0].body
    assert "Mon Dec 7" not in body and "Tue Dec 8 at 2:00 PM PST" in body
    assert "Reply STOP to opt out" in body and "/appointment/" in body
    assert (
        SmsMessage.objects.filter(appointment=appointment, kind=MessageKind.REMINDER, status=MessageStatus.SENT).count()
        == 2
    )


@pytest.mark.policy("sms-program")
def test_no_reminders_without_sms_consent(clinic, sms_outbox, run_on_commit):
    make_appointment(clinic, at(2026, 12, 8, 14), opted_in=False)
    dispatch(run_on_commit, at(2026, 12, 7, 14, 0))
    assert sms_outbox == [] and not SmsMessage.objects.exists()


@pytest.mark.policy("rights-withdraw")
def test_withdrawn_consent_stops_reminders(clinic, sms_outbox, run_on_commit):
    appointment = make_appointment(clinic, at(2026, 12, 8, 14))
    consent(appointment.client, granted=False)
    dispatch(run_on_commit, at(2026, 12, 7, 14, 0))
    assert sms_outbox == []


def test_two_dispatchers_at_once_create_one_reminder(clinic, sms_outbox):
    make_appointment(clinic, at(2026, 12, 8, 14))
    first = run_pass(at(2026, 12, 7, 14, 0))
    second = run_pass(at(2026, 12, 7, 14, 0))  # a second beat process, same minute
    assert (first.queued, second.queued) == (1, 0)
    assert SmsMessage.objects.filter(kind=MessageKind.REMINDER).count() == 1


def test_delivering_twice_sends_once(clinic, sms_outbox):
    make_appointment(clinic, at(2026, 12, 8, 14))
    run_pass(at(2026, 12, 7, 14, 0))
    message = SmsMessage.objects.get()
    with time_machine.travel(at(2026, 12, 7, 14, 0), tick=False):
        assert deliver_sms(message_id=message.pk).outcome == "sent"
        assert deliver_sms(message_id=message.pk).outcome == "noop"
    assert len(sms_outbox) == 1


def test_sending_a_text_rechecks_consent_and_opt_out_in_one_query(clinic, sms_outbox):
    make_appointment(clinic, at(2026, 12, 8, 14))
    run_pass(at(2026, 12, 7, 14, 0))
    message = SmsMessage.objects.get()
    with time_machine.travel(at(2026, 12, 7, 14, 0), tick=False), CaptureQueriesContext(connection) as queries:
        assert deliver_sms(message_id=message.pk).outcome == "sent"
    statements = [q["sql"] for q in queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
    # Lock the row, read consent + opt-out, mark it sending, mark it sent: a worker sends hundreds a second.
    assert len(statements) == 4, statements
    assert "consent" in statements[1].lower() and "optout" in statements[1].lower()


def test_message_lost_mid_send_is_never_resent(clinic, sms_outbox):
    make_appointment(clinic, at(2026, 12, 8, 14))
    run_pass(at(2026, 12, 7, 14, 0))
    # A worker marked it handed-to-provider, then died before recording the outcome.
    SmsMessage.objects.update(status=MessageStatus.SENDING, status_updated_at=at(2026, 12, 7, 14, 0))
    message = SmsMessage.objects.get()
    with time_machine.travel(at(2026, 12, 7, 14, 1), tick=False):
        assert deliver_sms(message_id=message.pk).outcome == "noop"
    report = run_pass(at(2026, 12, 7, 14, 30))
    message.refresh_from_db()
    assert report.given_up == 1 and message.status == MessageStatus.FAILED
    assert "not resent" in message.status_reason and sms_outbox == []


@pytest.mark.policy("sms-quiet-hours")
def test_reminder_due_in_quiet_hours_goes_at_the_latest_allowed_time_before(clinic, sms_outbox, run_on_commit):
    # 2 h before an 09:00 appointment is 07:00, before the 08:00 window: it goes at 20:59 the evening before.
    make_appointment(clinic, at(2026, 12, 8, 9))
    ReminderRule.objects.create(location=clinic[0], minutes_before=120)
    dispatch(run_on_commit, at(2026, 12, 7, 20, 58))
    assert sms_outbox == []
    dispatch(run_on_commit, at(2026, 12, 7, 20, 59))
    assert len(sms_outbox) == 1
    dispatch(run_on_commit, at(2026, 12, 8, 7, 0))
    assert len(sms_outbox) == 1


def test_reminder_with_no_allowed_time_is_skipped_with_its_reason(clinic, sms_outbox, run_on_commit):
    # Booked at 22:00 for 08:30 next morning: the 2 h reminder (06:30) had no allowed time after booking.
    make_appointment(clinic, at(2026, 12, 8, 8, 30), created=at(2026, 12, 7, 22, 0))
    ReminderRule.objects.create(location=clinic[0], minutes_before=120)
    report = dispatch(run_on_commit, at(2026, 12, 7, 22, 1))
    message = SmsMessage.objects.get()
    assert sms_outbox == [] and report.skipped == 1
    assert message.status == MessageStatus.SKIPPED and "Booked after" in message.status_reason


@pytest.mark.policy("sms-quiet-hours")
def test_nothing_is_sent_at_night_even_when_the_queue_is_late(clinic, sms_outbox):
    make_appointment(clinic, at(2026, 12, 8, 14))
    run_pass(at(2026, 12, 7, 14, 0))
    message = SmsMessage.objects.get()
    # The worker only picks it up at 23:30 (backlog): it waits for 08:00, before the 14:00 appointment.
    with time_machine.travel(at(2026, 12, 7, 23, 30), tick=False):
        delivery = deliver_sms(message_id=message.pk)
    assert delivery.outcome == "deferred" and sms_outbox == []
    with time_machine.travel(at(2026, 12, 8, 8, 0), tick=False):
        assert deliver_sms(message_id=message.pk).outcome == "sent"


@pytest.mark.policy("sms-quiet-hours")
def test_validity_period_ends_before_quiet_hours(clinic, sms_outbox):
    make_appointment(clinic, at(2026, 12, 8, 14))
    run_pass(at(2026, 12, 7, 14, 0))
    with time_machine.travel(at(2026, 12, 7, 20, 0), tick=False):
        deliver_sms(message_id=SmsMessage.objects.get().pk)
    assert sms_outbox[0].validity_seconds == 3600  # 20:00 -> the 21:00 close


@pytest.mark.policy("rights-restriction")
@pytest.mark.parametrize(
    "change",
    [
        lambda a: add_sms_opt_out(phone=str(a.client.mobile_phone), reason="STOP", source="sms_keyword"),
        lambda a: consent(a.client, granted=False),
        lambda a: type(a).objects.filter(pk=a.pk).update(status=AppointmentStatus.CANCELLED),
        lambda a: move(a, a.start + timedelta(hours=1)),
        lambda a: type(a.client).objects.filter(pk=a.client.pk).update(processing_restricted=True),
    ],
    ids=["opted-out", "consent-withdrawn", "cancelled", "moved", "restricted"],
)
def test_change_after_queueing_stops_the_message(clinic, sms_outbox, change):
    appointment = make_appointment(clinic, at(2026, 12, 8, 14))
    run_pass(at(2026, 12, 7, 14, 0))
    change(appointment)
    message = SmsMessage.objects.get()
    with time_machine.travel(at(2026, 12, 7, 14, 1), tick=False):
        assert deliver_sms(message_id=message.pk).outcome == "skipped"
    message.refresh_from_db()
    assert sms_outbox == [] and message.status == MessageStatus.SKIPPED and message.status_reason


def test_moved_appointment_gets_reminders_for_its_new_time(clinic, sms_outbox, run_on_commit):
    appointment = make_appointment(clinic, at(2026, 12, 8, 14))
    dispatch(run_on_commit, at(2026, 12, 7, 14, 0))
    move(appointment, at(2026, 12, 8, 16))
    dispatch(run_on_commit, at(2026, 12, 7, 16, 0))
    assert len(sms_outbox) == 2 and "4:00 PM" in sms_outbox[1].body


def test_reminder_offsets_are_configurable_per_location(clinic, sms_outbox, run_on_commit):
    ReminderRule.objects.create(location=clinic[0], minutes_before=48 * 60)
    make_appointment(clinic, at(2026, 12, 9, 14))
    dispatch(run_on_commit, at(2026, 12, 7, 14, 0))
    dispatch(run_on_commit, at(2026, 12, 8, 14, 0))  # 24 h is not a rule at this location
    assert len(sms_outbox) == 1


def test_stale_reminder_after_an_outage_is_skipped_not_sent_late(clinic, sms_outbox, run_on_commit, settings):
    settings.SMS_REMINDER_GRACE_MINUTES = 60
    make_appointment(clinic, at(2026, 12, 8, 14))
    report = dispatch(run_on_commit, at(2026, 12, 7, 16, 0))  # workers were down since 14:00
    assert sms_outbox == [] and report.skipped == 1


def test_dispatch_reminders_command_runs_one_pass(clinic, sms_outbox, capsys):
    make_appointment(clinic, at(2026, 12, 8, 14))
    with time_machine.travel(at(2026, 12, 7, 14, 0), tick=False):
        call_command("dispatch_reminders")
    assert "Reminders queued: 1" in capsys.readouterr().out


def test_dispatch_query_count_does_not_grow_with_appointments(clinic):
    def queries_for_pass(now):
        with CaptureQueriesContext(connection) as queries, time_machine.travel(now, tick=False):
            report = dispatch_due_reminders(now=now)
        return len(queries), report.queued + report.skipped

    for hour in range(8, 10):
        make_appointment(clinic, at(2026, 12, 8, hour))
    small = queries_for_pass(at(2026, 12, 7, 12, 0))
    for hour in range(10, 20):
        make_appointment(clinic, at(2026, 12, 9, hour))
    large = queries_for_pass(at(2026, 12, 8, 20, 0))
    # Every due reminder got its row (queued, or skipped as stale) in both passes...
    assert (small[1], large[1]) == (2, 10)
    # ...within the same fixed number of queries for 2 appointments as for 10
    # (one fewer when nothing is due, as an empty UPDATE is not sent; the locations are read once, in one query).
    assert small[0] <= large[0] <= 14


# --- Confirmation text ------------------------------------------------------


@pytest.mark.policy("sms-program")
def test_confirmation_text_introduces_the_program(clinic, sms_outbox, run_on_commit):
    appointment = make_appointment(clinic, at(2026, 12, 8, 14))
    with time_machine.travel(at(2026, 12, 7, 10, 0), tick=False), run_on_commit(execute=True):
        queue_booking_confirmation(appointment_id=appointment.pk)
        queue_booking_confirmation(appointment_id=appointment.pk)
    (sms,) = sms_outbox
    for phrase in [
        "California Aesthetics",
        "is booked for",
        "Msg & data rates may apply",
        "Reply HELP for help, STOP to opt out",
        "about 2 per visit",
    ]:
        assert phrase in sms.body


def test_booking_at_night_confirms_at_eight(clinic, sms_outbox, run_on_commit):
    appointment = make_appointment(clinic, at(2026, 12, 8, 14))
    with time_machine.travel(at(2026, 12, 7, 23, 0), tick=False), run_on_commit(execute=True):
        message = queue_booking_confirmation(appointment_id=appointment.pk)
    assert message.send_after == at(2026, 12, 8, 8, 0) and sms_outbox == []
    with time_machine.travel(at(2026, 12, 8, 8, 0), tick=False):
        assert deliver_sms(message_id=message.pk).outcome == "sent"


def test_no_confirmation_text_without_consent(clinic, sms_outbox):
    appointment = make_appointment(clinic, at(2026, 12, 8, 14), opted_in=False)
    assert queue_booking_confirmation(appointment_id=appointment.pk) is None


def test_online_booking_with_reminders_opt_in_texts_a_confirmation(
    client, sms_outbox, django_capture_on_commit_callbacks
):

    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    start = at(2026, 12, 8, 10)
    with time_machine.travel(at(2026, 12, 7, 12, 0), tick=False), django_capture_on_commit_callbacks(execute=True):
        post_booking(client, location, service, start, **ANA_WITH_REMINDERS)
    assert [m.to for m in sms_outbox] == ["+14085550188"]


@pytest.mark.parametrize(
    "appointment_start, reminder_at, zone_name",
    [
        (at(2026, 3, 8, 9, 30), at(2026, 3, 7, 20, 59), "PDT"),  # spring forward: 07:30 PDT is quiet
        (at(2026, 11, 1, 9, 0), at(2026, 10, 31, 20, 59), "PST"),  # fall back: 07:00 PST is quiet
    ],
    ids=["spring-forward", "fall-back"],
)
def test_quiet_hours_shift_is_right_on_dst_days(
    clinic, sms_outbox, run_on_commit, appointment_start, reminder_at, zone_name
):
    ReminderRule.objects.create(location=clinic[0], minutes_before=120)
    make_appointment(clinic, appointment_start)
    dispatch(run_on_commit, reminder_at - timedelta(minutes=1))
    assert sms_outbox == []
    dispatch(run_on_commit, reminder_at)
    (sms,) = sms_outbox
    assert f"{appointment_start:%-I:%M %p} {zone_name}" in sms.body


def test_24h_reminder_before_a_dst_day_is_24_real_hours_ahead(clinic, sms_outbox, run_on_commit):
    # 10:00 PDT on 8 March is 09:00 PST on 7 March, 24 real hours earlier.
    make_appointment(clinic, at(2026, 3, 8, 10))
    dispatch(run_on_commit, at(2026, 3, 7, 8, 59))
    assert sms_outbox == []
    dispatch(run_on_commit, at(2026, 3, 7, 9, 0))
    assert len(sms_outbox) == 1
