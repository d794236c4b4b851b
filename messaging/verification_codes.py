"""One-time codes the person asked for (privacy requests), texted to the phone on file."""

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from clinic.models import Client

from . import opt_outs
from .models import MessageKind, SmsMessage
from .outbox import enqueue_sends
from .permissions import Purpose, may_contact

if TYPE_CHECKING:
    from phonenumber_field.phonenumber import PhoneNumber

logger = logging.getLogger(__name__)


# A code is asked for through the privacy-request pages (rate limited per IP); this caps it per number too.
VERIFICATION_CODES_PER_HOUR = 5
# A number on the STOP list: a code is an exception for the person's own request, not a channel to it.
VERIFICATION_CODES_PER_DAY_AFTER_STOP = 3


def send_verification_code(*, phone: "PhoneNumber | str", body: str, client: Client | None = None) -> SmsMessage | None:
    """A one-time code the person asked for (privacy requests): sent now, to the phone on file only.

    A reply the person asked for, not marketing: it goes even to a number that
    texted STOP, so they can still verify a privacy request. At most
    VERIFICATION_CODES_PER_HOUR per number, and VERIFICATION_CODES_PER_DAY_AFTER_STOP
    a day to a number on the STOP list.
    """
    now = timezone.now()
    if not may_contact(client=client, purpose=Purpose.VERIFICATION_CODE, to=str(phone)):
        return None
    codes = SmsMessage.objects.filter(kind=MessageKind.VERIFICATION, to_number=str(phone))
    recent = codes.filter(created_at__gte=now - timedelta(hours=1)).count()
    if recent >= VERIFICATION_CODES_PER_HOUR:
        logger.info("Verification code refused: %s sent to this number in the last hour", recent)
        return None
    # Whoever proved the email on a record asks for the code, not necessarily the phone's owner:
    # after STOP the exception stays rare (past it, staff check identity another way).
    if (
        opt_outs.is_sms_opted_out(phone)
        and codes.filter(created_at__gte=now - timedelta(days=1)).count() >= VERIFICATION_CODES_PER_DAY_AFTER_STOP
    ):
        logger.info("Verification code refused: the number is on the STOP list and had its codes for today")
        return None
    return _queue_code(phone=phone, body=body, client=client, kind=MessageKind.VERIFICATION, now=now)


def send_new_number_code(*, phone: "PhoneNumber | str", body: str, client: Client) -> SmsMessage | None:
    """A code the signed-in client asked for to prove the number they are changing to (not on file yet).

    Allowed for a number never heard from (proving it is the point), at most
    VERIFICATION_CODES_PER_HOUR per number (all codes counted), and never to a
    number on the STOP list: whoever holds it asked for no texts, and the asker
    may not be that person (they text START from it first, or call the clinic).
    """
    now = timezone.now()
    if not may_contact(client=client, purpose=Purpose.NEW_NUMBER_CODE, to=str(phone)):
        return None
    recent = SmsMessage.objects.filter(
        kind__in=(MessageKind.VERIFICATION, MessageKind.NEW_NUMBER_CODE),
        to_number=str(phone),
        created_at__gte=now - timedelta(hours=1),
    ).count()
    if recent >= VERIFICATION_CODES_PER_HOUR:
        logger.info("New number code refused: %s codes sent to this number in the last hour", recent)
        return None
    return _queue_code(phone=phone, body=body, client=client, kind=MessageKind.NEW_NUMBER_CODE, now=now)


def _queue_code(
    *, phone: "PhoneNumber | str", body: str, client: Client | None, kind: str, now: datetime
) -> SmsMessage:
    message = SmsMessage.objects.create(
        to_number=str(phone),
        body=body,
        client=client,
        location=client.preferred_location if client else None,
        kind=kind,
        send_after=now,
        enqueued_at=now,
    )
    transaction.on_commit(lambda: enqueue_sends([message.pk]))
    return message
