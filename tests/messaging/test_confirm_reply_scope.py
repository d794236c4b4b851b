"""A "C" reply confirms only the texter's own next appointment: never another client's, a past or a cancelled one.

(Found by mutation testing: with the client, time or status filter dropped, or
the update's appointment filter dropped, every existing test still passed.)
"""

from datetime import timedelta

import pytest

from appointments.models import Appointment, AppointmentStatus
from tests.support.builders import AppointmentFactory, ClientFactory
from tests.support.sms import SMS_NOW, inbound, twiml_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_at_sms_now")]

STRANGER = "+14085550177"
NOT_FOUND = "couldn't find an upcoming appointment"


def another_booking(appointment, **changes):
    fields = dict(
        location=appointment.location,
        service=appointment.service,
        practitioner=appointment.practitioner,
        client=ClientFactory(mobile_phone=STRANGER),
        start=appointment.start + timedelta(hours=3),
    )
    return AppointmentFactory(**{**fields, **changes})


@pytest.mark.policy("sms-help")
def test_c_from_a_number_with_no_appointment_confirms_no_one_elses(client, texting_client):
    _, appointment = texting_client
    ClientFactory(mobile_phone=STRANGER)
    assert NOT_FOUND in twiml_message(inbound(client, "C", sender=STRANGER))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


@pytest.mark.policy("sms-help")
def test_c_confirms_the_texters_appointment_and_leaves_other_bookings_alone(client, texting_client):
    _, mine = texting_client
    theirs = another_booking(mine)
    inbound(client, "C")
    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses == {mine.pk: AppointmentStatus.CONFIRMED, theirs.pk: AppointmentStatus.BOOKED}


@pytest.mark.parametrize(
    "change",
    [{"status": AppointmentStatus.CANCELLED}, {"start": SMS_NOW - timedelta(days=1)}],
    ids=["cancelled", "past"],
)
def test_c_does_not_confirm_a_cancelled_or_past_appointment(client, texting_client, change):
    _, mine = texting_client
    theirs = another_booking(mine, **change)
    assert NOT_FOUND in twiml_message(inbound(client, "C", sender=STRANGER, sid="SM" + "2" * 32))
    theirs.refresh_from_db()
    assert theirs.status == change.get("status", AppointmentStatus.BOOKED)


@pytest.mark.policy("sms-help")
def test_c_does_not_confirm_an_appointment_cancelled_since_it_was_looked_up(client, texting_client, monkeypatch):
    # The confirmation goes through the appointment services' status table, which never reinstates a cancellation.
    from messaging import inbound as inbound_sms

    _, mine = texting_client
    look_up = inbound_sms._texted_visit

    def cancelled_meanwhile(clients, now, to_number):
        visit = look_up(clients, now, to_number)
        Appointment.objects.filter(pk=visit.pk).update(status=AppointmentStatus.CANCELLED)  # the front desk, meanwhile
        return visit

    monkeypatch.setattr(inbound_sms, "_texted_visit", cancelled_meanwhile)
    assert NOT_FOUND in twiml_message(inbound(client, "C"))
    mine.refresh_from_db()
    assert mine.status == AppointmentStatus.CANCELLED


def test_c_to_one_locations_number_confirms_the_visit_there_not_a_sooner_one_texted_from_another(
    client, texting_client
):
    from tests.support.builders import bookable_clinic

    person_client, here = texting_client
    elsewhere_location, service, (person,) = bookable_clinic()
    elsewhere_location.sms_from_number = "+14088219999"  # its reminders come from its own number
    elsewhere_location.save()
    sooner_elsewhere = AppointmentFactory(
        location=elsewhere_location,
        service=service,
        practitioner=person,
        client=person_client,
        start=here.start - timedelta(hours=2),
    )

    inbound(client, "C")  # to this location's number, answering its reminder

    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses == {here.pk: AppointmentStatus.CONFIRMED, sooner_elsewhere.pk: AppointmentStatus.BOOKED}
