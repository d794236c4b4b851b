"""A client with personal data in every table, built through the public pages and the real services."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from clinic.models import Client
from clinic.roles import CLINIC_MANAGER
from messaging.inbound import handle_inbound_sms, send_staff_reply
from messaging.marketing import start_campaign, unsubscribe_email, unsubscribe_token
from messaging.models import Campaign, CampaignStatus, Channel
from privacy.models import PolicyVersion
from privacy.policy import publish_policy
from privacy.requests_models import DataSubjectRequest, RequestType
from privacy.subject_requests import extend_deadline, submit_request
from tests.support.builders import StaffFactory, bookable_clinic
from tests.support.privacy_requests import Person

LA = ZoneInfo("America/Los_Angeles")
BOOKED_AT = datetime(2026, 12, 6, 18, 0, tzinfo=LA)  # a Sunday evening
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=LA)


@pytest.fixture
def person_everywhere(client, admin_client, admin_user, django_capture_on_commit_callbacks, sms_outbox):
    """Dana, booked online, texting, marketed to, opted out, noticed, requesting, audited, edited by staff.

    Returns (client record, the verified deletion request, the browser's visitor id).
    """
    run = lambda: django_capture_on_commit_callbacks(execute=True)  # noqa: E731
    location, service, (practitioner,) = bookable_clinic(hours=((time(9), time(17)),))
    browser = {"REMOTE_ADDR": Person.ip, "HTTP_USER_AGENT": Person.user_agent}
    with time_machine.travel(BOOKED_AT, tick=False):
        # Cookie choices first, as a visitor: keyed by the browser's visitor id only.
        client.post(reverse("privacy:cookie_choice"), {"choice": "accept_all"}, **browser)
        visitor_id = client.cookies["visitor_id"].value
        # Then the booking from the same browser, with every consent ticked.
        with run():
            response = client.post(
                reverse("appointments:details", args=[location.slug, service.slug]),
                {
                    "start": MONDAY_10.isoformat(),
                    "practitioner": "any",
                    "first_name": Person.first_name,
                    "last_name": Person.last_name,
                    "email": Person.email,
                    "mobile_phone": "(408) 555-0199",
                    "is_adult": "on",
                    "accept_privacy_policy": "on",
                    "sms_reminders": "on",
                    "sms_marketing": "on",
                    "email_marketing": "on",
                },
                **browser,
            )
        assert response.status_code in (200, 302), response.content[:500]
    dana = Client.objects.get(email=Person.email)
    Appointment.objects.filter(client=dana).update(notes=f"{Person.first_name} {Person.last_name} prefers mornings")
    # On the waitlist for another time, with an offer texted.
    from waitlist.models import Opening, WaitlistEntry, WaitlistOffer

    entry = WaitlistEntry.objects.create(
        client=dana,
        location=location,
        service=service,
        earliest_date=MONDAY_10.date(),
        latest_date=MONDAY_10.date() + timedelta(days=7),
    )
    opening = Opening.objects.create(
        location=location,
        practitioner=practitioner,
        start=MONDAY_10 + timedelta(days=1),
        end=MONDAY_10 + timedelta(days=1, hours=1),
    )
    WaitlistOffer.objects.create(opening=opening, entry=entry, expires_at=BOOKED_AT + timedelta(minutes=15))
    # A medical history she started filling in (answers encrypted at rest).
    from tests.support.clinical_forms import form_template, submission

    submission(client=dana, template=form_template(slug="history"), answers={"allergies": "no"})
    # A practitioner's good-faith exam and a check-in override on her visit: health records about her too.
    from clinical_forms import services as clinical_services
    from clinical_forms.models import ExamOutcome

    her_visit = Appointment.objects.filter(client=dana).first()
    clinical_services.record_good_faith_exam(
        appointment_id=her_visit.pk, examiner=None, outcome=ExamOutcome.CLEARED, notes="No contraindications"
    )
    clinical_services.record_check_in_override(
        appointment_id=her_visit.pk, user=None, reason="Paper forms signed at the desk"
    )
    # She told the clinic her health changed since she signed (her forms are then signed again).
    clinical_services.report_health_change(
        client_id=dana.pk, via="forms_link", appointment_id=her_visit.pk, note="New medicine since I signed"
    )
    # She confirms the offers by email (double opt-in): the link mailed to her address, then "Yes".
    confirm = next(m for m in mail.outbox if m.subject.startswith("Confirm: offers"))
    client.post(re.search(r"http://testserver(/messaging/confirm-offers/\S+)", confirm.body).group(1), **browser)

    # Texts in and out, with the person's name in them.
    inbound = handle_inbound_sms(
        message_sid="SM" + "a" * 32,
        from_number=Person.phone,
        to_number=location.phone,
        body=f"Hi, {Person.first_name} {Person.last_name} here, running 5 min late",
    )
    staff = StaffFactory(is_superuser=True)
    staff.groups.add(Group.objects.get(name=CLINIC_MANAGER))
    with run():
        send_staff_reply(
            inbound_id=_inbound_id(inbound),
            body=f"No problem, {Person.first_name} {Person.last_name}!",
            staff_user=staff,
        )

    # A marketing email campaign.
    campaign = Campaign.objects.create(
        name="Winter offers",
        channel=Channel.EMAIL,
        subject="Winter",
        body="Offers",
        status=CampaignStatus.SCHEDULED,
        send_at=timezone.now(),
    )
    with run():
        start_campaign(campaign_id=campaign.pk)

    # A policy change notice.
    policy = PolicyVersion.objects.create(
        version="2027-01", effective_date=datetime(2027, 1, 1).date(), body="## 1. New"
    )
    with run():
        publish_policy(policy_id=policy.pk)

    # Privacy requests with their details, an extension whose reason names her, and their audit trail.
    access = submit_request(
        request_type=RequestType.ACCESS,
        email=Person.email,
        phone=Person.phone,
        details=f"Copy of everything for {Person.first_name} {Person.last_name}, {Person.phone}",
    )
    extend_deadline(request_id=access.pk, reason=f"{Person.first_name} {Person.last_name} asked for paper copies")
    with run():
        client.post(
            reverse("privacy:request_form"),
            {
                "request_type": RequestType.ERASURE,
                "email": Person.email,
                "details": f"Please delete everything. {Person.first_name} {Person.last_name}, {Person.national}",
            },
            **browser,
        )
    erasure = DataSubjectRequest.objects.get(request_type=RequestType.ERASURE)
    link = next(m for m in mail.outbox if erasure.reference in m.subject)
    with run():
        client.post(re.search(r"http://testserver(/privacy/requests/verify/\S+)", link.body).group(1), **browser)
    code = re.search(r"code is (\d{6})", sms_outbox[-1].body).group(1)
    client.post(reverse("privacy:request_code"), {"code": code}, **browser)
    erasure.refresh_from_db()
    assert erasure.status == "verified"

    # Staff open and correct the record in the admin (change history, audit events).
    admin_client.get(reverse("admin:clinic_client_change", args=[dana.pk]))
    admin_client.post(
        reverse("admin:clinic_client_change", args=[dana.pk]),
        {
            "first_name": Person.first_name,
            "last_name": Person.last_name,
            "email": Person.email,
            "mobile_phone": Person.phone,
            "date_of_birth": "1990-04-02",
            "consent_records-TOTAL_FORMS": "0",
            "consent_records-INITIAL_FORMS": "0",
            "appointments-TOTAL_FORMS": "0",
            "appointments-INITIAL_FORMS": "0",
            "sms_messages-TOTAL_FORMS": "0",
            "sms_messages-INITIAL_FORMS": "0",
        },
    )
    dana.refresh_from_db()
    assert dana.date_of_birth is not None, "the admin correction did not save"

    # She saved a card, paid a deposit and got part of it back (the local payments backend: nothing leaves).
    _pay_and_refund(dana, location, service)

    # She signs in to her account by a texted code: a session holding her address and browser.
    with run():
        client.post(reverse("account:sign_in"), {"mobile_phone": Person.national}, **browser)
    code = re.search(r"sign-in code is (\d{6})", sms_outbox[-1].body).group(1)
    with run():
        signed_in = client.post(reverse("account:sign_in_code"), {"code": code}, **browser)
    assert signed_in.status_code == 302, signed_in.content[:300]

    # Last, she unsubscribes from email and texts STOP: both opt-out lists hold her.
    unsubscribe_email(token=unsubscribe_token(dana), ip_address=Person.ip, user_agent=Person.user_agent)
    handle_inbound_sms(message_sid="SM" + "b" * 32, from_number=Person.phone, to_number=location.phone, body="STOP")
    return dana, erasure, visitor_id


def _pay_and_refund(dana, location, service):
    from payments import services as payments
    from payments.models import PaymentRequirement, PaymentStatus, RequirementKind, SavedCard

    PaymentRequirement.objects.create(
        location=location, service=service, kind=RequirementKind.DEPOSIT_FIXED, deposit_amount=5000
    )
    payments.start_card_setup(client=dana)
    SavedCard.objects.create(
        client=dana, stripe_payment_method_id="pm_card_visa", brand="visa", last4="4242", exp_month=12, exp_year=2034
    )
    deposit = payments.start_deposit(client=dana, location=location, service_id=service.pk)
    type(deposit).objects.filter(pk=deposit.pk).update(status=PaymentStatus.SUCCEEDED)
    payments.refund_payment(payment_id=deposit.pk, amount=1000, reason=f"{Person.first_name} asked nicely")
    # An online booking that asked for her deposit (its time held while she was at Stripe's page).
    from django.utils import timezone

    from appointments.models import Practitioner
    from payments.models import BookingCheckout

    BookingCheckout.objects.create(
        client=dana,
        location=location,
        service=service,
        practitioner=Practitioner.objects.filter(locations=location).first(),
        start=timezone.now(),
        hold_expires_at=timezone.now(),
        kind=RequirementKind.DEPOSIT_FIXED,
    )


def _inbound_id(result):
    from messaging.models import SmsMessage

    if isinstance(result, SmsMessage):
        return result.pk
    return SmsMessage.objects.filter(direction="in", from_number=Person.phone).latest("id").pk
