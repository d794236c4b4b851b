"""Client accounts: signing a browser in by the texted code or the emailed link, as a client would."""

import re

from django.core import mail
from django.urls import reverse


def texted_code(sms_outbox):
    return re.search(r"sign-in code is (\d{6})", sms_outbox[-1].body).group(1)


def emailed_link(message=None):
    message = message or mail.outbox[-1]
    return re.search(r"http://testserver(/account/sign-in/link/\S+)", message.body).group(1)


def ask_for_code(browser, run_tasks, phone, **extra):
    with run_tasks():
        return browser.post(reverse("account:sign_in"), {"mobile_phone": phone}, **extra)


def ask_for_link(browser, run_tasks, email, **extra):
    with run_tasks():
        return browser.post(reverse("account:sign_in"), {"email": email}, **extra)


def enter_code(browser, run_tasks, code, **extra):
    with run_tasks():
        return browser.post(reverse("account:sign_in_code"), {"code": code}, **extra)


def sign_in_by_code(browser, run_tasks, sms_outbox, phone, **extra):
    """Ask for a code for `phone`, read it from the fake SMS outbox, enter it. Returns the last response."""
    ask_for_code(browser, run_tasks, phone, **extra)
    response = enter_code(browser, run_tasks, texted_code(sms_outbox), **extra)
    assert response.status_code == 302 and response["Location"] == reverse("account:home"), response.content[:400]
    return response
