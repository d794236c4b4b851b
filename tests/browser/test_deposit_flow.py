"""A new client pays a deposit on a phone, end to end, in headless Chromium, with the local payments backend:
the policy read and accepted, the (simulated) hosted payment page, then the booking and its payment listed."""

import pytest

from appointments.demo import seed_demo_data
from appointments.models import Appointment, Service
from clinic.models import Location
from payments import services
from payments.models import Payment, PaymentRequirement, PaymentStatus, RequirementKind
from privacy.demo import seed_privacy_demo_data
from privacy.models import ConsentRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinic_asking_a_deposit(settings):
    settings.PAYMENTS_BACKEND = "payments.backends.local.PaymentsBackend"
    seed_demo_data()
    seed_privacy_demo_data()
    milpitas = Location.objects.get(slug="milpitas")
    PaymentRequirement.objects.update_or_create(
        location=milpitas,
        service=Service.objects.get(name="HydraFacial"),
        defaults={"kind": RequirementKind.DEPOSIT_FIXED, "deposit_amount": 5000},
    )
    return services.save_cancellation_policy(location=milpitas, window_hours=24, late_cancel_fee=4000, no_show_fee=6000)


@pytest.mark.policy("use-payments")
def test_new_client_pays_a_deposit_on_a_phone(phone_page, live_server, clinic_asking_a_deposit):
    page = phone_page
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Book at Milpitas").click()
    page.get_by_role("link", name="HydraFacial").click()
    for _ in range(4):
        if page.locator("a.slot").count():
            break
        page.get_by_role("link", name="Next week").click()
    page.locator("a.slot").first.click()
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Last name").fill("Reyes")
    page.get_by_label("Email (required)", exact=True).fill("dana.reyes@example.com")
    page.get_by_label("Mobile phone").fill("(408) 555-0143")
    page.get_by_label("I am 18 or older").check()
    page.get_by_label("I have read and accept").check()
    page.get_by_role("button", name="Book appointment").click()

    page.get_by_role("heading", name="Pay your deposit").wait_for()
    assert page.get_by_text(clinic_asking_a_deposit.wording).is_visible()
    page.get_by_label("I accept this cancellation policy").check()
    page.get_by_role("button", name="Continue to pay $50.00").click()

    page.get_by_role("heading", name="Test payment page").wait_for()
    page.get_by_role("button", name="Pay $50.00").click()

    page.get_by_role("heading", name="You're booked").wait_for()
    assert page.get_by_role("heading", name="Your payments").is_visible()
    assert page.get_by_text("$50.00").first.is_visible()
    appointment = Appointment.objects.get(client__email="dana.reyes@example.com")
    payment = Payment.objects.get(appointment=appointment)
    assert payment.amount == 5000 and payment.status == PaymentStatus.SUCCEEDED
    accepted = ConsentRecord.objects.get(client=appointment.client, purpose=services.CANCELLATION_POLICY_PURPOSE)
    assert accepted.notice_text == clinic_asking_a_deposit.wording


@pytest.mark.policy("use-payments")
def test_new_client_pays_one_deposit_for_a_visit_of_two_services_with_javascript_off(
    chromium, live_server, settings, clinic_asking_a_deposit
):
    """HydraFacial ($50.00) then a chemical peel ($25.00): one deposit of $75.00, the visit booked whole."""
    from tests.support.accessibility import axe_violations

    milpitas = Location.objects.get(slug="milpitas")
    PaymentRequirement.objects.update_or_create(
        location=milpitas,
        service=Service.objects.get(name="Chemical peel"),
        defaults={"kind": RequirementKind.DEPOSIT_FIXED, "deposit_amount": 2500},
    )
    settings.SITE_URL = live_server.url
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/book/milpitas/visit/")
        page.get_by_label("Service 1", exact=True).select_option(label="HydraFacial")
        page.get_by_label("Service 2", exact=True).select_option(label="Chemical peel")
        page.get_by_role("button", name="Show times").click()
        for _ in range(4):
            if page.locator("a.slot").count():
                break
            page.get_by_role("link", name="Next week").click()
        page.locator("a.slot").first.click()
        assert page.get_by_text("deposit of $75.00 for this visit").is_visible()
        assert axe_violations(page, javascript=False) == []
        page.get_by_label("First name").fill("Dana")
        page.get_by_label("Last name").fill("Reyes")
        page.get_by_label("Email", exact=True).fill("dana.reyes@example.com")
        page.get_by_label("Mobile phone").fill("(408) 555-0143")
        page.get_by_label("I am 18 or older").check()
        page.get_by_label("I have read and accept").check()
        page.get_by_role("button", name="Book the visit").click()

        page.get_by_role("heading", name="Pay your deposit").wait_for()
        assert page.get_by_text("HydraFacial with").is_visible() and page.get_by_text("Chemical peel with").is_visible()
        assert axe_violations(page, javascript=False) == []
        page.get_by_label("I accept this cancellation policy").check()
        page.get_by_role("button", name="Continue to pay $75.00").click()
        page.get_by_role("heading", name="Test payment page").wait_for()
        page.get_by_role("button", name="Pay $75.00").click()
        page.get_by_role("heading", name="You're booked").wait_for()
    finally:
        context.close()
    appointments = list(Appointment.objects.filter(client__email="dana.reyes@example.com").order_by("start"))
    assert [a.service.name for a in appointments] == ["HydraFacial", "Chemical peel"]
    assert len({a.visit_id for a in appointments}) == 1
    payment = Payment.objects.get(client__email="dana.reyes@example.com")
    assert payment.amount == 7500 and payment.status == PaymentStatus.SUCCEEDED
