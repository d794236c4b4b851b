"""What staff see of clients' texts: never a verification code, and every view of someone's texts is audited."""

import io
import zipfile

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from appointments.models import Appointment
from clinic.roles import FRONT_DESK
from messaging.models import Direction, MessageKind, MessageStatus, SmsMessage
from privacy.export import build_bundle
from privacy.requests_models import AuditAction, PrivacyAuditEvent
from tests.support.builders import AppointmentFactory, ClientFactory, StaffFactory, bookable_clinic

pytestmark = pytest.mark.django_db

CODE = "482913"


def staff(role, *locations):
    # No locations given: a profile marked "All locations".
    user = StaffFactory(locations=list(locations) or None)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def texts():
    from datetime import timedelta

    from django.utils import timezone

    location, service, (person,) = bookable_clinic()
    client = ClientFactory(first_name="Vera", last_name="Codeholder", preferred_location=location)
    appointment = AppointmentFactory(
        client=client, location=location, service=service, practitioner=person, start=timezone.now() + timedelta(days=2)
    )
    phone = str(client.mobile_phone)
    code = SmsMessage.objects.create(
        to_number=phone,
        client=client,
        location=location,
        appointment=appointment,
        kind=MessageKind.VERIFICATION,
        body=f"California Aesthetics: your verification code is {CODE}. It expires in 15 minutes.",
        status=MessageStatus.SENT,
    )
    question = SmsMessage.objects.create(
        direction=Direction.INBOUND,
        from_number=phone,
        to_number="+14088211633",
        client=client,
        location=location,
        body="Can I move my visit?",
        status=MessageStatus.RECEIVED,
        keyword="none",
    )
    return {"location": location, "client": client, "appointment": appointment, "code": code, "question": question}


def admin_pages(texts):
    return [
        reverse("admin:messaging_smsmessage_changelist"),
        reverse("admin:messaging_smsmessage_change", args=[texts["code"].pk]),
        reverse("admin:clinic_client_change", args=[texts["client"].pk]),
        reverse("admin:appointments_appointment_change", args=[texts["appointment"].pk]),
        reverse("admin:messaging_inboundmessage_changelist"),
        reverse("admin:messaging_inboundmessage_reply", args=[texts["question"].pk]),
    ]


@pytest.mark.policy("security")
@pytest.mark.parametrize("who", ["superuser", "front desk"])
def test_verification_codes_are_masked_on_every_admin_page(client, texts, who):
    """The log, its detail page, the client's and appointment's inlines and the inbox thread mask the code."""
    user = StaffFactory(is_superuser=True) if who == "superuser" else staff(FRONT_DESK, texts["location"])
    client.force_login(user)
    for url in admin_pages(texts):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert CODE not in html, url
    # The wording is kept: staff can tell a code went out, and when.
    detail = client.get(reverse("admin:messaging_smsmessage_change", args=[texts["code"].pk])).content.decode()
    assert "your verification code is ••••••" in detail
    thread = client.get(reverse("admin:messaging_inboundmessage_reply", args=[texts["question"].pk])).content.decode()
    assert "your verification code is ••••••" in thread


def test_verification_codes_are_masked_in_the_export_csvs(texts):
    bundle = zipfile.ZipFile(io.BytesIO(build_bundle(client_ids=[texts["client"].pk])))
    for name in bundle.namelist():
        assert CODE not in bundle.read(name).decode(), name


@pytest.mark.policy("security")
@pytest.mark.parametrize(
    "page",
    ["message_log_detail", "inbox_detail", "inbox_thread", "inbox_list", "appointment_with_its_texts"],
)
def test_each_staff_view_of_a_clients_texts_is_audited(client, texts, page):
    user = staff(FRONT_DESK, texts["location"])
    client.force_login(user)
    url = {
        "message_log_detail": reverse("admin:messaging_smsmessage_change", args=[texts["code"].pk]),
        "inbox_detail": reverse("admin:messaging_inboundmessage_change", args=[texts["question"].pk]),
        "inbox_thread": reverse("admin:messaging_inboundmessage_reply", args=[texts["question"].pk]),
        "inbox_list": reverse("admin:messaging_inboundmessage_changelist"),
        "appointment_with_its_texts": reverse("admin:appointments_appointment_change", args=[texts["appointment"].pk]),
    }[page]
    assert client.get(url).status_code == 200
    events = PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_VIEWED, client=texts["client"], actor=user)
    assert events.count() == 1
    assert texts["client"].mobile_phone.as_e164 not in events.get().detail  # the trail names what, not the number


