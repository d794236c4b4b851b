"""Signing in without a password: a texted code or an emailed link, short-lived, few tries, no hint."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountSession, SignInChallenge
from clinic.models import Client
from tests.support.accounts import (
    ask_for_code,
    ask_for_link,
    emailed_link,
    enter_code,
    sign_in_by_code,
    texted_code,
)
from tests.support.builders import ClientFactory, prove_contacts

pytestmark = pytest.mark.django_db
PHONE, NATIONAL, EMAIL = "+14085550123", "(408) 555-0123", "ava.lindqvist@example.com"
HOME = reverse("account:home")


@pytest.fixture
def ava():
    return ClientFactory(first_name="Ava", last_name="Lindqvist", email=EMAIL, mobile_phone=PHONE)


@pytest.mark.policy("client-account")
def test_a_code_texted_to_the_phone_on_file_signs_in_and_proves_the_phone(client, run_tasks, sms_outbox, ava):
    assert client.get(HOME).status_code == 302  # signed out: to the sign-in page
    sign_in_by_code(client, run_tasks, sms_outbox, NATIONAL)
    assert sms_outbox[-1].to == PHONE
    page = client.get(HOME)
    assert page.status_code == 200 and "Hello Ava" in page.content.decode()
    ava.refresh_from_db()
    assert ava.phone_verified_at is not None


def test_an_emailed_link_signs_in_only_when_its_button_is_pressed(client, run_tasks, ava):
    ask_for_link(client, run_tasks, EMAIL.upper())
    assert mail.outbox[-1].to == [EMAIL]
    link = emailed_link()
    assert client.get(link).status_code == 200  # a mail scanner's GET signs no one in
    assert client.get(HOME).status_code == 302
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == HOME
    assert client.get(HOME).status_code == 200
    ava.refresh_from_db()
    assert ava.email_verified_at is not None


def test_a_sign_in_link_works_once(client, run_tasks, ava):
    ask_for_link(client, run_tasks, EMAIL)
    link = emailed_link()
    assert client.post(link).status_code == 302
    other = Browser()
    assert other.post(link).status_code == 404
    assert other.get(HOME).status_code == 302


@pytest.mark.policy("client-account")
def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(client, run_tasks, sms_outbox, ava):
    known = ask_for_link(client, run_tasks, EMAIL)
    unknown = ask_for_link(Browser(), run_tasks, "nobody@example.com")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mail.outbox) == 1
    texts_before = len(sms_outbox)
    known = ask_for_code(Browser(), run_tasks, NATIONAL)
    stranger = Browser()
    unknown = ask_for_code(stranger, run_tasks, "(408) 555-0999")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(sms_outbox) == texts_before + 1
    # The code page and its answers read the same for a number not on file.
    answers = [enter_code(stranger, run_tasks, "000000").content.decode() for _ in range(6)]
    assert "That code is not right. Please check" in answers[0]
    assert "entered wrongly too often" in answers[4] and "expired or was entered wrongly" in answers[5]


@pytest.mark.policy("client-account")
def test_a_code_is_dead_after_five_wrong_tries_even_the_right_one(client, run_tasks, sms_outbox, ava):
    ask_for_code(client, run_tasks, NATIONAL)
    code = texted_code(sms_outbox)
    wrong = "999999" if code != "999999" else "999998"
    for _ in range(5):
        assert enter_code(client, run_tasks, wrong).status_code == 400
    assert SignInChallenge.objects.get().attempts == 5  # each wrong try stayed counted
    response = enter_code(client, run_tasks, code)
    assert response.status_code == 400 and "Ask for a new one" in response.content.decode()
    assert not AccountSession.objects.exists()


@pytest.mark.policy("client-account")
def test_an_expired_code_reads_the_same_whether_or_not_the_number_is_on_file(run_tasks, sms_outbox, ava, settings):
    """Waiting out a code's minutes, then typing any code, must not tell a number on file from one that is not."""
    known, stranger = Browser(), Browser()
    ask_for_code(known, run_tasks, NATIONAL)
    ask_for_code(stranger, run_tasks, "(408) 555-0999")
    later = timezone.now() + timedelta(minutes=settings.ACCOUNT_SIGN_IN_CODE_MINUTES, seconds=1)
    with time_machine.travel(later):
        answers = [enter_code(browser, run_tasks, "000000") for browser in (known, stranger)]
    assert answers[0].status_code == answers[1].status_code == 400
    problems = [re.search(r'role="alert">(.*?)</p>', a.content.decode(), re.S) for a in answers]
    assert problems[0] and problems[1]
    assert problems[0].group(1) == problems[1].group(1)


def _shown_problem(response):
    return re.search(r'role="alert">(.*?)</p>', response.content.decode(), re.S).group(1)


