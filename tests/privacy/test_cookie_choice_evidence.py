"""A cookie choice is kept for a year in a cookie scripts cannot read, and its ledger row holds the evidence.

The evidence is what shows the choice was the visitor's own: the browser's
visitor id, its address and user agent, the actor (the visitor) and the
source (the banner or link, or the Global Privacy Control signal). (Found by
mutation testing: the existing tests read the tags and the ledger's granted
flag, not the cookie's attributes or the evidence.)
"""

import pytest
from django.test import Client as HttpClient

from privacy.models import ConsentActor, ConsentPurpose, ConsentRecord, ConsentSource

pytestmark = pytest.mark.django_db

ONE_YEAR = 365 * 24 * 3600
ADDRESS, AGENT = "203.0.113.9", "Mozilla/5.0 (test browser)"


def assert_kept_a_year_out_of_scripts_reach(cookie):
    assert cookie["max-age"] == ONE_YEAR
    assert cookie["httponly"] is True and cookie["secure"] is True  # DEBUG is off under test
    assert cookie["samesite"].lower() == "lax"


def assert_evidence(record, browser, source):
    assert record.visitor_id == browser.cookies["visitor_id"].value and len(record.visitor_id) == 32
    assert record.ip_address == ADDRESS and record.user_agent == AGENT
    assert record.actor == ConsentActor.CLIENT and record.source == source


@pytest.mark.policy("cookies-gpc")
@pytest.mark.parametrize("gpc, source", [(False, ConsentSource.COOKIE_BANNER), (True, ConsentSource.GPC_SIGNAL)])
def test_do_not_sell_or_share_is_kept_a_year_and_recorded_with_its_evidence(gpc, source):
    browser = HttpClient(headers={"Sec-GPC": "1"} if gpc else {})
    response = browser.post("/privacy/choices/", REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT)
    assert_kept_a_year_out_of_scripts_reach(response.cookies["privacy_opt_out"])
    assert_kept_a_year_out_of_scripts_reach(response.cookies["visitor_id"])
    record = ConsentRecord.objects.get(purpose=ConsentPurpose.SALE_SHARING)
    assert record.granted is False
    assert_evidence(record, browser, source)


@pytest.mark.policy("cookies-groups")
def test_a_banner_choice_records_the_visitors_evidence_for_every_group():
    browser = HttpClient()
    response = browser.post(
        "/privacy/cookies/", {"choice": "accept_all", "next": "/"}, REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT
    )
    assert_kept_a_year_out_of_scripts_reach(response.cookies["visitor_id"])
    records = ConsentRecord.objects.all()
    assert records.count() == 3 and all(r.granted for r in records)
    for record in records:
        assert_evidence(record, browser, ConsentSource.COOKIE_BANNER)


def test_a_browser_keeps_its_visitor_id_across_choices():
    browser = HttpClient()
    browser.post("/privacy/cookies/", {"choice": "reject_all", "next": "/"})
    first = browser.cookies["visitor_id"].value
    browser.post("/privacy/cookies/", {"choice": "accept_all", "next": "/"})
    browser.post("/privacy/choices/")
    assert set(ConsentRecord.objects.values_list("visitor_id", flat=True)) == {first}
    # No user agent sent, none recorded: evidence is what the browser said, nothing made up.
    assert set(ConsentRecord.objects.values_list("user_agent", flat=True)) == {""}


@pytest.mark.policy("cookies-choice")
def test_declining_deletes_the_groups_cookies_on_the_path_they_were_set_for():
    browser = HttpClient()
    browser.post("/privacy/cookies/", {"choice": "accept_all", "next": "/"})
    browser.cookies["_ga"] = "GA1.1.123"
    response = browser.post("/privacy/cookies/", {"choice": "reject_all", "next": "/"})
    deleted = response.cookies["_ga"]
    assert deleted["max-age"] == 0 and deleted["path"] == "/"  # a deletion on another path leaves the cookie


@pytest.mark.policy("cookies-choice")
def test_declining_deletes_a_cookie_set_for_a_domain_on_that_domain():
    from cookie_consent.models import Cookie

    Cookie.objects.filter(name="_ga").update(domain=".clinic.example")
    browser = HttpClient()
    browser.post("/privacy/cookies/", {"choice": "accept_all", "next": "/"})
    response = browser.post("/privacy/cookies/", {"choice": "reject_all", "next": "/"})
    assert response.cookies["_ga"]["max-age"] == 0 and response.cookies["_ga"]["domain"] == ".clinic.example"


@pytest.mark.parametrize("bad", ["short", "x" * 65, "not-alnum-but-long-enough-0123456789"])
def test_a_malformed_visitor_id_is_replaced_not_written_to_the_ledger(bad):
    browser = HttpClient()
    browser.cookies["visitor_id"] = bad
    browser.post("/privacy/cookies/", {"choice": "reject_all", "next": "/"})
    fresh = browser.cookies["visitor_id"].value
    assert fresh != bad and fresh.isalnum() and len(fresh) == 32
    assert set(ConsentRecord.objects.values_list("visitor_id", flat=True)) == {fresh}


@pytest.mark.parametrize("good", ["a" * 16, "B" * 64])
def test_a_well_formed_visitor_id_is_kept_at_both_length_limits(good):
    browser = HttpClient()
    browser.cookies["visitor_id"] = good
    browser.post("/privacy/cookies/", {"choice": "reject_all", "next": "/"})
    assert set(ConsentRecord.objects.values_list("visitor_id", flat=True)) == {good}
