"""The front desk's payments pages: scoped to the staff member's locations; refunds for managers, with a reason."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clinic.roles import CLINIC_MANAGER, FRONT_DESK
from payments.backends import local
from payments.models import CancellationPolicy, Payment, PaymentKind, PaymentStatus, Refund
from tests.support.builders import ClientFactory, LocationFactory, StaffFactory

pytestmark = pytest.mark.django_db


def staff(role, *locations):
    user = StaffFactory(locations=list(locations))
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def payments():
    milpitas, glendale = LocationFactory(name="Milpitas"), LocationFactory(name="Glendale")
    made = {}
    for location in (milpitas, glendale):
        made[location.name] = Payment.objects.create(
            client=ClientFactory(preferred_location=location),
            location=location,
            kind=PaymentKind.DEPOSIT,
            amount=5000,
            status=PaymentStatus.SUCCEEDED,
            stripe_payment_intent_id=f"pi_{location.name}",
        )
    return milpitas, glendale, made


def refund_url(payment):
    return reverse("admin:payments_payment_refund", args=[payment.pk])


def test_a_manager_refunds_part_of_a_payment_of_their_location_with_a_reason(client, payments):
    milpitas, _, made = payments
    manager = staff(CLINIC_MANAGER, milpitas)
    client.force_login(manager)
    response = client.post(refund_url(made["Milpitas"]), {"amount": "1500", "reason": "Treatment shortened"})
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.requested_by, refund.status) == (
        1500,
        "Treatment shortened",
        manager,
        "succeeded",
    )
    assert [(op, key) for op, key, _ in local.calls if op == "create_refund"] == [
        ("create_refund", f"refund-{refund.pk}")
    ]
    made["Milpitas"].refresh_from_db()
    assert made["Milpitas"].status == PaymentStatus.PARTIALLY_REFUNDED


@pytest.mark.policy("use-payments")
def test_a_refund_over_what_was_paid_or_without_a_reason_is_refused_with_a_message(client, payments):
    milpitas, _, made = payments
    client.force_login(staff(CLINIC_MANAGER, milpitas))
    too_much = client.post(refund_url(made["Milpitas"]), {"amount": "5001", "reason": "x"})
    assert too_much.status_code == 200 and "At most 5000 cents" in too_much.content.decode()
    no_reason = client.post(refund_url(made["Milpitas"]), {"amount": "100", "reason": ""})
    assert no_reason.status_code == 200 and not Refund.objects.exists() and not local.calls


@pytest.mark.policy("use-payments")
def test_the_front_desk_cannot_refund(client, payments):
    milpitas, _, made = payments
    client.force_login(staff(FRONT_DESK, milpitas))
    assert client.get(reverse("admin:payments_payment_change", args=[made["Milpitas"].pk])).status_code == 200
    assert client.post(refund_url(made["Milpitas"]), {"amount": "100", "reason": "x"}).status_code == 403
    assert not Refund.objects.exists()


@pytest.mark.policy("use-payments")
def test_staff_see_and_refund_only_their_locations_payments(client, payments):
    milpitas, _, made = payments
    client.force_login(staff(CLINIC_MANAGER, milpitas))
    listing = client.get(reverse("admin:payments_payment_changelist")).content.decode()
    assert f"/{made['Milpitas'].pk}/change/" in listing and f"/{made['Glendale'].pk}/change/" not in listing
    assert client.get(reverse("admin:payments_payment_change", args=[made["Glendale"].pk])).status_code == 404
    assert client.post(refund_url(made["Glendale"]), {"amount": "100", "reason": "x"}).status_code == 404
    assert not Refund.objects.exists()


def test_payments_cannot_be_edited_or_deleted_in_the_admin(client, payments):
    milpitas, _, made = payments
    client.force_login(staff(CLINIC_MANAGER, milpitas))
    url = reverse("admin:payments_payment_change", args=[made["Milpitas"].pk])
    client.post(url, {"amount": "1", "status": "refunded"})
    made["Milpitas"].refresh_from_db()
    assert made["Milpitas"].amount == 5000 and made["Milpitas"].status == PaymentStatus.SUCCEEDED
    assert client.post(reverse("admin:payments_payment_delete", args=[made["Milpitas"].pk])).status_code == 403


def test_a_manager_publishes_a_new_cancellation_policy_version_for_their_location_only(client, payments):
    milpitas, glendale, _ = payments
    client.force_login(staff(CLINIC_MANAGER, milpitas))
    add = reverse("admin:payments_cancellationpolicy_add")
    form = {"window_hours": "24", "late_cancel_fee": "2500", "no_show_fee": "5000", "currency": "usd"}
    assert client.post(add, {**form, "location": glendale.pk}).status_code == 200  # not a choice for them
    assert not CancellationPolicy.objects.exists()
    assert client.post(add, {**form, "location": milpitas.pk}).status_code == 302
    assert client.post(add, {**form, "location": milpitas.pk, "window_hours": "48"}).status_code == 302
    first, second = CancellationPolicy.objects.order_by("version")
    assert (first.version, first.window_hours, second.version, second.window_hours) == (1, 24, 2, 48)
    assert "$50.00" in second.wording
    # A saved version is never changed.
    client.post(
        reverse("admin:payments_cancellationpolicy_change", args=[first.pk]),
        {**form, "location": milpitas.pk, "window_hours": "1"},
    )
    first.refresh_from_db()
    assert first.window_hours == 24


def test_the_front_desk_cannot_change_payment_requirements(client, payments):
    milpitas, _, _ = payments
    client.force_login(staff(FRONT_DESK, milpitas))
    assert client.get(reverse("admin:payments_paymentrequirement_add")).status_code == 403


def test_every_payments_admin_page_opens_for_a_manager(client, payments):
    milpitas, _, made = payments
    Refund.objects.create(payment=made["Milpitas"], amount=100, reason="x")
    client.force_login(staff(CLINIC_MANAGER, milpitas))
    for name in ("payment", "refund", "paymentrequirement", "cancellationpolicy"):
        assert client.get(reverse(f"admin:payments_{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:payments_paymentrequirement_add")).status_code == 200
    assert client.get(refund_url(made["Milpitas"])).status_code == 200


def test_a_deposit_requirement_without_its_amount_is_refused_with_a_clear_message(client, payments):
    from payments.models import PaymentRequirement
    from tests.support.builders import ServiceFactory

    milpitas, _, _ = payments
    service = ServiceFactory(locations=[milpitas])
    client.force_login(staff(CLINIC_MANAGER, milpitas))
    add = reverse("admin:payments_paymentrequirement_add")
    form = {"location": milpitas.pk, "service": service.pk, "currency": "usd"}
    percent = client.post(add, {**form, "kind": "deposit_percent", "deposit_percent": "20"})
    assert percent.status_code == 200 and "needs the service&#x27;s price" in percent.content.decode()
    fixed = client.post(add, {**form, "kind": "deposit_fixed"})
    assert fixed.status_code == 200 and "needs its amount" in fixed.content.decode()
    assert not PaymentRequirement.objects.exists()
    assert (
        client.post(
            add, {**form, "kind": "deposit_percent", "deposit_percent": "20", "price_amount": "25000"}
        ).status_code
        == 302
    )
    assert PaymentRequirement.objects.get().deposit_due() == 5000
