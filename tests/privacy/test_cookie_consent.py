"""The cookie layer, on the rendered HTML: no tracking before a choice, reject as easy as accept, GPC honored."""

import re

import pytest
from django.test import Client as HttpClient

from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource

pytestmark = pytest.mark.django_db

GA, GTM, META = "G-TEST123", "GTM-TEST45", "999888777"


@pytest.fixture(autouse=True)
def tag_ids(settings):
    settings.GA_MEASUREMENT_ID, settings.GTM_CONTAINER_ID, settings.META_PIXEL_ID = GA, GTM, META


def tags(html):
    return {
        "ga": "googletagmanager.com/gtag/js" in html or GA in html,
        "gtm": "googletagmanager.com/gtm.js" in html or GTM in html,
        "meta": "connect.facebook.net" in html or "facebook.com/tr" in html or META in html,
    }


def choose(browser, choice, **groups):
    data = {"choice": choice, "next": "/", **{g: "on" for g, on in groups.items() if on}}
    return browser.post("/privacy/cookies/", data)


@pytest.mark.policy("collect-technical")
def test_first_visit_shows_the_banner_with_three_equal_choices_and_no_tags(client):
    response = client.get("/")
    html = response.content.decode()
    assert tags(html) == {"ga": False, "gtm": False, "meta": False}
    banner = re.search(r'<section class="cookie-banner".*?</section>', html, re.S).group(0)
    buttons = re.findall(r'class="button"[^>]*>([^<]+)<', banner)
    assert buttons == ["Accept all", "Reject all", "Manage"]
    assert "checked" not in banner
    # Only the cookies needed to work; nothing optional before a choice.
    assert set(response.cookies) <= {"csrftoken", "sessionid"}


@pytest.mark.policy("use-analytics-advertising")
def test_accept_all_renders_analytics_and_marketing_tags(client):
    choose(client, "accept_all")
    html = client.get("/").content.decode()
    assert tags(html) == {"ga": True, "gtm": True, "meta": True}
    assert 'class="cookie-banner"' not in html


@pytest.mark.policy("cookies-choice")
def test_reject_all_renders_no_tag_and_no_banner(client):
    choose(client, "reject_all")
    html = client.get("/").content.decode()
    assert tags(html) == {"ga": False, "gtm": False, "meta": False}
    assert 'class="cookie-banner"' not in html


@pytest.mark.policy("use-analytics-advertising")
def test_analytics_only_renders_ga_and_gtm_not_meta(client):
    choose(client, "save", analytics=True)
    assert tags(client.get("/").content.decode()) == {"ga": True, "gtm": True, "meta": False}


@pytest.mark.policy("cookies-choice")
def test_withdrawing_removes_tags_from_the_next_page_and_deletes_their_cookies(client):
    choose(client, "accept_all")
    client.cookies["_ga"] = "GA1.1.123"
    client.cookies["_fbp"] = "fb.1.123"
    response = choose(client, "reject_all")
    assert response.cookies["_ga"]["max-age"] == 0 and response.cookies["_fbp"]["max-age"] == 0
    assert tags(client.get("/").content.decode()) == {"ga": False, "gtm": False, "meta": False}


@pytest.mark.policy("cookies-gpc")
def test_gpc_keeps_the_marketing_tag_off_whatever_the_banner_says(settings):
    browser = HttpClient(headers={"Sec-GPC": "1"})
    choose(browser, "accept_all")
    html = browser.get("/").content.decode()
    assert tags(html) == {"ga": True, "gtm": True, "meta": False}
    assert "Global Privacy Control signal honored" in html
    record = ConsentRecord.objects.filter(purpose=ConsentPurpose.COOKIES_MARKETING).first()
    assert record.granted is False and record.source == ConsentSource.GPC_SIGNAL


def test_gpc_overrides_an_earlier_acceptance():
    browser = HttpClient()
    choose(browser, "accept_all")
    browser.defaults["HTTP_SEC_GPC"] = "1"
    assert tags(browser.get("/").content.decode())["meta"] is False


@pytest.mark.policy("cookies-gpc")
def test_your_privacy_choices_link_opts_out_of_sharing_without_gpc(client):
    choose(client, "accept_all")
    assert "Your Privacy Choices" in client.get("/").content.decode()
    client.post("/privacy/choices/")
    assert tags(client.get("/").content.decode()) == {"ga": True, "gtm": True, "meta": False}
    choose(client, "accept_all")  # the banner cannot undo it
    assert tags(client.get("/").content.decode())["meta"] is False
    record = ConsentRecord.objects.filter(purpose=ConsentPurpose.SALE_SHARING).get()
    assert record.granted is False


@pytest.mark.policy("cookies-choice")
def test_choices_change_only_by_post_with_csrf():
    browser = HttpClient(enforce_csrf_checks=True)
    browser.get("/")
    assert browser.get("/privacy/cookies/?choice=accept_all").status_code == 405
    assert browser.post("/privacy/cookies/", {"choice": "accept_all"}).status_code == 403
    assert tags(browser.get("/").content.decode())["ga"] is False
    token = browser.cookies["csrftoken"].value
    browser.post("/privacy/cookies/", {"choice": "accept_all", "csrfmiddlewaretoken": token})
    assert tags(browser.get("/").content.decode())["ga"] is True


