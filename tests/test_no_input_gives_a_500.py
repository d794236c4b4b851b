"""Property-based: no input to the forms and webhooks gives a 500 or a half-written booking."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django import forms
from hypothesis import HealthCheck, given, settings, strategies as st
from twilio.request_validator import RequestValidator

from appointments.forms import MobilePhoneField
from appointments.models import Appointment
from clinic.models import Client
from messaging.keywords import Keyword, classify

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@FUZZ
@given(text)
def test_phone_field_accepts_or_explains_any_text(value):
    try:
        number = MobilePhoneField().clean(value)
    except forms.ValidationError:
        return
    assert str(number).startswith("+")


@FUZZ
@given(text)
def test_keyword_matching_never_fails_and_ignores_case_and_padding(body):
    keyword = classify(body)
    assert isinstance(keyword, Keyword)
    assert classify(body.upper()) == classify(body.lower()) or not body.isascii()


@pytest.mark.parametrize("word", ["STOP", "START", "HELP", "C", "CONFIRM", "UNSUBSCRIBE"])
@FUZZ
@given(padding=st.sampled_from(["", " ", "  ", "\n", "!", ".", "?!", " . "]))
def test_keywords_survive_any_padding_and_case(word, padding):
    assert classify(padding + word.lower() + padding) == classify(word) != Keyword.NONE


@pytest.mark.django_db
@FUZZ
@given(
    first=text, last=text, email=text, phone=text, adult=st.booleans(), policy=st.booleans(),
    start=st.one_of(text, st.just("2026-12-07T18:00:00+00:00")), practitioner=st.one_of(text, st.just("any")),
)
def test_booking_form_never_500s(client, first, last, email, phone, adult, policy, start, practitioner):
    from tests.factories import bookable_clinic

    if not Client.objects.filter(email="fixture@example.com").exists():
        bookable_clinic(hours=((time(9), time(17)),))
        Client.objects.create(first_name="F", last_name="F", email="fixture@example.com")
    from clinic.models import Location

    location = Location.objects.first()
    service = location.services.first()
    data = {"first_name": first, "last_name": last, "email": email, "mobile_phone": phone, "start": start, "practitioner": practitioner}
    if adult:
        data["is_adult"] = "on"
    if policy:
        data["accept_privacy_policy"] = "on"
    with time_machine.travel(datetime(2026, 12, 6, 18, tzinfo=ZoneInfo("America/Los_Angeles")), tick=False):
        before = Appointment.objects.count()
        response = client.post(f"/book/{location.slug}/{service.slug}/details/", {k: v.replace("\x00", "") for k, v in data.items()})
    assert response.status_code in (200, 302, 409)
    assert Appointment.objects.count() in (before, before + 1)


@pytest.mark.django_db
@FUZZ
@given(request_type=text, email=text, phone=text, details=text)
def test_privacy_request_form_never_500s(client, request_type, email, phone, details):
    data = {"request_type": request_type, "email": email, "phone": phone, "details": details}
    response = client.post("/privacy/requests/", {k: v.replace("\x00", "") for k, v in data.items()})
    assert response.status_code == 200


@pytest.mark.django_db
@FUZZ
@given(sid=text, sender=text, body=st.text(max_size=300), signed=st.booleans())
def test_inbound_webhook_never_500s(client, sid, sender, body, signed):
    url = "/messaging/twilio/inbound/"
    data = {k: v.replace("\x00", "") for k, v in {"MessageSid": sid, "From": sender, "To": "+14088211633", "Body": body}.items()}
    headers = {}
    if signed:
        headers["HTTP_X_TWILIO_SIGNATURE"] = RequestValidator("test-auth-token").compute_signature("http://testserver" + url, data)
    response = client.post(url, data, **headers)
    assert response.status_code in ((200, 400) if signed else (403,))