@pytest.mark.policy("client-account")
def test_a_code_superseded_by_a_newer_ask_reads_the_same_whether_or_not_the_number_is_on_file(
    run_tasks, sms_outbox, ava
):
    """Asking again for a number from a second browser kills the first browser's code, on file or not."""
    answers = []
    for number in (NATIONAL, "(408) 555-0999"):
        first, second = Browser(), Browser()
        ask_for_code(first, run_tasks, number)
        ask_for_code(second, run_tasks, number)
        answers.append(enter_code(first, run_tasks, "000000"))
    assert answers[0].status_code == answers[1].status_code == 400
    assert _shown_problem(answers[0]) == _shown_problem(answers[1])
    assert "expired" in _shown_problem(answers[1])


def test_a_code_expires_after_its_minutes(client, run_tasks, sms_outbox, ava, settings):
    ask_for_code(client, run_tasks, NATIONAL)
    code = texted_code(sms_outbox)
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.ACCOUNT_SIGN_IN_CODE_MINUTES, seconds=1)):
        assert enter_code(client, run_tasks, code).status_code == 400
    assert not AccountSession.objects.exists()


def test_only_the_newest_code_works(client, run_tasks, sms_outbox, ava):
    ask_for_code(client, run_tasks, NATIONAL)
    first = texted_code(sms_outbox)
    ask_for_code(client, run_tasks, NATIONAL)
    if first != texted_code(sms_outbox):
        assert enter_code(client, run_tasks, first).status_code == 400