@pytest.mark.policy("cookies-groups")
def test_every_choice_goes_into_the_ledger_with_the_banner_version(client):
    choose(client, "save", analytics=True)
    records = {r.purpose: r for r in ConsentRecord.objects.all()}
    assert set(records) == {
        ConsentPurpose.COOKIES_PREFERENCES,
        ConsentPurpose.COOKIES_ANALYTICS,
        ConsentPurpose.COOKIES_MARKETING,
    }
    assert records[ConsentPurpose.COOKIES_ANALYTICS].granted and not records[ConsentPurpose.COOKIES_MARKETING].granted
    assert all("[cookie banner 2026-12]" in r.notice_text for r in records.values())
    visitor = client.cookies["visitor_id"].value
    assert {r.visitor_id for r in records.values()} == {visitor} and len(visitor) == 32


@pytest.mark.policy("cookies-groups")
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_ledger_records_the_banner_sentence_the_visitor_was_shown_in_their_language(client, language):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    banner = re.search(r'<section class="cookie-banner".*?</section>', html, re.S).group(0)
    shown = re.search(r"</h2>\s*<p>([^<]+)</p>", banner).group(1).replace("&#x27;", "'")
    client.post("/privacy/cookies/", {"choice": "reject_all", "next": "/"}, HTTP_ACCEPT_LANGUAGE=language)
    records = ConsentRecord.objects.all()
    assert records.count() == 3
    assert all(shown in r.notice_text for r in records)


def test_no_tag_is_rendered_without_ids_even_after_accepting(client, settings):
    settings.GA_MEASUREMENT_ID = settings.GTM_CONTAINER_ID = settings.META_PIXEL_ID = ""
    choose(client, "accept_all")
    html = client.get("/").content.decode()
    assert "googletagmanager" not in html and "facebook" not in html


@pytest.mark.policy("cookies-choice")
def test_with_no_tag_configured_there_is_no_banner_and_nothing_is_asked(client, settings):
    settings.GA_MEASUREMENT_ID = settings.GTM_CONTAINER_ID = settings.META_PIXEL_ID = ""
    html = client.get("/").content.decode()
    assert "cookie-banner" not in html and "Accept all" not in html
    # The footer link the policy promises still opens the choices.
    assert 'href="/privacy/cookies/settings/"' in html


@pytest.mark.parametrize("tag", ["GA_MEASUREMENT_ID", "GTM_CONTAINER_ID", "META_PIXEL_ID"])
def test_any_one_configured_tag_brings_the_banner(client, settings, tag):
    settings.GA_MEASUREMENT_ID = settings.GTM_CONTAINER_ID = settings.META_PIXEL_ID = ""
    setattr(settings, tag, "X-TAG1")
    assert "cookie-banner" in client.get("/").content.decode()


def test_footer_link_reopens_the_choices_at_any_time(client):
    choose(client, "reject_all")
    html = client.get("/").content.decode()
    assert 'href="/privacy/cookies/settings/"' in html
    settings_page = client.get("/privacy/cookies/settings/").content.decode()
    assert (
        'name="analytics"' in settings_page
        and "checked" not in settings_page.split("Optional cookies")[1].split("</fieldset>")[0]
    )


def test_open_redirect_via_next_is_refused(client):
    response = client.post("/privacy/cookies/", {"choice": "reject_all", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def csp(response):
    return response["Content-Security-Policy"]


@pytest.mark.policy("cookies-choice")
def test_content_security_policy_allows_only_consented_tag_hosts(client):
    before = csp(client.get("/"))
    assert "googletagmanager" not in before and "facebook" not in before and "script-src 'self'" in before
    choose(client, "save", analytics=True)
    analytics_only = csp(client.get("/"))
    assert "https://www.googletagmanager.com" in analytics_only and "facebook" not in analytics_only
    choose(client, "accept_all")
    assert "https://connect.facebook.net" in csp(client.get("/"))


def test_inline_tag_scripts_carry_the_responses_nonce(client):
    choose(client, "accept_all")
    response = client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", csp(response)).group(1)
    scripts = re.findall(r"<script([^>]*)>", response.content.decode())
    assert scripts and all(f'nonce="{nonce}"' in attrs for attrs in scripts)


@pytest.mark.policy("cookies-gpc")
def test_gpc_keeps_meta_out_of_the_policy_too():
    browser = HttpClient(headers={"Sec-GPC": "1"})
    choose(browser, "accept_all")
    assert "facebook" not in csp(browser.get("/"))


def test_behind_a_trusted_proxy_a_cookie_choice_records_the_visitors_address(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.post(
        "/privacy/cookies/",
        {"choice": "reject_all", "next": "/"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )
    addresses = set(ConsentRecord.objects.values_list("ip_address", flat=True))
    assert addresses == {"198.51.100.4"}
