"""A refused text or email says which rule refused it, the same for one person and for many.

The reason is what staff read on a message not sent ("Not sent at send time: ...") and on a
campaign's skipped audience; a STOP reported as "no consent" would hide that the person opted out.
"""

import pytest

from clinic.models import Client
from messaging import permissions
from messaging.models import OptOutSource
from messaging.opt_outs import add_email_opt_out, add_sms_opt_out
from messaging.permissions import Purpose, may_contact, may_contact_many
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import ClientFactory, prove_contacts

pytestmark = pytest.mark.django_db


def person(phone, *, consents=(ConsentPurpose.SMS_REMINDERS, ConsentPurpose.EMAIL_MARKETING), **fields):
    client = prove_contacts(ClientFactory(mobile_phone=phone, email=f"p{phone[-4:]}@example.com", **fields))
    for purpose in consents:
        record_consent(client=client, purpose=purpose, granted=True, notice_text="x", source=ConsentSource.BOOKING_FORM)
    return client


def cases():
    """(client, purpose, the reason it is refused for)."""
    no_consent = person("+14085550101", consents=())
    withdrawn = person("+14085550102")
    record_consent(
        client=withdrawn,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=False,
        notice_text="x",
        source=ConsentSource.PREFERENCE_CENTER,
    )
    stopped = person("+14085550103")
    add_sms_opt_out(phone="+14085550103", reason="STOP", source=OptOutSource.SMS_KEYWORD, withdraw_consents=False)
    unsubscribed = person("+14085550104")
    add_email_opt_out(email=unsubscribed.email, reason="Unsubscribed", source=OptOutSource.EMAIL_LINK)
    restricted = person("+14085550105", processing_restricted=True)
    flagged = person("+14085550106", mobile_phone_problem="Not a mobile")
    abroad = person("+33612345678")
    erased = person("+14085550107")
    Client.objects.filter(pk=erased.pk).update(erased_at=erased.created_at)
    erased.refresh_from_db()
    return [
        (no_consent, Purpose.TRANSACTIONAL, permissions.NO_CONSENT),
        (withdrawn, Purpose.TRANSACTIONAL, permissions.NO_CONSENT),
        (no_consent, Purpose.EMAIL_MARKETING, permissions.NO_CONSENT),
        (stopped, Purpose.TRANSACTIONAL, permissions.OPTED_OUT),
        (stopped, Purpose.REPLY, permissions.OPTED_OUT),
        (unsubscribed, Purpose.EMAIL_MARKETING, permissions.EMAIL_OPTED_OUT),
        (restricted, Purpose.TRANSACTIONAL, permissions.RESTRICTED),
        (flagged, Purpose.TRANSACTIONAL, permissions.PHONE_PROBLEM),
        (abroad, Purpose.TRANSACTIONAL, permissions.COUNTRY),
        (erased, Purpose.TRANSACTIONAL, permissions.ERASED),
    ]


def test_a_refusal_names_the_rule_that_refused_for_one_person_and_for_many(settings):
    settings.SMS_ALLOWED_COUNTRIES = ["US", "CA"]
    for client, purpose, reason in cases():
        single = may_contact(client=client, purpose=purpose, check_cap=False)
        assert (single.allowed, single.reason) == (False, reason), (client.mobile_phone, purpose)
        if purpose != Purpose.REPLY:  # a reply goes to one number, never a batch
            batch = may_contact_many(clients=[client], purpose=purpose, check_cap=False)[client.pk]
            assert (batch.allowed, batch.reason) == (False, reason), (client.mobile_phone, purpose)


def test_a_text_to_a_number_with_no_record_is_refused_as_not_on_file_unless_it_is_a_reply():
    assert may_contact(to="+14085550199", purpose=Purpose.REPLY).allowed
    refused = may_contact(to="+14085550199", purpose=Purpose.TRANSACTIONAL)
    assert (refused.allowed, refused.reason) == (False, permissions.NOT_ON_FILE)


def test_one_person_and_many_get_the_same_answer_for_every_purpose(settings):
    """The batch form answers every purpose, codes and replies included, as the single form does:
    a stopped number still gets the code it asked for and no reply; no purpose without a consent reads one."""
    settings.SMS_ALLOWED_COUNTRIES = ["US", "CA"]
    clients = [client for client, _, _ in cases()] + [person("+14085550108")]
    for purpose in Purpose:
        batch = may_contact_many(clients=clients, purpose=purpose)
        for client in clients:
            single = may_contact(client=client, purpose=purpose)
            assert (batch[client.pk].allowed, batch[client.pk].reason) == (single.allowed, single.reason), (
                client.mobile_phone,
                purpose,
            )
    stopped = Client.objects.get(mobile_phone="+14085550103")
    assert may_contact_many(clients=[stopped], purpose=Purpose.VERIFICATION_CODE)[stopped.pk].allowed
    assert not may_contact_many(clients=[stopped], purpose=Purpose.REPLY)[stopped.pk].allowed


def test_a_client_without_a_mobile_number_has_no_contact_for_any_text_and_may_still_be_emailed(settings):
    """A record with only an email (a front-desk walk-in, a corrected record) is never texted, and says why:
    "no contact", not a consent or country rule about a number it does not have; one and many alike."""
    settings.SMS_ALLOWED_COUNTRIES = ["US", "CA"]
    email_only = prove_contacts(ClientFactory(mobile_phone="", email="walkin@example.com"))
    for purpose in (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_MARKETING, ConsentPurpose.EMAIL_MARKETING):
        record_consent(
            client=email_only, purpose=purpose, granted=True, notice_text="x", source=ConsentSource.BOOKING_FORM
        )
    email_only.refresh_from_db()
    assert permissions.number_on_file(email_only) == ""
    for purpose in Purpose:
        if purpose == Purpose.EMAIL_MARKETING:
            continue
        single = may_contact(client=email_only, purpose=purpose)
        batch = may_contact_many(clients=[email_only], purpose=purpose)[email_only.pk]
        assert (single.allowed, single.reason) == (False, permissions.NO_CONTACT), purpose
        assert (batch.allowed, batch.reason) == (False, permissions.NO_CONTACT), purpose
    assert may_contact(client=email_only, purpose=Purpose.EMAIL_MARKETING).allowed
    assert may_contact_many(clients=[email_only], purpose=Purpose.EMAIL_MARKETING)[email_only.pk].allowed