def test_a_page_staff_cannot_open_is_not_audited_as_viewed(client, texts):
    other_location, _, _ = bookable_clinic()
    client.force_login(staff(FRONT_DESK, other_location))
    assert client.get(reverse("admin:messaging_smsmessage_change", args=[texts["code"].pk])).status_code == 404
    assert not PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_VIEWED).exists()
    assert Appointment.objects.count() == 1


@pytest.mark.policy("security")
@pytest.mark.parametrize("lookup", ["body__contains", "body__startswith", "body__regex", "body__icontains"])
def test_verification_codes_cannot_be_guessed_through_changelist_filters(client, texts, lookup):
    """`?body__contains=<guess>` on the text log would tell staff the code digit by digit.

    Refused like any unknown filter.
    """
    client.force_login(staff(FRONT_DESK, texts["location"]))
    url = reverse("admin:messaging_smsmessage_changelist")
    right = client.get(url, {lookup: CODE if lookup != "body__regex" else f"is {CODE[0]}"})
    wrong = client.get(url, {lookup: "000000" if lookup != "body__regex" else "is x"})
    # Django answers a disallowed lookup with 400 (DisallowedModelAdminLookup), never the filtered list.
    assert right.status_code == wrong.status_code == 400


def test_privacy_request_code_hash_cannot_be_probed_through_changelist_filters(client):
    """The code's hash with the request's id and reference would give the code back offline: no filter on it."""
    from privacy.requests_models import DataSubjectRequest

    client.force_login(StaffFactory(is_superuser=True))
    url = reverse("admin:privacy_datasubjectrequest_changelist")
    for lookup in ["sms_code_hash__startswith", "verification_nonce__startswith", "export_nonce__startswith"]:
        response = client.get(url, {lookup: "a"})
        assert response.status_code == 400, lookup
    assert DataSubjectRequest.objects.count() == 0  # nothing to see either way; the refusal is the point


@pytest.mark.parametrize("page", ["client", "appointment"])
@pytest.mark.policy("security")
def test_a_form_posted_back_with_errors_is_audited_like_opening_the_page(client, texts, page):
    """The change page re-rendered after an invalid POST shows the same texts (inlines): it is a view too,
    or staff could read anyone's messages unaudited by posting a blank form."""
    user = staff(FRONT_DESK, texts["location"])
    client.force_login(user)
    url = {
        "client": reverse("admin:clinic_client_change", args=[texts["client"].pk]),
        "appointment": reverse("admin:appointments_appointment_change", args=[texts["appointment"].pk]),
    }[page]
    import re

    # The form as the page gives it (management forms included), with a required field emptied.
    form = dict(
        re.findall(
            r'<input type="(?:hidden|text|number)" name="([^"]+)" value="([^"]*)"', client.get(url).content.decode()
        )
    )
    form.pop("csrfmiddlewaretoken", None)
    form["first_name" if page == "client" else "start_0"] = ""
    # The GET above was audited; the POST is what is checked (the trail is append-only: count from here).
    before = PrivacyAuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = client.post(url, form)
    shown = "Can I move my visit?" if page == "client" else "your verification code is ••••••"  # the inline's texts
    assert response.status_code == 200 and shown in response.content.decode()
    assert "errornote" in response.content.decode()
    assert (
        PrivacyAuditEvent.objects.filter(
            pk__gt=before, action=AuditAction.DATA_VIEWED, client=texts["client"], actor=user
        ).count()
        == 1
    )
