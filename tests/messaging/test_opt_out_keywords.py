"""Edges of reading a reply as an opt-out that the keyword tests in test_inbound_sms.py leave open.

A revocation in other words counts up to 12 words, and a curly apostrophe
(what phones type) reads like a straight one. (Found by mutation testing.)
"""

import pytest

from messaging.keywords import Keyword, classify


@pytest.mark.policy("sms-stop")
def test_a_revocation_of_exactly_twelve_words_is_an_opt_out():
    body = "Please stop texting me, I do not want these messages any more"
    assert len(body.split()) == 12
    assert classify(body) == Keyword.OPT_OUT


def test_a_thirteen_word_message_that_mentions_stop_texting_is_for_the_front_desk():
    body = "My husband says please stop texting me but I do want these reminders"
    assert len(body.split()) == 13
    assert classify(body) == Keyword.NONE


@pytest.mark.policy("sms-stop")
@pytest.mark.parametrize("body", ["Don’t text me", "don’t message me again", "DON’T CONTACT ME"])
def test_a_curly_apostrophe_revocation_is_an_opt_out(body):
    assert classify(body) == Keyword.OPT_OUT
