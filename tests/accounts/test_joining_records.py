"""Bookings made signed out with the account's proven email or phone: shown on the account, joined by the client."""

from datetime import timedelta

import pytest
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from clinic.models import Client
from privacy.models import ConsentPurpose, ConsentSource
from privacy.requests_models import AuditAction, PrivacyAuditEvent
from privacy.selectors import current_consents
from privacy.services import record_consent
from tests.support.accounts import sign_in_by_code
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

pytestmark = pytest.mark.django_db
PHONE, NATIONAL, EMAIL = "+14085550123", "(408) 555-0123", "ava.lindqvist@example.com"
HOME = reverse("account:home")


@pytest.fixture
def ava():
    return ClientFactory(first_name="Ava", last_name="Lindqvist", email=EMAIL, mobile_phone=PHONE)


@pytest.fixture
def signed_in(ava, run_tasks, sms_outbox):
    browser = Browser()
    sign_in_by_code(browser, run_tasks, sms_outbox, NATIONAL)  # proves the phone, not the email
    return browser


def _booked_signed_out(**contact):
    record = ClientFactory(first_name="Ava", last_name="L", **contact)
    location, service, (practitioner,) = bookable_clinic()
    service.name = "Signed-out Peel"
    service.save()
    visit = AppointmentFactory(
        client=record,
        location=location,
        service=service,
        practitioner=practitioner,
        start=(timezone.now() + timedelta(days=3)).replace(microsecond=0),
    )
    return record, visit


@pytest.mark.policy("client-account")
def test_a_booking_made_signed_out_with_the_accounts_proven_number_is_shown_and_joined_by_the_client(signed_in, ava):
    record, visit = _booked_signed_out(email="other@example.com", mobile_phone=PHONE)
    assert "Signed-out Peel" in signed_in.get(HOME).content.decode()
    response = signed_in.post(reverse("account:join_record", args=[record.pk]))
    assert response.status_code == 302
    assert Appointment.objects.get(pk=visit.pk).client_id == ava.pk
    assert not Client.objects.filter(pk=record.pk).exists()
    ava.refresh_from_db()
    assert (ava.email, str(ava.mobile_phone)) == (EMAIL, PHONE)  # the account's own details stay
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.CLIENTS_MERGED, client_id=ava.pk).exists()


@pytest.mark.policy("client-account")
def test_a_record_holding_only_an_email_the_account_has_not_proven_is_neither_shown_nor_joined(signed_in, ava):
    record, visit = _booked_signed_out(email=EMAIL, mobile_phone="+14085550999")
    assert "Signed-out Peel" not in signed_in.get(HOME).content.decode()
    assert signed_in.post(reverse("account:join_record", args=[record.pk])).status_code == 404
    assert Appointment.objects.get(pk=visit.pk).client_id == record.pk
    # Once the account proves the email, the record is the client's to join.
    Client.objects.filter(pk=ava.pk).update(email_verified_at=timezone.now())
    assert "Signed-out Peel" in signed_in.get(HOME).content.decode()
    assert signed_in.post(reverse("account:join_record", args=[record.pk])).status_code == 302
    assert Appointment.objects.get(pk=visit.pk).client_id == ava.pk


@pytest.mark.policy("client-account")
def test_another_persons_record_cannot_be_joined(signed_in, ava):
    record, visit = _booked_signed_out(email="someone@example.com", mobile_phone="+14085550888")
    assert signed_in.post(reverse("account:join_record", args=[record.pk])).status_code == 404
    assert Appointment.objects.get(pk=visit.pk).client_id == record.pk


@pytest.mark.policy("client-account")
def test_a_yes_ticked_on_the_joined_records_booking_form_does_not_become_the_accounts_choice(signed_in, ava):
    record, _ = _booked_signed_out(email="other@example.com", mobile_phone=PHONE)
    record_consent(
        client=record,
        purpose=ConsentPurpose.SMS_MARKETING,
        granted=True,
        notice_text="offers",
        source=ConsentSource.BOOKING_FORM,
    )
    assert signed_in.post(reverse("account:join_record", args=[record.pk])).status_code == 302
    assert not current_consents(client_ids=[ava.pk], purpose=ConsentPurpose.SMS_MARKETING).get(ava.pk)
