"""Private pages (privacy requests, personal links) and pages naming a treatment carry no analytics or ad tag
and send no referrer, whatever the visitor accepted; the CSP allows no tag host there either."""

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from appointments.links import manage_token
from messaging.marketing import unsubscribe_token
from privacy.links import preferences_token
from privacy.requests_models import DataSubjectRequest, RequestStatus, RequestType
from privacy.subject_requests import download_token, send_export_link
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

pytestmark = pytest.mark.django_db
GA, GTM, META = "G-TEST123", "GTM-TEST45", "999888777"
TAG_HOSTS = ("googletagmanager", "google-analytics", "facebook")


@pytest.fixture
def everything_accepted(client, settings):
    settings.GA_MEASUREMENT_ID, settings.GTM_CONTAINER_ID, settings.META_PIXEL_ID = GA, GTM, META
    client.post("/privacy/cookies/", {"choice": "accept_all", "next": "/"})
    return client


@pytest.fixture
def sensitive_urls():
    location, service, (person,) = bookable_clinic()
    client = ClientFactory(email="pat@example.com", mobile_phone="+14085550199")
    appointment = AppointmentFactory(
        client=client,
        location=location,
        service=service,
        practitioner=person,
        start=datetime(2026, 12, 8, 10, tzinfo=ZoneInfo("America/Los_Angeles")),
    )
    dsr = DataSubjectRequest.objects.create(
        request_type=RequestType.ACCESS,
        email="pat@example.com",
        regime="gdpr",
        received_at=appointment.start,
        due_at=appointment.start,
        status=RequestStatus.VERIFIED,
        verified_at=appointment.start,
    )
    send_export_link(request_id=dsr.pk)
    dsr.refresh_from_db()
    token = manage_token(appointment)
    return {
        "privacy request form": reverse("privacy:request_form"),
        "verification": reverse("privacy:request_verify", args=["x"]),
        "code": reverse("privacy:request_code"),
        "export download": reverse("privacy:request_download", args=[download_token(dsr)]),
        "appointment manage": reverse("appointments:manage", args=[token]) + "?booked=1",
        "reschedule": reverse("appointments:reschedule", args=[token]),
        "preference center": reverse("messaging:preferences", args=[preferences_token(client)]),
        "preference link request": reverse("messaging:preferences_request"),
        "unsubscribe": reverse("messaging:unsubscribe", args=[unsubscribe_token(client)]),
        "choose a time (names the treatment)": reverse("appointments:choose_time", args=[location.slug, service.slug]),
        "booking details (names the treatment)": reverse("appointments:details", args=[location.slug, service.slug])
        + "?start=2026-12-08T18:00:00Z",
    }


@pytest.mark.policy("use-analytics-advertising")
def test_private_and_treatment_pages_carry_no_tag_and_send_no_referrer_after_accepting_all(
    everything_accepted, sensitive_urls
):
    home = everything_accepted.get("/")
    assert (
        GA in home.content.decode() and "googletagmanager" in home["Content-Security-Policy"]
    )  # accepted: tags elsewhere
    for name, url in sensitive_urls.items():
        response = everything_accepted.get(url)
        html = response.content.decode()
        assert response.status_code < 500, name
        assert not any(tag_id in html for tag_id in (GA, GTM, META)), name
        assert not any(host in html for host in TAG_HOSTS), name
        assert not any(host in response.get("Content-Security-Policy", "") for host in TAG_HOSTS), name
        assert response["Referrer-Policy"] == "same-origin", name
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            assert '<meta name="referrer" content="same-origin">' in html, name


def test_a_public_page_keeps_the_sites_referrer_policy(client):
    assert client.get("/")["Referrer-Policy"] == "same-origin"


@pytest.mark.policy("use-analytics-advertising")
def test_claim_resubscribe_and_not_found_pages_under_personal_or_treatment_addresses_carry_no_tag(
    everything_accepted, sensitive_urls
):
    """The keep-together and resubscribe links, and a mistyped address under a personal link or a treatment
    (a 404 that resolves to no page), carry no tag and send no referrer: their address holds a token or a treatment."""
    manage = sensitive_urls["appointment manage"].split("?")[0]
    treatment = sensitive_urls["choose a time (names the treatment)"]
    urls = {
        "keep-together link": reverse("appointments:claim", args=["some-token"]),
        "email resubscribe link": reverse("messaging:email_resubscribe", args=["some-token"]),
        "mistyped manage link": manage + "typo/",
        "mistyped treatment page": treatment + "typo/",
        "mistyped export link": sensitive_urls["export download"] + "typo/",
    }
    for name, url in urls.items():
        response = everything_accepted.get(url)
        html = response.content.decode()
        assert response.status_code < 500, name
        assert not any(tag_id in html for tag_id in (GA, GTM, META)), name
        assert not any(host in response.get("Content-Security-Policy", "") for host in TAG_HOSTS), name
        assert response["Referrer-Policy"] == "same-origin", name


@pytest.mark.policy("use-analytics-advertising")
def test_the_cookie_settings_page_reached_from_a_private_or_treatment_page_carries_no_tag(
    everything_accepted, sensitive_urls
):
    """The banner's "Manage" link carries the page's address in ?next= (a treatment, a personal link's token):
    the settings page it opens must not hand that address to analytics or ad tags, nor send it as a referrer."""
    for name in ("choose a time (names the treatment)", "appointment manage"):
        url = reverse("privacy:cookie_settings") + "?" + urlencode({"next": sensitive_urls[name].split("?")[0]})
        response = everything_accepted.get(url)
        html = response.content.decode()
        assert response.status_code == 200, name
        assert not any(tag_id in html for tag_id in (GA, GTM, META)), name
        assert response["Referrer-Policy"] == "same-origin", name
