"""Asking for a sign-in link or code gives no hint whether the address or number is on file: not by the
answer, the page it leads to, the cookies set, nor by the request's work (the look-up happens in a worker)."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import SignInChallenge
from clinic.models import Client
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db
EMAIL, PHONE, NATIONAL = "ava.lindqvist@example.com", "+14085550123", "(408) 555-0123"


@pytest.fixture
def ava():
    return ClientFactory(first_name="Ava", email=EMAIL, mobile_phone=PHONE)


def _ask(django_capture_on_commit_callbacks, data):
    browser = Browser()
    with (
        django_capture_on_commit_callbacks(execute=False) as queued,
        CaptureQueriesContext(connection) as queries,
    ):
        response = browser.post(reverse("account:sign_in"), data)
    followed = browser.get(response["Location"])
    # Every page carries the language chooser's CSRF token, masked anew for each response: not a hint.
    followed.content = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", followed.content)
    return response, followed, queued, [q["sql"] for q in queries.captured_queries]


@pytest.mark.policy("client-account")
@pytest.mark.policy("security-identity")
def test_asking_for_a_link_does_the_same_work_and_leads_to_the_same_page_for_a_known_and_an_unknown_address(
    ava, django_capture_on_commit_callbacks
):
    _ask(django_capture_on_commit_callbacks, {"email": "warm@example.com"})  # what any first request loads
    known, known_page, known_queued, known_sql = _ask(django_capture_on_commit_callbacks, {"email": EMAIL})
    unknown, unknown_page, unknown_queued, unknown_sql = _ask(
        django_capture_on_commit_callbacks, {"email": "nobody@example.com"}
    )
    assert (known.status_code, known["Location"], known.content) == (
        unknown.status_code,
        unknown["Location"],
        unknown.content,
    )
    assert known_page.content == unknown_page.content
    assert sorted(known.cookies) == sorted(unknown.cookies)
    assert len(known_queued) == len(unknown_queued) == 1
    assert len(known_sql) == len(unknown_sql)
    assert not any(Client._meta.db_table in sql or "accounts_signinchallenge" in sql for sql in known_sql)
    assert not SignInChallenge.objects.exists() and not mail.outbox
    # The worker decides: a link for the address on file, nothing for the other.
    with django_capture_on_commit_callbacks(execute=True):
        known_queued[0]()
        unknown_queued[0]()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [EMAIL]
    assert SignInChallenge.objects.get().client_id == ava.pk


@pytest.mark.policy("client-account")
def test_the_code_page_reads_the_same_for_a_known_and_an_unknown_number(ava, django_capture_on_commit_callbacks):
    _, known_page, _, _ = _ask(django_capture_on_commit_callbacks, {"mobile_phone": NATIONAL})
    _, unknown_page, _, _ = _ask(django_capture_on_commit_callbacks, {"mobile_phone": "(408) 555-0999"})
    assert known_page.status_code == unknown_page.status_code == 200
    assert _before_the_form_token(known_page) == _before_the_form_token(unknown_page)


def _before_the_form_token(page):
    return page.content.decode().split('name="csrfmiddlewaretoken"')[0]
