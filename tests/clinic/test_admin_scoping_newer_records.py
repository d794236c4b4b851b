"""The crawl of tests/clinic/test_admin_scoping.py, over the records that came later.

Payments and refunds, the waitlist (entries, openings, offers), clinical forms (answers,
good-faith exams, check-in overrides), rooms and devices, payment rules and cancellation
policies, and the admin's own pages that take two ids (charge a fee, checkout) or a
location in the query string (day calendar, takings): Milpitas staff of every role,
the Practitioner included, reach none of Glendale's through any of them.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from appointments.models import ResourceType, ResourceUnit, ServiceRequirement
from clinic.roles import CLINIC_MANAGER, FRONT_DESK, PRACTITIONER, PRIVACY_OFFICER
from clinical_forms.models import CheckInOverride, ExamOutcome, FormSubmission, GoodFaithExam
from payments.models import CancellationPolicy, Payment, PaymentRequirement, Refund
from tests.clinic import test_admin_scoping as crawl
from tests.clinic.test_admin_scoping import GLENDALE_SECRETS, list_urls, object_urls, staff
from tests.support.clinical_forms import form_template, submission
from waitlist.models import Opening, WaitlistEntry, WaitlistOffer

pytestmark = pytest.mark.django_db

two_clinics = crawl.two_clinics  # the fixture: Milpitas and Glendale, with Glendale's people and their records

NEWER_SECRETS = [*GLENDALE_SECRETS, "Glendale-only allergy answer", "Glendale override reason", "Glendale laser 1"]


@pytest.fixture
def glendale_records(two_clinics):
    glendale, glenna, theirs = two_clinics["glendale"], two_clinics["glenna"], two_clinics["theirs"]
    start = theirs.start + timedelta(days=1)
    payment = Payment.objects.create(
        client=glenna, location=glendale, appointment=theirs, kind="deposit", amount=5000, status="succeeded"
    )
    refund = Refund.objects.create(payment=payment, amount=1000, reason="Glendale refund reason", status="succeeded")
    entry = WaitlistEntry.objects.create(
        client=glenna,
        location=glendale,
        service=two_clinics["g_service"],
        earliest_date=start.date(),
        latest_date=start.date() + timedelta(days=7),
    )
    opening = Opening.objects.create(
        location=glendale, practitioner=two_clinics["g_person"], start=start, end=start + timedelta(hours=1)
    )
    offer = WaitlistOffer.objects.create(
        opening=opening, entry=entry, expires_at=timezone.now() + timedelta(minutes=15)
    )
    template = form_template(services_=[two_clinics["g_service"]])
    answers = submission(
        client=glenna, template=template, appointment=theirs, answers={"allergies": "Glendale-only allergy answer"}
    )
    exam = GoodFaithExam.objects.create(
        client=glenna,
        appointment=theirs,
        outcome=ExamOutcome.values[0],
        examiner_name="Dr Glendalia",
        examined_at=timezone.now(),
    )
    override = CheckInOverride.objects.create(
        client=glenna,
        appointment=theirs,
        reason="Glendale override reason",
        recorded_by_name="Dr Glendalia",
        recorded_at=timezone.now(),
    )
    laser = ResourceType.objects.create(name="Laser (every location)")
    unit = ResourceUnit.objects.create(location=glendale, resource_type=laser, name="Glendale laser 1")
    requirement = ServiceRequirement.objects.create(service=two_clinics["g_service"], resource_type=laser)
    rule = PaymentRequirement.objects.create(location=glendale, service=two_clinics["g_service"], kind="card_on_file")
    policy = CancellationPolicy.objects.create(
        location=glendale, version=1, window_hours=24, late_cancel_fee=1, no_show_fee=1, wording="Glendale policy"
    )
    return {
        Payment: [payment],
        Refund: [refund],
        WaitlistEntry: [entry],
        Opening: [opening],
        WaitlistOffer: [offer],
        FormSubmission: [answers],
        GoodFaithExam: [exam],
        CheckInOverride: [override],
        ResourceUnit: [unit],
        ServiceRequirement: [requirement],
        PaymentRequirement: [rule],
        CancellationPolicy: [policy],
    }


def assert_nothing_of_glendale(response, url):
    content = response.content.decode(errors="replace")
    leaked = [secret for secret in NEWER_SECRETS if secret in content]
    assert leaked == [], f"{url} ({response.status_code}) shows {leaked}"


@pytest.mark.parametrize("role", [FRONT_DESK, CLINIC_MANAGER, PRIVACY_OFFICER, PRACTITIONER])
@pytest.mark.policy("security")
def test_milpitas_staff_reach_nothing_of_glendales_newer_records_through_any_admin_url(
    client, two_clinics, glendale_records, role
):
    client.force_login(staff(role, two_clinics["milpitas"]))
    crawled = 0
    for model, model_admin in admin.site._registry.items():
        for url in list_urls(model_admin):
            response = client.get(url, follow=True)
            assert response.status_code in (200, 403, 404, 405), f"{url} answered {response.status_code}"
            assert_nothing_of_glendale(response, url)
            crawled += 1
        for obj in glendale_records.get(model, []):
            for url in object_urls(model_admin, obj):
                if "/checkout/" in url:
                    continue  # takes an appointment's id, not this record's: crawled below with Glendale's
                response = client.get(url)
                assert response.status_code in (302, 403, 404), f"{url} answered {response.status_code}"
                assert_nothing_of_glendale(client.get(url, follow=True), url)
                crawled += 1
    assert crawled > 60
    theirs = two_clinics["theirs"]
    glendale = two_clinics["glendale"]
    for url in (
        reverse("admin:payments_payment_checkout", args=[theirs.pk]),
        reverse("admin:payments_payment_charge_fee", args=[theirs.pk, "no_show"]),
        reverse("admin:payments_payment_charge_fee", args=[theirs.pk, "late_cancel"]),
        reverse("admin:appointments_day_calendar") + f"?location={glendale.pk}",
        reverse("admin:payments_payment_takings") + f"?location={glendale.pk}",
        reverse("admin:appointments_appointment_changelist") + f"?location__id__exact={glendale.pk}",
        reverse("admin:payments_refund_changelist") + f"?payment__location__id__exact={glendale.pk}",
        reverse("admin:waitlist_waitlistentry_changelist") + f"?location__id__exact={glendale.pk}",
        reverse("admin:clinical_forms_formsubmission_changelist") + f"?client__id__exact={two_clinics['glenna'].pk}",
        reverse("admin:clinical_forms_formsubmission_changelist") + f"?appointment__id__exact={theirs.pk}",
    ):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code in (200, 302, 403, 404, 405), f"{url} answered {response.status_code}"
            assert_nothing_of_glendale(response, url)
