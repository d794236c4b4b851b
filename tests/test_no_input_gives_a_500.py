"""Property-based: no input to the forms and webhooks gives a 500 or a half-written booking."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django import forms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from appointments.forms import MobilePhoneField
from appointments.models import Appointment
from clinic.models import Client
from messaging.keywords import Keyword, classify, registered_handler

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


PADDING = st.sampled_from(["", " ", "  ", "\n", "!", ".", "?!", " . "])


@pytest.mark.parametrize("word", ["STOP", "START", "HELP", "UNSUBSCRIBE", "ALTO", "AYUDA"])
@FUZZ
@given(padding=PADDING)
def test_keywords_survive_any_padding_and_case(word, padding):
    assert classify(padding + word.lower() + padding) == classify(word) != Keyword.NONE


@pytest.mark.parametrize("word", ["C", "CONFIRM", "JOIN"])
@FUZZ
@given(padding=PADDING)
def test_registered_keywords_survive_any_padding_and_case(word, padding):
    handler = registered_handler(padding + word.lower() + padding)
    assert handler is not None and handler == registered_handler(word)


@pytest.mark.django_db
@FUZZ
@given(
    first=text,
    last=text,
    email=text,
    phone=text,
    adult=st.booleans(),
    policy=st.booleans(),
    start=st.one_of(text, st.just("2026-12-07T18:00:00+00:00")),
    practitioner=st.one_of(text, st.just("any")),
)
def test_booking_form_never_500s(client, first, last, email, phone, adult, policy, start, practitioner):
    from tests.support.builders import bookable_clinic

    if not Client.objects.filter(email="fixture@example.com").exists():
        bookable_clinic(hours=((time(9), time(17)),))
        Client.objects.create(first_name="F", last_name="F", email="fixture@example.com")
    from clinic.models import Location

    location = Location.objects.first()
    service = location.services.first()
    data = {
        "first_name": first,
        "last_name": last,
        "email": email,
        "mobile_phone": phone,
        "start": start,
        "practitioner": practitioner,
    }
    if adult:
        data["is_adult"] = "on"
    if policy:
        data["accept_privacy_policy"] = "on"
    with time_machine.travel(datetime(2026, 12, 6, 18, tzinfo=ZoneInfo("America/Los_Angeles")), tick=False):
        before = Appointment.objects.count()
        response = client.post(
            f"/book/{location.slug}/{service.slug}/details/", {k: v.replace("\x00", "") for k, v in data.items()}
        )
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
    data = {
        k: v.replace("\x00", "")
        for k, v in {"MessageSid": sid, "From": sender, "To": "+14088211633", "Body": body}.items()
    }
    headers = {}
    if signed:
        headers["HTTP_X_TWILIO_SIGNATURE"] = RequestValidator("test-auth-token").compute_signature(
            "http://testserver" + url, data
        )
    response = client.post(url, data, **headers)
    assert response.status_code in ((200, 400) if signed else (403,))


# --- Every public URL and parameter ------------------------------------------------------------
#
# Any date (year 1 to 9999, with or without an offset, at either end of the calendar), any
# Unicode (full-width letters), NUL bytes and huge values, in every query parameter and form
# field of every public page, with valid links and made-up ones: the answer is never a 500.

from datetime import date, timedelta  # noqa: E402

FIRST, LAST = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)
moments = st.datetimes(min_value=FIRST, max_value=LAST)
edge_moments = st.sampled_from([FIRST, LAST, datetime(1, 1, 1, 0, 30), datetime(9999, 12, 31, 23, 30)])
offsets = st.sampled_from(["", "Z", "+00:00", "+14:00", "-12:00", "+23:59", "-23:59"])
dates_and_times = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.tuples(st.one_of(moments, edge_moments), offsets).map(lambda p: p[0].isoformat() + p[1]),
    st.sampled_from(
        ["0001-01-01", "9999-12-31", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00-12:00", "20261207", "2026-W50-1"]
    ),
)
odd_text = st.one_of(
    text,
    st.text(alphabet=st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E), max_size=20),  # full-width: ＳＴＯＰ
    st.text(alphabet=st.sampled_from("\x00a1-:T+Z"), max_size=30),
    st.sampled_from(
        ["\x00", "a\x00b", "2026-12-07\x00", "any\x00", "9" * 5000, "x" * 100_000, "-1", "0", "99999999999999999999"]
    ),
)
values = st.one_of(dates_and_times, odd_text)
LA_NOW = datetime(2026, 12, 6, 18, tzinfo=ZoneInfo("America/Los_Angeles"))


@pytest.fixture
def public_site(db):
    """A bookable clinic, a client with an appointment, and the public URLs that take a token, valid and made up."""
    from appointments.links import manage_token
    from messaging.marketing import unsubscribe_token
    from messaging.preferences import resubscribe_token
    from privacy.links import preferences_token
    from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

    with time_machine.travel(LA_NOW, tick=False):
        location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
        client = ClientFactory(email="fuzz@example.com", mobile_phone="+14085550111")
        appointment = AppointmentFactory(
            client=client, location=location, service=service, practitioner=person, start=LA_NOW + timedelta(days=3)
        )
    token = manage_token(appointment)
    from clinical_forms.links import forms_token

    forms_link = f"/forms/{forms_token(appointment)}/"
    from privacy.requests_models import DataSubjectRequest
    from privacy.subject_requests import download_token, send_export_link

    export = DataSubjectRequest.objects.create(
        request_type="access",
        email=client.email,
        regime="gdpr",
        received_at=LA_NOW,
        due_at=LA_NOW,
        status="verified",
        verified_at=LA_NOW,
    )
    with time_machine.travel(LA_NOW, tick=False):  # the link is live at the tests' time
        send_export_link(request_id=export.pk)
    export.refresh_from_db()
    download = f"/privacy/requests/download/{download_token(export)}/"
    return {
        "location": location.slug,
        "service": service.slug,
        "practitioner": str(person.pk),
        "pages": [
            ("/", []),
            (f"/book/{location.slug}/", []),
            (f"/book/{location.slug}/{service.slug}/", ["date", "practitioner"]),
            (f"/book/{location.slug}/{service.slug}/details/", ["start", "practitioner"]),
            (f"/appointment/{token}/", ["booked", "cancelled", "rescheduled"]),
            (f"/appointment/{token}/reschedule/", ["date", "start"]),
            ("/privacy/", []),
            ("/privacy/versions/1/", []),
            ("/privacy/cookies/settings/", ["next"]),
            (f"/book/{location.slug}/visit/", ["service_1", "service_2", "practitioner_1", "date"]),
            (f"/book/{location.slug}/visit/details/", ["services", "start", "practitioners"]),
            ("/account/sign-in/", []),
            ("/privacy/choices/", ["done"]),
            ("/privacy/requests/", []),
            ("/privacy/requests/code/", ["resent"]),
            (download, []),
            (f"/messaging/preferences/{preferences_token(client)}/", []),
            ("/messaging/preferences/", []),
            (f"/messaging/unsubscribe/{unsubscribe_token(client)}/", []),
            (f"/messaging/resubscribe/{resubscribe_token(client, client.email)}/", []),
        ],
        "forms": [
            (
                f"/book/{location.slug}/{service.slug}/details/",
                ["start", "practitioner", "first_name", "last_name", "email", "mobile_phone"],
            ),
            (f"/appointment/{token}/reschedule/", ["start"]),
            (f"/appointment/{token}/cancel/", []),
            ("/account/sign-in/", ["email", "mobile_phone"]),
            (
                f"/book/{location.slug}/visit/details/",
                ["services", "start", "practitioners", "first_name", "last_name", "email", "mobile_phone"],
            ),
            ("/privacy/cookies/", ["choice", "next", "analytics", "marketing", "preferences"]),
            ("/privacy/choices/", []),
            ("/privacy/requests/", ["request_type", "email", "phone", "details"]),
            ("/privacy/requests/code/", ["code"]),
            ("/privacy/requests/code/new/", ["action"]),
            (download, ["action", "code"]),
            (
                f"/messaging/preferences/{preferences_token(client)}/",
                ["sms_reminders", "sms_marketing", "email_marketing", "email"],
            ),
            ("/messaging/preferences/", ["email", "mobile_phone"]),
            (f"/messaging/unsubscribe/{unsubscribe_token(client)}/", ["List-Unsubscribe"]),
            (f"/messaging/resubscribe/{resubscribe_token(client, client.email)}/", ["x"]),
            (forms_link + "report/health-changed/", ["note"]),
        ],
        "token_pages": [
            "/appointment/{}/",
            "/appointment/{}/reschedule/",
            "/privacy/requests/verify/{}/",
            "/privacy/requests/download/{}/",
            "/messaging/preferences/{}/",
            "/messaging/unsubscribe/{}/",
            "/privacy/versions/{}/",
            "/book/{}/",
            f"/book/{location.slug}/{{}}/",
            "/visits/keep-together/{}/",
            "/messaging/resubscribe/{}/",
            "/account/sign-in/link/{}/",
            "/forms/{}/",
            "/forms/{}/medical-history/",
            "/forms/{}/report/health-changed/",
            "/payments/booking/{}/",
            "/payments/booking/{}/done/",
            "/payments/fee/{}/",
            "/payments/local-checkout/{}/",
        ],
    }


def no_500(response, what):
    assert response.status_code < 500, what


@pytest.mark.django_db(transaction=False)
@FUZZ
@given(data=st.data())
def test_no_query_string_on_any_public_page_gives_a_500(client, public_site, data):
    path, names = data.draw(st.sampled_from(public_site["pages"]))
    params = {name: data.draw(values, label=name) for name in names}
    params.update(
        data.draw(st.dictionaries(st.sampled_from(["date", "start", "next", "x"]), values, max_size=2), label="extra")
    )
    with time_machine.travel(LA_NOW, tick=False):
        no_500(client.get(path, params), (path, params))


@pytest.mark.django_db(transaction=False)
@FUZZ
@given(data=st.data())
def test_no_form_post_to_any_public_page_gives_a_500(client, public_site, data):
    path, names = data.draw(st.sampled_from(public_site["forms"]))
    fields = {name: data.draw(values, label=name) for name in names}
    with time_machine.travel(LA_NOW, tick=False):
        no_500(client.post(path, fields), (path, fields))


@FUZZ
@given(data=st.data())
def test_no_made_up_link_gives_a_500(client, public_site, data):
    pattern = data.draw(st.sampled_from(public_site["token_pages"]))
    token = data.draw(
        odd_text.filter(lambda t: "/" not in t and "?" not in t and "#" not in t and t.strip()), label="token"
    )
    from urllib.parse import quote

    path = pattern.format(quote(token, safe=""))
    with time_machine.travel(LA_NOW, tick=False):
        no_500(client.get(path), path)
        no_500(client.post(path, {"action": data.draw(st.sampled_from(["download", "code", "send_code", ""]))}), path)


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00-12:00",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59+14:00",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01",
        "9999-12-31",
    ],
)
def test_dates_at_either_end_of_the_calendar_give_no_500(client, public_site, moment):
    location, service = public_site["location"], public_site["service"]
    with time_machine.travel(LA_NOW, tick=False):
        for path, names in public_site["pages"]:
            for name in set(names) & {"date", "start"}:
                no_500(client.get(path, {name: moment}), (path, name, moment))
        for path, names in public_site["forms"]:
            if "start" in names:
                no_500(client.post(path, {"start": moment, "practitioner": "any"}), (path, moment))
        no_500(
            client.get(f"/book/{location}/{service}/", {"date": moment, "practitioner": public_site["practitioner"]}),
            moment,
        )


@pytest.mark.parametrize("token", ["%00", "a%00b", "%EF%BC%B3%EF%BC%B4%EF%BC%AF%EF%BC%B0", "x" * 5000])
def test_nul_full_width_and_huge_path_values_give_no_500(client, public_site, token):
    """NUL (PostgreSQL refuses it in a query), ＳＴＯＰ and 5,000 characters, in every path value."""
    for pattern in public_site["token_pages"]:
        path = pattern.format(token)
        no_500(client.get(path), path)
        no_500(client.post(path, {}), path)


@pytest.mark.parametrize("value", ["²", "1²", "²,any", "any,²", "³,²", "٣"])
def test_digits_python_cannot_read_as_a_number_give_no_500_in_any_parameter(client, public_site, value):
    """ "²" is a digit to str.isdigit() but not to int(): a check by isdigit() then int() gave a 500."""
    with time_machine.travel(LA_NOW, tick=False):
        for path, names in public_site["pages"]:
            for name in names:
                no_500(client.get(path, {name: value}), (path, name, value))
        for path, names in public_site["forms"]:
            for name in names:
                no_500(client.post(path, {name: value}), (path, name, value))
