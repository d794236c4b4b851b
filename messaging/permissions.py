"""May we contact this person, for this purpose, now? The one place that decides.

Every path that texts or markets asks here: the booking confirmation, the
reminder pass, the send-time re-check, campaigns (audience and email send),
keyword and staff replies, verification codes and the preference center.

- `may_contact(client=..., purpose=...)`: one person. For the text purposes it
  reads consent and the opt-out list in one plain SQL statement: it runs for
  every text at send time, hundreds a second per worker, and building the same
  query through the ORM cost a quarter of a worker's CPU.
- `may_contact_many(clients=..., purpose=...)`: many people, through the ORM, in
  a fixed number of queries. A test checks that both give the same answers.

Marketing needs the opt-in confirmed by the owner of the number or address
(double opt-in, `_owner_confirmed`): a proven phone (a code, or the JOIN reply)
for SMS, a proven email (a link, or the emailed confirmation) for email.

The STOP list wins over any consent: a number on it is refused for every
purpose but a code the person asked for (VERIFICATION_CODE), whichever Client
record holds the number and whatever that record consented to.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import phonenumbers
from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from clinic.hashing import contact_hash
from privacy.models import ConsentPurpose, ConsentRecord
from privacy.selectors import current_consents

from . import opt_outs
from .models import CampaignEmail, Direction, MessageKind, MessageStatus, SmsMessage, SmsOptOut

if TYPE_CHECKING:
    from clinic.models import Client


class Purpose(models.TextChoices):
    TRANSACTIONAL = "transactional", "Booking confirmations and reminders"
    SMS_MARKETING = "sms_marketing", "SMS marketing"
    EMAIL_MARKETING = "email_marketing", "Email marketing"
    # The person texted us: a keyword reply (HELP, C) or the front desk's answer. No consent needed; STOP wins.
    REPLY = "reply", "A reply to the person's own text"
    # A one-time code the person asked for (privacy request): not marketing, sent even after STOP,
    # to the phone on file only.
    VERIFICATION_CODE = "verification_code", "A code the person asked for"
    # A code the signed-in client asked for to prove a number they are changing to: not on file yet (proving
    # it is the point) and possibly never heard from, but the STOP list wins: its owner asked for no texts,
    # and the asker may not be that owner. START from that phone lifts it.
    NEW_NUMBER_CODE = "new_number_code", "A code proving a new number the person gave"
    # The one text asking the number's owner to confirm a marketing opt-in ticked on a form (reply JOIN).
    # Needs that opt-in on the record, as marketing does, but not a proven number: proving it is the point.
    MARKETING_CONFIRMATION = "marketing_confirmation", "A request to confirm an SMS marketing opt-in"
    # A freed time offered to someone on the waitlist: needs their waitlist opt-in; not marketing.
    WAITLIST_OFFER = "waitlist_offer", "Waitlist offers"


CONSENT_OF = {
    Purpose.TRANSACTIONAL: ConsentPurpose.SMS_REMINDERS,
    Purpose.SMS_MARKETING: ConsentPurpose.SMS_MARKETING,
    Purpose.EMAIL_MARKETING: ConsentPurpose.EMAIL_MARKETING,
    Purpose.MARKETING_CONFIRMATION: ConsentPurpose.SMS_MARKETING,
    Purpose.WAITLIST_OFFER: ConsentPurpose.SMS_WAITLIST,
}
SMS_PURPOSES = (
    Purpose.TRANSACTIONAL,
    Purpose.SMS_MARKETING,
    Purpose.REPLY,
    Purpose.VERIFICATION_CODE,
    Purpose.NEW_NUMBER_CODE,
    Purpose.MARKETING_CONFIRMATION,
    Purpose.WAITLIST_OFFER,
)
# The program texts: they need the number on file, a usable number and no restriction of processing.
PROGRAM_PURPOSES = (
    Purpose.TRANSACTIONAL,
    Purpose.SMS_MARKETING,
    Purpose.EMAIL_MARKETING,
    Purpose.MARKETING_CONFIRMATION,
    Purpose.WAITLIST_OFFER,
)
# Texts whose consent and opt-out are read together by the one-statement fast path.
_FAST_PATH_PURPOSES = (
    Purpose.TRANSACTIONAL,
    Purpose.SMS_MARKETING,
    Purpose.MARKETING_CONFIRMATION,
    Purpose.WAITLIST_OFFER,
)
MARKETING_PURPOSES = (Purpose.SMS_MARKETING, Purpose.EMAIL_MARKETING)
PURPOSE_OF_KIND: dict[str, Purpose] = {
    MessageKind.CONFIRMATION: Purpose.TRANSACTIONAL,
    MessageKind.REMINDER: Purpose.TRANSACTIONAL,
    MessageKind.FORMS: Purpose.TRANSACTIONAL,
    MessageKind.MARKETING: Purpose.SMS_MARKETING,
    MessageKind.KEYWORD_REPLY: Purpose.REPLY,
    MessageKind.OTHER: Purpose.REPLY,
    MessageKind.VERIFICATION: Purpose.VERIFICATION_CODE,
    MessageKind.NEW_NUMBER_CODE: Purpose.NEW_NUMBER_CODE,
    MessageKind.MARKETING_CONFIRMATION: Purpose.MARKETING_CONFIRMATION,
    MessageKind.WAITLIST_OFFER: Purpose.WAITLIST_OFFER,
}
# Marketing sends that count towards the cap: everything not skipped or failed.
_COUNTED = (
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.UNDELIVERED,
)

NO_CONTACT = "No contact details for this channel."
PHONE_PROBLEM = "The number is flagged as unusable."
ERASED = "The person was erased."
RESTRICTED = "Processing is restricted."
NO_CONSENT = "No current consent for this purpose."
OPTED_OUT = "The number has opted out (STOP)."
EMAIL_OPTED_OUT = "The address has unsubscribed."
COUNTRY = "The number is outside the countries we text (SMS_ALLOWED_COUNTRIES)."
NOT_ON_FILE = "Not the number on file for this person."
OVER_CAP = "Reached the marketing frequency cap (MARKETING_MAX_PER_30_DAYS)."
# Double opt-in: a box ticked on a form may name someone else's number or address.
PHONE_UNCONFIRMED = "The number's owner has not confirmed the marketing opt-in (reply JOIN) nor proven the number."
EMAIL_UNCONFIRMED = "The address's owner has not confirmed the marketing opt-in (emailed link) nor proven the address."


@dataclass(frozen=True)
class Permission:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Permission(True)


def country_allowed(phone: object) -> bool:
    """Is the number in a country the clinic texts (SMS pumping: never premium or far-away numbers)?"""
    if isinstance(phone, phonenumbers.PhoneNumber):
        region = phonenumbers.region_code_for_number(phone)
    else:
        region = _region_of(str(phone or ""))
    return region in settings.SMS_ALLOWED_COUNTRIES


@functools.lru_cache(maxsize=4096)
def _region_of(number: str) -> str | None:
    # Parsing costs ~60 us; the send path asks for the same numbers over and over.
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return None


def has_texted_us(phone: str) -> bool:
    """Has this number ever texted the clinic? Then a real, reachable person holds it.

    A number typed into a public form and never heard from may be anyone's (SMS pumping, or a
    stranger's prank): such numbers get at most one unsolicited text a day.
    """
    return SmsMessage.objects.filter(direction=Direction.INBOUND, from_number=str(phone)).exists()


def number_on_file(client: "Client") -> str:
    """The record's mobile number as stored (E.164), or "".

    Not str() or a truth test of the PhoneNumber: each re-validates the number
    against the metadata (~60 us), and the reminder pass asks for thousands.
    """
    phone = client.mobile_phone
    if isinstance(phone, phonenumbers.PhoneNumber) and phone.country_code:
        return phonenumbers.format_number(phone, phonenumbers.PhoneNumberFormat.E164)
    return str(phone or "")


def _contact_of(client: "Client | None", purpose: str, to: str | None) -> str:
    if purpose == Purpose.EMAIL_MARKETING:
        return to or (client.email if client else "")
    return str(to) if to else (number_on_file(client) if client else "")


def _client_rules(client: "Client | None", purpose: str, contact: str) -> Permission:
    """Everything decided from the record itself, before consent and the lists."""
    if not contact:
        return Permission(False, NO_CONTACT)
    if client is None:
        return ALLOWED if purpose == Purpose.REPLY else Permission(False, NOT_ON_FILE)
    if client.erased_at is not None:
        return Permission(False, ERASED)
    if purpose in PROGRAM_PURPOSES:
        if client.processing_restricted:
            return Permission(False, RESTRICTED)
        if purpose != Purpose.EMAIL_MARKETING and client.mobile_phone_problem:
            return Permission(False, PHONE_PROBLEM)
    if purpose not in (Purpose.REPLY, Purpose.NEW_NUMBER_CODE):
        on_file = client.email if purpose == Purpose.EMAIL_MARKETING else number_on_file(client)
        # Consent and codes belong to the details on file: not to a number the record no longer has.
        if not on_file or on_file.lower() != contact.lower():
            return Permission(False, NOT_ON_FILE)
    return ALLOWED


def _owner_confirmed(client: "Client", purpose: str) -> Permission:
    """Double opt-in: marketing needs the opt-in from the owner of the number or address.

    A box ticked on a form may name anyone's. Proven by a code or link to it, or by
    the JOIN reply / the emailed confirmation (which stamp the proof); a corrected
    number or address is unproven until confirmed again. After the lists and
    consent, so an opted-out contact is reported as such.
    """
    if purpose == Purpose.SMS_MARKETING and client.phone_verified_at is None:
        return Permission(False, PHONE_UNCONFIRMED)
    if purpose == Purpose.EMAIL_MARKETING and client.email_verified_at is None:
        return Permission(False, EMAIL_UNCONFIRMED)
    return ALLOWED


def _country_rule(purpose: str, contact: object) -> Permission:
    # Last, so the reason is "country" only when everything else allowed it.
    if purpose != Purpose.EMAIL_MARKETING and not country_allowed(contact):
        return Permission(False, COUNTRY)
    return ALLOWED


def may_contact(
    *,
    client: "Client | None" = None,
    purpose: Purpose,
    to: str | None = None,
    now: datetime | None = None,
    check_cap: bool = True,
    exclude_campaign_id: int | None = None,
) -> Permission:
    """One person (a Client, or for REPLY just the number `to`), one purpose, now.

    For the text purposes with consent, consent and the opt-out list are read in one statement.
    """
    purpose = Purpose(purpose)
    contact = _contact_of(client, purpose, to)
    verdict = _client_rules(client, purpose, contact)
    if not verdict:
        return verdict
    if purpose in _FAST_PATH_PURPOSES:
        assert client is not None  # _client_rules lets a text without a record through only for REPLY
        granted, opted_out = latest_consent_and_opt_out(
            client_id=client.pk, purpose=CONSENT_OF[purpose], phone_hash=contact_hash(contact)
        )
        if opted_out:
            return Permission(False, OPTED_OUT)
        if not granted:
            return Permission(False, NO_CONSENT)
    elif purpose == Purpose.EMAIL_MARKETING:
        assert client is not None  # as above
        if opt_outs.is_email_opted_out(contact):
            return Permission(False, EMAIL_OPTED_OUT)
        if not current_consents(client_ids=[client.pk], purpose=CONSENT_OF[purpose]).get(client.pk):
            return Permission(False, NO_CONSENT)
    elif purpose in (Purpose.REPLY, Purpose.NEW_NUMBER_CODE) and opt_outs.is_sms_opted_out(contact):
        return Permission(False, OPTED_OUT)
    if client is not None and not (verdict := _owner_confirmed(client, purpose)):
        return verdict
    if not (verdict := _country_rule(purpose, contact)):
        return verdict
    if check_cap and purpose in MARKETING_PURPOSES:
        if (
            marketing_counts(purpose=purpose, contacts=[contact], now=now, exclude_campaign_id=exclude_campaign_id).get(
                contact.lower(), 0
            )
            >= settings.MARKETING_MAX_PER_30_DAYS
        ):
            return Permission(False, OVER_CAP)
    return ALLOWED


def may_contact_many(
    *,
    clients: Iterable["Client"],
    purpose: Purpose,
    now: datetime | None = None,
    check_cap: bool = True,
    exclude_campaign_id: int | None = None,
) -> dict[int, Permission]:
    """{client_id: Permission} for many clients, each to the contact on file, in a fixed number of queries."""
    purpose = Purpose(purpose)
    clients = list(clients)
    verdicts, contacts = {}, {}
    for client in clients:
        contact = _contact_of(client, purpose, None)
        verdicts[client.pk] = _client_rules(client, purpose, contact)
        contacts[client.pk] = contact
    live = [c.pk for c in clients if verdicts[c.pk]]
    by_pk = {c.pk: c for c in clients}
    if not live:
        return verdicts
    hashes = {pk: contact_hash(contacts[pk]) for pk in live}
    if purpose == Purpose.EMAIL_MARKETING:
        listed, listed_reason = opt_outs.email_opted_out_hashes(hashes.values()), EMAIL_OPTED_OUT
    elif purpose != Purpose.VERIFICATION_CODE:
        listed, listed_reason = opt_outs.sms_opted_out_hashes(hashes.values()), OPTED_OUT
    else:
        listed, listed_reason = set(), ""
    consenting = current_consents(client_ids=live, purpose=CONSENT_OF[purpose]) if purpose in CONSENT_OF else None
    for pk in live:
        if hashes[pk] in listed:
            verdicts[pk] = Permission(False, listed_reason)
        elif consenting is not None and not consenting.get(pk):
            verdicts[pk] = Permission(False, NO_CONSENT)
        elif not (confirmed := _owner_confirmed(by_pk[pk], purpose)):
            verdicts[pk] = confirmed
        else:
            # The parsed number on file, when it is the contact: no parsing again.
            phone = by_pk[pk].mobile_phone
            verdicts[pk] = _country_rule(
                purpose, phone if isinstance(phone, phonenumbers.PhoneNumber) else contacts[pk]
            )
    if check_cap and purpose in MARKETING_PURPOSES:
        still = [pk for pk in live if verdicts[pk]]
        counts = marketing_counts(
            purpose=purpose, contacts=[contacts[pk] for pk in still], now=now, exclude_campaign_id=exclude_campaign_id
        )
        for pk in still:
            if counts.get(contacts[pk].lower(), 0) >= settings.MARKETING_MAX_PER_30_DAYS:
                verdicts[pk] = Permission(False, OVER_CAP)
    return verdicts


def marketing_counts(
    *, purpose: Purpose, contacts: Iterable[object], now: datetime | None = None, exclude_campaign_id: int | None = None
) -> dict[str, int]:
    """{number or address (lower case): marketing sends in the last 30 days}: one query.

    Counted per number or address, so several records sharing one number share one cap.
    """
    wanted = {str(c) for c in contacts if c}
    if not wanted:
        return {}
    since = (now or timezone.now()) - timedelta(days=30)
    rows: models.QuerySet[Any]
    if purpose == Purpose.SMS_MARKETING:
        rows = SmsMessage.objects.filter(kind=MessageKind.MARKETING, to_number__in=wanted)
        field = "to_number"
    else:
        rows = CampaignEmail.objects.filter(to_email__in=wanted | {c.lower() for c in wanted})
        field = "to_email"
    rows = rows.filter(created_at__gte=since, status__in=_COUNTED)
    if exclude_campaign_id is not None:
        rows = rows.exclude(campaign_id=exclude_campaign_id)
    counts: dict[str, int] = {}
    for value, n in rows.values_list(field).annotate(n=models.Count("pk")).values_list(field, "n"):
        counts[value.lower()] = counts.get(value.lower(), 0) + n
    return counts


# --- The send-time fast path --------------------------------------------------


def latest_consent_and_opt_out(*, client_id: int, purpose: str, phone_hash: str) -> tuple[bool | None, bool]:
    """(latest choice for the purpose or None, on the opt-out list): one statement.

    Plain SQL that SQLite and PostgreSQL both run; the consent index (client,
    purpose, -recorded_at) answers the first half. tests/messaging/
    test_contact_permission.py checks it against the ORM version.
    """
    with connection.cursor() as cursor:
        cursor.execute(_consent_and_opt_out_sql(), [client_id, purpose, phone_hash])
        granted, opted_out = cursor.fetchone()
    return (None if granted is None else bool(granted)), bool(opted_out)


@functools.cache
def _consent_and_opt_out_sql() -> str:
    consent, opt_out = ConsentRecord._meta, SmsOptOut._meta
    column = {
        name: cast(models.Field, consent.get_field(name)).column
        for name in ("client", "purpose", "granted", "recorded_at")
    }
    return (
        f"SELECT (SELECT {column['granted']} FROM {consent.db_table}"
        f" WHERE {column['client']} = %s AND {column['purpose']} = %s"
        f" ORDER BY {column['recorded_at']} DESC, {consent.pk.column} DESC LIMIT 1),"
        f" EXISTS (SELECT 1 FROM {opt_out.db_table} WHERE {opt_out.get_field('phone_hash').column} = %s)"
    )
