"""Attack on PostgreSQL: many code checks at once never get more than the allowed tries, nor two sessions."""

import re
import threading

import pytest
from django.db import connection

from accounts import services
from accounts.models import AccountSession, SignInChallenge
from messaging.models import SmsMessage
from tests.support.builders import ClientFactory
from tests.support.environment import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]
PHONE = "+14085550177"


def _at_once(count, attempt):
    barrier = threading.Barrier(count)
    outcomes = []

    def run(i):
        try:
            barrier.wait()
            outcomes.append(attempt(i))
        except services.SignInRefused as refusal:
            outcomes.append(f"refused: {refusal}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _code_sent():
    ClientFactory(mobile_phone=PHONE)
    ask = "an-ask-key"
    assert services.text_sign_in_code(phone=PHONE, ask=ask)
    code = re.search(r"sign-in code is (\d{6})", SmsMessage.objects.get().body).group(1)
    return ask, code


@pytest.mark.policy("client-account")
def test_ten_wrong_guesses_at_once_are_checked_at_most_the_allowed_number_of_times():
    ask, code = _code_sent()
    guesses = [f"{(int(code) + i) % 10**6:06d}" for i in range(1, 11)]  # ten wrong codes
    outcomes = _at_once(
        10,
        lambda i: services.sign_in_with_code(ask=ask, code=guesses[i], browser=services.Browser(device_id=f"d{i}")),
    )
    checked = [o for o in outcomes if "not right" in o]
    assert len(outcomes) == 10 and len(checked) == services.MAX_CODE_TRIES, outcomes
    assert SignInChallenge.objects.get().attempts == services.MAX_CODE_TRIES


@pytest.mark.policy("client-account")
def test_the_right_code_sent_twice_at_once_opens_one_session():
    ask, code = _code_sent()
    outcomes = _at_once(
        2,
        lambda i: services.sign_in_with_code(ask=ask, code=code, browser=services.Browser(device_id=f"d{i}")),
    )
    assert sum(1 for o in outcomes if o.startswith("refused")) == 1, outcomes
    assert AccountSession.objects.count() == 1
