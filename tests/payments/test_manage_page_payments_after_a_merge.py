"""A manage link shows the payments of its own booking, not the whole record's.

Attack (issue 17 audit, as the manage link's email after a merge): someone books with a stranger's phone; the front
desk merges the booking into the stranger's older record. The booker's manage page then listed every payment on that
record: the stranger's deposits and no-show fees, with dates, locations and amounts.
"""

from datetime import time

import pytest
import time_machine
from django.urls import reverse

from appointments.links import manage_token
from appointments.models import Appointment
from clinic import identity
from payments.models import Payment, PaymentKind, PaymentStatus
from tests.support.booking import MONDAY_10, SUNDAY_EVENING, post_booking
from tests.support.builders import ClientFactory, StaffFactory, bookable_clinic

pytestmark = pytest.mark.django_db

VICTIM_PHONE = "+14085550177"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        yield


def test_after_a_merge_the_bookers_manage_page_lists_none_of_the_other_records_payments(
    client, django_capture_on_commit_callbacks
):
    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    victim = ClientFactory(first_name="Vera", email="victim@example.com", mobile_phone=VICTIM_PHONE)
    Payment.objects.create(
        client=victim, location=location, kind=PaymentKind.NO_SHOW_FEE, amount=98765, status=PaymentStatus.SUCCEEDED
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_booking(client, location, service, MONDAY_10, first_name="Mallory", mobile_phone=VICTIM_PHONE)
    appointment = Appointment.objects.get()
    identity.merge_clients(
        keep_id=victim.pk, duplicate_id=appointment.client_id, staff_user=StaffFactory(is_superuser=True), reason="x"
    )
    appointment.refresh_from_db()
    assert appointment.client_id == victim.pk
    response = client.get(reverse("appointments:manage", args=[manage_token(appointment)]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "987.65" not in page and "No-show fee" not in page
