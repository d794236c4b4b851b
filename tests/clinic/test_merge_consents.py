"""Merging two records of one person: the kept record shows the person's latest choices per purpose and
channel, and a withdrawal (an opt-out, a STOP) on either record always wins over a "yes" on the other."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from clinic import identity
from messaging.models import OptOutSource
from messaging.opt_outs import add_email_opt_out, add_sms_opt_out, is_sms_opted_out
from privacy.models import ConsentActor, ConsentPurpose, ConsentRecord, ConsentSource
from privacy.selectors import current_consents
from privacy.services import record_consent
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db
PHONE, OTHER_PHONE = "+14085550143", "+14085550999"


def _pair(**duplicate):
    keep = ClientFactory(first_name="Dana", email="dana@example.com", mobile_phone=PHONE)
    fields = {"first_name": "Dana", "email": "dana@example.com", "mobile_phone": PHONE, **duplicate}
    return keep, ClientFactory(**fields)


def _choose(client, purpose, granted, *, days_ago, words="the words", source=ConsentSource.BOOKING_FORM):
    with time_machine.travel(timezone.now() - timedelta(days=days_ago), tick=False):
        return record_consent(client=client, purpose=purpose, granted=granted, notice_text=words, source=source)


def _merged(keep, duplicate):
    identity.merge_clients(keep_id=keep.pk, duplicate_id=duplicate.pk, reason="Same person, checked at the desk")


def _now_granted(client, purpose):
    return bool(current_consents(client_ids=[client.pk], purpose=purpose).get(client.pk))


def _latest(client, purpose):
    return ConsentRecord.objects.filter(client=client, purpose=purpose).order_by("-recorded_at", "-id").first()


@pytest.mark.policy("rights-withdraw")
@pytest.mark.parametrize("withdrawn_on", ["keep", "duplicate"])
@pytest.mark.policy("security-identity")
def test_a_withdrawal_on_either_record_wins_over_a_later_yes_on_the_other(withdrawn_on):
    keep, duplicate = _pair()
    no, yes = (keep, duplicate) if withdrawn_on == "keep" else (duplicate, keep)
    _choose(no, ConsentPurpose.SMS_MARKETING, False, days_ago=20, words="STOP")
    _choose(yes, ConsentPurpose.SMS_MARKETING, True, days_ago=2, words="Offers by text")
    _merged(keep, duplicate)
    assert not _now_granted(keep, ConsentPurpose.SMS_MARKETING)
    latest = _latest(keep, ConsentPurpose.SMS_MARKETING)
    assert latest.source == ConsentSource.RECORD_MERGE and latest.notice_text == "STOP"
    assert latest.actor == ConsentActor.SYSTEM


def test_the_latest_choice_per_purpose_and_channel_carries_over_when_the_records_agree_or_one_chose():
    keep, duplicate = _pair()
    _choose(keep, ConsentPurpose.EMAIL_MARKETING, True, days_ago=30, words="old email wording")
    _choose(duplicate, ConsentPurpose.EMAIL_MARKETING, True, days_ago=3, words="new email wording")
    _choose(duplicate, ConsentPurpose.SMS_REMINDERS, True, days_ago=3, words="reminders")  # only one chose
    _choose(keep, ConsentPurpose.SMS_MARKETING, True, days_ago=40)
    _choose(duplicate, ConsentPurpose.SMS_MARKETING, False, days_ago=5)  # the later no
    _merged(keep, duplicate)
    assert _latest(keep, ConsentPurpose.EMAIL_MARKETING).notice_text == "new email wording"
    assert _now_granted(keep, ConsentPurpose.EMAIL_MARKETING)
    assert _now_granted(keep, ConsentPurpose.SMS_REMINDERS)
    assert not _now_granted(keep, ConsentPurpose.SMS_MARKETING)
    # Texting and email are separate channels: the SMS "no" did not touch the email "yes".
    assert not ConsentRecord.objects.filter(client=keep, source=ConsentSource.RECORD_MERGE).exists()


@pytest.mark.policy("sms-stop")
@pytest.mark.policy("security-identity")
def test_a_stop_from_the_merged_in_records_own_number_withdraws_the_kept_records_texts():
    keep, duplicate = _pair(mobile_phone=OTHER_PHONE)
    _choose(keep, ConsentPurpose.SMS_REMINDERS, True, days_ago=10)
    _choose(keep, ConsentPurpose.SMS_MARKETING, True, days_ago=10)
    add_sms_opt_out(phone=OTHER_PHONE, reason="STOP", source=OptOutSource.SMS_KEYWORD)
    _merged(keep, duplicate)
    assert not _now_granted(keep, ConsentPurpose.SMS_REMINDERS)
    assert not _now_granted(keep, ConsentPurpose.SMS_MARKETING)
    assert is_sms_opted_out(OTHER_PHONE)  # the list itself is untouched


def test_an_unsubscribe_of_the_merged_in_records_own_address_withdraws_the_kept_records_marketing_email():
    keep, duplicate = _pair(email="dana.old@example.com")
    _choose(keep, ConsentPurpose.EMAIL_MARKETING, True, days_ago=10)
    add_email_opt_out(email="dana.old@example.com", reason="Unsubscribed", source=OptOutSource.EMAIL_LINK)
    _merged(keep, duplicate)
    assert not _now_granted(keep, ConsentPurpose.EMAIL_MARKETING)


def test_a_merge_with_no_withdrawal_anywhere_records_nothing_new():
    keep, duplicate = _pair(mobile_phone=OTHER_PHONE)
    _choose(keep, ConsentPurpose.SMS_MARKETING, True, days_ago=10)
    _choose(duplicate, ConsentPurpose.SMS_MARKETING, True, days_ago=2)
    _merged(keep, duplicate)
    assert _now_granted(keep, ConsentPurpose.SMS_MARKETING)
    assert not ConsentRecord.objects.filter(source=ConsentSource.RECORD_MERGE).exists()