@pytest.mark.policy("client-account")
def test_sign_in_requests_are_limited_per_address_whatever_the_ip(client, run_tasks, ava, settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "account_sign_in_address": "3/h", "account_sign_in": "100/h"}
    statuses = [
        ask_for_link(Browser(), run_tasks, EMAIL, REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(1, 6)
    ]
    assert statuses == [302, 302, 302, 429, 429]
    assert len(mail.outbox) == 3
    # Another address is not held back by it.
    assert ask_for_link(Browser(), run_tasks, "other@example.com", REMOTE_ADDR="198.51.100.9").status_code == 302


def test_sign_in_requests_are_limited_per_ip_whatever_the_address(client, run_tasks, settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "account_sign_in": "3/h", "account_sign_in_address": "100/h"}
    statuses = [ask_for_link(client, run_tasks, f"person{n}@example.com").status_code for n in range(5)]
    assert statuses == [302, 302, 302, 429, 429]


def test_a_session_ends_after_its_hours(client, run_tasks, sms_outbox, ava, settings):
    sign_in_by_code(client, run_tasks, sms_outbox, NATIONAL)
    with time_machine.travel(timezone.now() + timedelta(hours=settings.ACCOUNT_SESSION_HOURS, seconds=1)):
        assert client.get(HOME).status_code == 302


def test_signing_out_ends_this_browser_only(run_tasks, sms_outbox, ava):
    phone, laptop = Browser(), Browser()
    sign_in_by_code(phone, run_tasks, sms_outbox, NATIONAL)
    sign_in_by_code(laptop, run_tasks, sms_outbox, NATIONAL)
    phone.post(reverse("account:sign_out"))
    assert phone.get(HOME).status_code == 302
    assert laptop.get(HOME).status_code == 200


@pytest.mark.policy("client-account")
def test_sign_out_everywhere_ends_every_session_of_the_client(run_tasks, sms_outbox, ava):
    phone, laptop = Browser(), Browser()
    sign_in_by_code(phone, run_tasks, sms_outbox, NATIONAL)
    sign_in_by_code(laptop, run_tasks, sms_outbox, NATIONAL)
    other_client = ClientFactory(mobile_phone="+14085550777")
    someone_else = Browser()
    sign_in_by_code(someone_else, run_tasks, sms_outbox, "(408) 555-0777")
    assert phone.post(reverse("account:sign_out_everywhere")).status_code == 302
    assert phone.get(HOME).status_code == 302
    assert laptop.get(HOME).status_code == 302
    assert someone_else.get(HOME).status_code == 200
    assert AccountSession.objects.filter(client=other_client, ended_at__isnull=True).count() == 1


def test_a_copied_session_cookie_is_useless_once_the_client_signs_out_everywhere(run_tasks, sms_outbox, ava):
    phone, laptop = Browser(), Browser()
    sign_in_by_code(phone, run_tasks, sms_outbox, NATIONAL)
    thief = Browser()
    thief.cookies["sessionid"] = phone.cookies["sessionid"].value
    assert thief.get(HOME).status_code == 200
    sign_in_by_code(laptop, run_tasks, sms_outbox, NATIONAL)
    laptop.post(reverse("account:sign_out_everywhere"))
    assert thief.get(HOME).status_code == 302


def test_an_account_session_past_its_end_is_refused_even_while_the_browser_session_lives(
    client, run_tasks, sms_outbox, ava
):
    sign_in_by_code(client, run_tasks, sms_outbox, NATIONAL)
    AccountSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(HOME).status_code == 302


def test_a_sign_in_from_a_new_browser_is_emailed_to_the_proven_address(run_tasks, sms_outbox, ava):
    prove_contacts(ava)
    phone = Browser()
    sign_in_by_code(phone, run_tasks, sms_outbox, NATIONAL, HTTP_USER_AGENT="AvaPhone/1.0")
    alerts = [m for m in mail.outbox if m.subject.startswith("New sign-in")]
    assert len(alerts) == 1 and alerts[0].to == [EMAIL] and "AvaPhone/1.0" in alerts[0].body
    # The same browser again (its device cookie kept): no email.
    phone.post(reverse("account:sign_out"))
    sign_in_by_code(phone, run_tasks, sms_outbox, NATIONAL, HTTP_USER_AGENT="AvaPhone/1.0")
    assert len([m for m in mail.outbox if m.subject.startswith("New sign-in")]) == 1
    # Another browser: emailed.
    sign_in_by_code(Browser(), run_tasks, sms_outbox, NATIONAL)
    assert len([m for m in mail.outbox if m.subject.startswith("New sign-in")]) == 2


def test_a_new_browser_is_not_announced_to_an_email_never_proven(run_tasks, sms_outbox):
    # A booking anyone could have made with a stranger's address: signing in by this phone tells that address nothing.
    ClientFactory(email="stranger@example.com", mobile_phone=PHONE)
    sign_in_by_code(Browser(), run_tasks, sms_outbox, NATIONAL)
    assert not [m for m in mail.outbox if "stranger@example.com" in m.to]


def test_a_proven_phone_signs_in_to_its_record_not_a_later_booking_with_the_number(run_tasks, sms_outbox, ava):
    prove_contacts(ava, email=False)
    ClientFactory(first_name="Later", email="later@example.com", mobile_phone=PHONE)
    browser = Browser()
    sign_in_by_code(browser, run_tasks, sms_outbox, NATIONAL)
    assert "Hello Ava" in browser.get(HOME).content.decode()


def test_an_erased_record_cannot_sign_in(client, run_tasks, sms_outbox, ava):
    Client.objects.filter(pk=ava.pk).update(erased_at=timezone.now())
    ask_for_code(client, run_tasks, NATIONAL)
    assert not SignInChallenge.objects.exists()


def test_a_browser_signed_in_to_a_record_merged_away_is_signed_out(run_tasks, sms_outbox, ava):
    from clinic.identity import merge_clients

    later = ClientFactory(first_name="Later", email="later@example.com", mobile_phone="+14085550888")
    browser = Browser()
    sign_in_by_code(browser, run_tasks, sms_outbox, "(408) 555-0888")
    merge_clients(keep_id=ava.pk, duplicate_id=later.pk, reason="Same person, checked at the desk")
    assert browser.get(HOME).status_code == 302


def test_only_the_newest_sign_in_link_works(client, run_tasks, ava):
    ask_for_link(client, run_tasks, EMAIL)
    first = emailed_link()
    ask_for_link(client, run_tasks, EMAIL)
    second = emailed_link()
    assert Browser().post(first).status_code == 404
    assert Browser().post(second).status_code == 302


@pytest.mark.policy("client-account")
def test_asking_for_a_code_does_the_same_work_in_the_request_for_a_known_and_an_unknown_number(
    ava, sms_outbox, django_capture_on_commit_callbacks
):
    """Timing must not tell whether a number is on file: the request never looks it up, a worker does."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def ask(phone):
        browser = Browser()
        with (
            django_capture_on_commit_callbacks(execute=False) as queued,
            CaptureQueriesContext(connection) as queries,
        ):
            response = browser.post(reverse("account:sign_in"), {"mobile_phone": phone})
        return response, queued, [q["sql"] for q in queries.captured_queries]

    ask("(408) 555-0100")  # warms what any first request loads (cookie groups), for an even comparison
    sms_outbox.clear()
    known, known_queued, known_sql = ask(NATIONAL)
    unknown, unknown_queued, unknown_sql = ask("(408) 555-0999")
    assert (known.status_code, known["Location"], known.content) == (
        unknown.status_code,
        unknown["Location"],
        unknown.content,
    )
    assert sorted(known.cookies) == sorted(unknown.cookies)
    assert len(known_queued) == len(unknown_queued) == 1
    assert len(known_sql) == len(unknown_sql)
    assert not any(Client._meta.db_table in sql for sql in known_sql + unknown_sql)
    assert not SignInChallenge.objects.exists() and not sms_outbox
    # The worker decides: a code for the number on file, nothing for the other.
    with django_capture_on_commit_callbacks(execute=True):
        known_queued[0]()
        unknown_queued[0]()
    assert len(sms_outbox) == 1 and SignInChallenge.objects.get().client_id == ava.pk
