"""Two-step sign-in (TOTP): optional for staff, required for privacy officers, when STAFF_TWO_FACTOR is on."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.roles import FRONT_DESK, PRIVACY_OFFICER
from tests.support.builders import StaffFactory

pytestmark = pytest.mark.django_db
ADMIN = "/admin/"
TWO_STEP = "/staff/two-step/"


def staff(role):
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=role))
    return user


def enrolled(user):
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def signed_in_enrolled_officer(client):
    officer = staff(PRIVACY_OFFICER)
    device = enrolled(officer)
    client.force_login(officer)
    return officer, device


def code_for(device):
    totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{totp.token():06d}"


def wrong_code(device):
    return f"{(int(code_for(device)) + 1) % 1_000_000:06d}"


@pytest.fixture
def two_factor_on(settings):
    settings.STAFF_TWO_FACTOR = True


def test_two_step_is_off_by_default_and_its_page_does_not_exist(client):
    client.force_login(staff(PRIVACY_OFFICER))
    assert client.get(ADMIN).status_code == 200
    assert client.get(TWO_STEP).status_code == 404


@pytest.mark.policy("security")
def test_privacy_officer_must_enrol_before_any_admin_page(client, two_factor_on):
    officer = staff(PRIVACY_OFFICER)
    client.force_login(officer)
    response = client.get("/admin/privacy/datasubjectrequest/")
    assert response.status_code == 302
    assert response["Location"] == f"{TWO_STEP}?next=%2Fadmin%2Fprivacy%2Fdatasubjectrequest%2F"

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "QR code for your authenticator app" in html and "Key:" in html
    assert 'label for="id_token"' in html
    device = TOTPDevice.objects.get(user=officer, confirmed=False)

    refused = client.post(TWO_STEP, {"token": wrong_code(device), "next": "/admin/privacy/datasubjectrequest/"})
    assert refused.status_code == 400 and "did not match" in refused.content.decode()
    assert client.get(ADMIN).status_code == 302  # still held at the second step
    slowed = client.post(TWO_STEP, {"token": code_for(device)})
    assert slowed.status_code == 400 and "Wait a few seconds" in slowed.content.decode()

    with time_machine.travel(timezone.now() + timedelta(seconds=3)):
        accepted = client.post(TWO_STEP, {"token": code_for(device), "next": "/admin/privacy/datasubjectrequest/"})
    assert accepted.status_code == 302 and accepted["Location"] == "/admin/privacy/datasubjectrequest/"
    assert client.get("/admin/privacy/datasubjectrequest/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_enrolled_staff_enter_a_fresh_code_at_each_sign_in_and_a_used_code_is_refused(client, two_factor_on):
    officer, device = signed_in_enrolled_officer(client)
    page = client.get(TWO_STEP)
    assert "Key:" not in page.content.decode()  # no new enrolment for a confirmed device
    used = code_for(device)
    assert client.post(TWO_STEP, {"token": used}).status_code == 302

    client.logout()
    client.force_login(officer)
    assert client.get(ADMIN).status_code == 302
    assert client.post(TWO_STEP, {"token": used}).status_code == 400  # a replayed code
    assert client.get(ADMIN).status_code == 302
    with time_machine.travel(timezone.now() + timedelta(seconds=device.step + 1)):
        assert client.post(TWO_STEP, {"token": code_for(device)}).status_code == 302  # the next code
        assert client.get(ADMIN).status_code == 200


def test_front_desk_may_skip_enrolment_but_once_enrolled_must_use_it(client, two_factor_on):
    desk = staff(FRONT_DESK)
    client.force_login(desk)
    assert client.get(ADMIN).status_code == 200
    assert "Two-step sign-in" in client.get(ADMIN).content.decode()

    enrolled(desk)
    client.logout()
    client.force_login(desk)
    assert client.get(ADMIN).status_code == 302


def test_the_next_address_cannot_send_staff_to_another_site(client, two_factor_on):
    _, device = signed_in_enrolled_officer(client)
    response = client.post(TWO_STEP, {"token": code_for(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_signed_out_visitors_are_sent_to_the_admin_sign_in(client, two_factor_on):
    response = client.get(TWO_STEP)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_an_enrolment_key_belongs_to_the_session_that_was_shown_it(client, two_factor_on):
    from django.test import Client as Browser

    officer = staff(PRIVACY_OFFICER)
    intruder = Browser()  # someone who knows only the password
    intruder.force_login(officer)
    intruder.get(TWO_STEP)
    intruders_device = TOTPDevice.objects.get(user=officer, confirmed=False)

    client.force_login(officer)
    client.get(TWO_STEP)  # the officer's own page: a fresh key
    own_device = TOTPDevice.objects.get(user=officer, confirmed=False)
    assert own_device.key != intruders_device.key
    assert client.post(TWO_STEP, {"token": code_for(own_device)}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=officer).values_list("key", flat=True)) == [own_device.key]
    assert intruder.post(TWO_STEP, {"token": code_for(intruders_device)}).status_code == 400


def test_staff_holding_privacy_permissions_without_the_group_must_enrol_too(client, two_factor_on):
    from django.contrib.auth.models import Permission

    user = StaffFactory()
    user.user_permissions.add(Permission.objects.get(codename="export_datasubjectrequest"))
    client.force_login(user)
    assert client.get(ADMIN).status_code == 302


def test_the_whole_address_asked_for_is_kept_through_the_second_step(client, two_factor_on):
    _, device = signed_in_enrolled_officer(client)
    asked = "/admin/privacy/datasubjectrequest/?status=received&request_type=erasure"
    step = client.get(asked)["Location"]
    response = client.post(step, {"token": code_for(device), "next": client.get(step).context["next"]})
    assert response["Location"] == asked


def test_authenticator_keys_are_hidden_in_the_admin_even_from_superusers(admin_client, admin_user, two_factor_on):
    device = enrolled(staff(PRIVACY_OFFICER))
    own = enrolled(admin_user)
    assert admin_client.post(TWO_STEP, {"token": code_for(own)}).status_code == 302
    page = admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert page.status_code == 200 and device.key not in page.content.decode()
