"""Every public page passes axe (0 violations) in a real browser, at a phone's size and at a desk's, in English;
the main ones also in Spanish (the browser asks for Spanish, as a Spanish-speaking client's does).

Pages reached by a private link get a real link; the signed-in account pages a real signed-in browser; the error
pages that no URL reaches on demand (429, 503, 500) are rendered by Django and served at a local address."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client as DjangoClient
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from appointments.demo import seed_demo_data
from appointments.links import manage_token
from appointments.models import Practitioner, Service
from clinic.models import Location
from clinical_forms.demo import seed_clinical_forms_demo_data
from clinical_forms.links import forms_token
from messaging.marketing import unsubscribe_token
from messaging.preferences import email_marketing_confirmation_token, resubscribe_token
from privacy.demo import seed_privacy_demo_data
from privacy.links import preferences_token
from tests.support.accessibility import axe_violations
from tests.support.accounts import sign_in_by_code
from tests.support.builders import AppointmentFactory, ClientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1280, "height": 800}}
PHONE = "+14085550188"
RENDERED = {"429": "429.html", "503": "503.html", "500": "500.html"}


@pytest.fixture
def public_pages(settings, live_server, run_tasks, sms_outbox):
    """Name -> path of every public page, and the cookies of a signed-in account browser."""
    settings.SITE_URL = live_server.url
    seed_demo_data()
    seed_privacy_demo_data()
    seed_clinical_forms_demo_data()
    location = Location.objects.get(slug="milpitas")
    neurotoxin = Service.objects.get(slug="neurotoxin")
    person = ClientFactory(first_name="Ava", last_name="Lindqvist", email="ava@example.com", mobile_phone=PHONE)
    visit = AppointmentFactory(
        client=person,
        location=location,
        service=neurotoxin,
        practitioner=Practitioner.objects.get(name="Dr. Priya Raman"),
        start=(timezone.now() + timedelta(days=6)).replace(minute=0, second=0, microsecond=0),
    )
    token = manage_token(visit)
    django_client = DjangoClient()
    with run_tasks():
        django_client.post(reverse("privacy:request_form"), {"request_type": "access", "email": person.email})
    verify = re.search(r"(/privacy/requests/verify/\S+)", mail.outbox[-1].body).group(1)
    sign_in_by_code(django_client, run_tasks, sms_outbox, PHONE)
    cookies = [
        {"name": name, "value": morsel.value, "url": live_server.url} for name, morsel in django_client.cookies.items()
    ]
    pages = {
        "home": "/",
        "services": reverse("appointments:choose_service", args=["milpitas"]),
        "choose a time": reverse("appointments:choose_time", args=["milpitas", "hydrafacial"]),
        "visit: choose services": reverse("appointments:visit", args=["milpitas"]),
        "manage": reverse("appointments:manage", args=[token]),
        "reschedule": reverse("appointments:reschedule", args=[token]),
        "waitlist": reverse("waitlist:join", args=["milpitas", "hydrafacial"]),
        "forms list": reverse("clinical_forms:index", args=[forms_token(visit)]),
        "form to fill": reverse("clinical_forms:fill", args=[forms_token(visit), "neurotoxin-consent"]),
        "sign in": reverse("account:sign_in"),
        "account: visits": reverse("account:home"),
        "account: consents": reverse("account:consents"),
        "account: forms": reverse("account:forms"),
        "account: payments": reverse("account:payments"),
        "account: data": reverse("account:data"),
        "account: delete": reverse("account:delete"),
        "preferences request": reverse("messaging:preferences_request"),
        "preference center": reverse("messaging:preferences", args=[preferences_token(person)]),
        "unsubscribe": reverse("messaging:unsubscribe", args=[unsubscribe_token(person)]),
        "resubscribe": reverse("messaging:email_resubscribe", args=[resubscribe_token(person, person.email)]),
        "offers confirmation": reverse(
            "messaging:email_marketing_confirm", args=[email_marketing_confirmation_token(person)]
        ),
        "privacy policy": reverse("privacy:policy"),
        "privacy choices": reverse("privacy:choices"),
        "cookie settings": reverse("privacy:cookie_settings"),
        "privacy request": reverse("privacy:request_form"),
        "privacy request: confirm": verify,
        "privacy request: broken link": reverse("privacy:request_download", args=["not-a-token"]),
        "404": "/no-such-page/",
        **{code: f"/__error_page__/{code}/" for code in RENDERED},
    }
    return pages, cookies


def _fulfil_with(html):
    return lambda route: route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")


def _serve_error_pages(context, live_server, language):
    """429, 503 and 500 as Django renders them, at a local address (their CSS and icons load from the server)."""
    for code, template in RENDERED.items():
        with translation.override(language):
            html = render_to_string(template, request=RequestFactory().get("/"))
        context.route(f"{live_server.url}/__error_page__/{code}/", _fulfil_with(html))


def _violations(chromium, live_server, pages, cookies, *, size, language, names):
    context = chromium.new_context(viewport=SIZES[size], is_mobile=size == "phone", locale=language)
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url) else route.abort()
    )
    _serve_error_pages(context, live_server, language)
    context.add_cookies(cookies)
    page = context.new_page()
    found, headings = {}, {}
    try:
        for name in names:
            page.goto(live_server.url + pages[name])
            if name not in ("404",):
                assert "/account/sign-in/" not in page.url or name == "sign in", f"{name}: not signed in"
            headings[name] = page.locator("h1").first.inner_text()
            violations = axe_violations(page)
            if violations:
                found[name] = violations
    finally:
        context.close()
    return found, headings


@pytest.mark.parametrize("size", SIZES)
def test_every_public_page_passes_axe_in_english(chromium, live_server, public_pages, size):
    pages, cookies = public_pages
    found, headings = _violations(chromium, live_server, pages, cookies, size=size, language="en", names=pages)
    assert found == {}
    assert headings["sign in"] == "Sign in to your account" and headings["account: data"] == "My data"


MAIN_PAGES_IN_SPANISH = [
    "home",
    "choose a time",
    "manage",
    "waitlist",
    "forms list",
    "form to fill",
    "sign in",
    "account: visits",
    "account: data",
    "preference center",
    "privacy policy",
    "privacy request",
    "404",
    "503",
]


def test_the_main_public_pages_pass_axe_in_spanish_on_a_phone(chromium, live_server, public_pages):
    pages, cookies = public_pages
    found, headings = _violations(
        chromium, live_server, pages, cookies, size="phone", language="es", names=MAIN_PAGES_IN_SPANISH
    )
    assert found == {}
    # The pages were in Spanish indeed.
    assert headings["sign in"] == "Inicie sesión en su cuenta" and headings["account: data"] == "Mis datos"
    assert (
        headings["404"] == "No encontramos esa página"
        and headings["503"] == "No podemos recibir reservas en este momento"
    )
