"""The opt-out lists (SmsOptOut, EmailOptOut): the only code that adds or lifts an opt-out.

Every change writes an OptOutEvent saying why (reason, source, actor, evidence).
Lifting a phone's opt-out needs that phone's own START/UNSTOP (the inbound
text's SID is the evidence) or staff acting on the person's behalf: a web link
can reach someone who typed another person's number, so the preference center
may record consent but never lifts a STOP. An email opt-out is lifted by a
link sent to that address (proof of control) or by staff.
"""

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from clinic.errors import BusinessRuleError
from clinic.hashing import contact_hash
from clinic.models import Client
from privacy.models import ConsentActor, ConsentPurpose, ConsentSource
from privacy.notices import booking_notices
from privacy.requests_models import AuditAction
from privacy.services import record_consent
from privacy.subject_requests import audit

from .models import EmailOptOut, OptOutChannel, OptOutEvent, OptOutSource, SmsOptOut
from .signals import sms_opted_out

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet
    from phonenumber_field.phonenumber import PhoneNumber

SMS_PURPOSES = (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_MARKETING, ConsentPurpose.SMS_WAITLIST)
# Who may lift an opt-out, by channel.
SMS_LIFT_SOURCES = {OptOutSource.SMS_KEYWORD, OptOutSource.ADMIN}
EMAIL_LIFT_SOURCES = {OptOutSource.EMAIL_LINK, OptOutSource.ADMIN}
# The ledger's word for where a withdrawal came from.
LEDGER_SOURCE: dict[str, str] = {
    OptOutSource.SMS_KEYWORD: ConsentSource.SMS_KEYWORD,
    OptOutSource.CARRIER: ConsentSource.SMS_KEYWORD,
    OptOutSource.PREFERENCE_CENTER: ConsentSource.PREFERENCE_CENTER,
    OptOutSource.EMAIL_LINK: ConsentSource.PREFERENCE_CENTER,
    OptOutSource.ADMIN: ConsentSource.ADMIN,
    OptOutSource.PRIVACY_REQUEST: ConsentSource.PRIVACY_REQUEST,
    OptOutSource.ERASURE: ConsentSource.PRIVACY_REQUEST,
}


class LiftRefused(BusinessRuleError):
    """Only the phone's own START (or staff on the person's behalf) lifts a STOP."""


def is_sms_opted_out(phone: "PhoneNumber | str | None") -> bool:
    return bool(phone) and SmsOptOut.objects.filter(phone_hash=contact_hash(phone)).exists()


def is_email_opted_out(email: str | None) -> bool:
    return bool(email) and EmailOptOut.objects.filter(email_hash=contact_hash(email)).exists()


def sms_opted_out_hashes(hashes: Iterable[str]) -> set[str]:
    return set(SmsOptOut.objects.filter(phone_hash__in=set(hashes)).values_list("phone_hash", flat=True))


def email_opted_out_hashes(hashes: Iterable[str]) -> set[str]:
    return set(EmailOptOut.objects.filter(email_hash__in=set(hashes)).values_list("email_hash", flat=True))


def _event(
    *,
    channel: str,
    value_hash: str,
    action: str,
    reason: str,
    source: str,
    actor: str,
    staff_user: "User | None",
    evidence: str,
) -> None:
    OptOutEvent.objects.create(
        channel=channel,
        contact_hash=value_hash,
        action=action,
        reason=reason[:200],
        source=source,
        actor=actor,
        staff_user=staff_user,
        evidence=(evidence or "")[:200],
    )


def _check_actor(actor: str, staff_user: "User | None", source: str) -> None:
    if source == OptOutSource.ADMIN and (actor != ConsentActor.STAFF or staff_user is None):
        raise LiftRefused("A staff change needs the staff user, recorded as acting on the person's behalf.")


def add_sms_opt_out(
    *,
    phone: "PhoneNumber | str",
    reason: str,
    source: str,
    actor: str = ConsentActor.CLIENT,
    evidence: str = "",
    staff_user: "User | None" = None,
    withdraw_consents: bool = True,
    keep_number: bool = True,
) -> SmsOptOut:
    """Put a number on the opt-out list for every program; withdraw the SMS consents of every client with it."""
    value_hash = contact_hash(phone)
    with transaction.atomic():
        opt_out, _ = SmsOptOut.objects.get_or_create(
            phone_hash=value_hash,
            defaults={
                "phone": str(phone) if keep_number else "",
                "reason": reason[:200],
                "evidence": (evidence or "")[:200],
            },
        )
        _event(
            channel=OptOutChannel.SMS,
            value_hash=value_hash,
            action=OptOutEvent.ADD,
            reason=reason,
            source=source,
            actor=actor,
            staff_user=staff_user,
            evidence=evidence,
        )
        number = str(phone)
        # After commit, and robustly: a listener's failure never undoes or loses a STOP.
        transaction.on_commit(lambda: _announce_opt_out(number))
        if withdraw_consents:
            for client in Client.objects.filter(mobile_phone=str(phone)):
                for purpose in SMS_PURPOSES:
                    record_consent(
                        client=client,
                        purpose=purpose,
                        granted=False,
                        notice_text=reason,
                        source=LEDGER_SOURCE[source],
                        actor=actor,
                        staff_user=staff_user,
                        evidence=evidence,
                    )
    return opt_out


def _announce_opt_out(phone: str) -> None:
    for receiver, outcome in sms_opted_out.send_robust(sender=SmsOptOut, phone=phone):
        if isinstance(outcome, Exception):
            logger.error("A listener to an SMS opt-out failed: %s", receiver, exc_info=outcome)


def lift_sms_opt_out(
    *,
    phone: "PhoneNumber | str",
    reason: str,
    source: str,
    actor: str,
    evidence: str = "",
    staff_user: "User | None" = None,
) -> bool:
    """Lift a number's opt-out: only its own START/UNSTOP, or staff on the person's behalf.

    Returns whether one was lifted.
    """
    if source not in SMS_LIFT_SOURCES:
        raise LiftRefused("Only a START texted from the number itself (or staff on the person's behalf) lifts a STOP.")
    if source == OptOutSource.SMS_KEYWORD and not evidence:
        raise LiftRefused("A START needs the inbound text as evidence.")
    _check_actor(actor, staff_user, source)
    return _lift(
        SmsOptOut.objects.filter(phone_hash=contact_hash(phone)),
        channel=OptOutChannel.SMS,
        value_hash=contact_hash(phone),
        reason=reason,
        source=source,
        actor=actor,
        staff_user=staff_user,
        evidence=evidence,
    )


def _lift(entries: "QuerySet", *, channel: str, value_hash: str, **event: Any) -> bool:
    """Delete the list entry and record the lift in the history, in one transaction."""
    with transaction.atomic():
        lifted, _ = entries.delete()
        _event(channel=channel, value_hash=value_hash, action=OptOutEvent.LIFT, **event)
    return bool(lifted)


# The permission to lift a STOP for someone (clinic managers and privacy officers; not the front desk).
LIFT_PERMISSION = "messaging.lift_smsoptout"
# A reason says how the person asked and how staff knew it was them: a word or two does not.
MIN_STAFF_REASON = 15


def lift_sms_opt_out_for_person(
    *,
    opt_out: SmsOptOut,
    reason: str,
    staff_user: "User",
    resume_reminders_for: Client | None = None,
) -> None:
    """Staff lift a STOP because the person asked them to (by phone, at the desk).

    Recorded as staff acting on the person's behalf: an OptOutEvent with the staff
    user and reason, and a privacy audit event for each client with the number.
    The STOP had withdrawn the number's SMS consents, so lifting it alone sends
    nothing; resume_reminders_for records that this client asked for appointment
    reminders again (marketing texts need the person's own written opt-in).
    """
    reason = " ".join(reason.split())
    if not staff_user.has_perm(LIFT_PERMISSION):
        raise LiftRefused("Only a clinic manager or a privacy officer may lift a STOP on someone's behalf.")
    if len(reason) < MIN_STAFF_REASON:
        raise LiftRefused("Say how the person asked and how you confirmed it was them.")
    if not opt_out.phone:
        raise LiftRefused("This number was erased: only a START texted from the phone itself can lift the opt-out.")
    phone = str(opt_out.phone)
    holders: list[Client | None] = list(Client.objects.filter(mobile_phone=phone))
    if resume_reminders_for is not None and resume_reminders_for not in holders:
        raise LiftRefused("Reminders can be resumed only for a client with this mobile number.")
    with transaction.atomic():
        lift_sms_opt_out(
            phone=phone,
            reason=reason,
            source=OptOutSource.ADMIN,
            actor=ConsentActor.STAFF,
            staff_user=staff_user,
            evidence=f"Lifted by staff user {staff_user.pk} on the person's behalf",
        )
        if resume_reminders_for is not None:
            record_consent(
                client=resume_reminders_for,
                purpose=ConsentPurpose.SMS_REMINDERS,
                granted=True,
                notice_text=booking_notices()[ConsentPurpose.SMS_REMINDERS],
                source=ConsentSource.ADMIN,
                actor=ConsentActor.STAFF,
                staff_user=staff_user,
                evidence=reason,
            )
        # One row per client record with the number (none: the number alone, by its keyed hash).
        for client in holders or [None]:
            resumed = " Appointment reminders resumed." if client is not None and client == resume_reminders_for else ""
            number = "" if client is not None else f" (number hash {opt_out.phone_hash[:12]})"
            audit(
                AuditAction.SMS_OPT_OUT_LIFTED,
                client=client,
                actor=staff_user,
                detail=f"SMS opt-out lifted on the person's behalf{number}: {reason}.{resumed}",
            )


def add_email_opt_out(
    *,
    email: str,
    reason: str,
    source: str,
    actor: str = ConsentActor.CLIENT,
    evidence: str = "",
    staff_user: "User | None" = None,
    keep_address: bool = True,
    email_hash: str | None = None,
) -> None:
    """Put an address on the marketing-email opt-out list (the consent withdrawal is the caller's, with its wording).

    email_hash: the address an unsubscribe link was made for, which the record may since have changed.
    """
    value_hash = email_hash or contact_hash(email)
    keep = keep_address and bool(email) and contact_hash(email) == value_hash
    with transaction.atomic():
        try:
            with transaction.atomic():
                EmailOptOut.objects.create(email_hash=value_hash, email=email if keep else "", reason=reason[:200])
        except IntegrityError:
            pass  # already on the list
        _event(
            channel=OptOutChannel.EMAIL,
            value_hash=value_hash,
            action=OptOutEvent.ADD,
            reason=reason,
            source=source,
            actor=actor,
            staff_user=staff_user,
            evidence=evidence,
        )


def lift_email_opt_out(
    *, email: str, reason: str, source: str, actor: str, evidence: str = "", staff_user: "User | None" = None
) -> bool:
    """Lift an address's opt-out: a link sent to that address, or staff on the person's behalf."""
    if source not in EMAIL_LIFT_SOURCES:
        raise LiftRefused(
            "Only a link sent to the address itself (or staff on the person's behalf) lifts an email opt-out."
        )
    _check_actor(actor, staff_user, source)
    return _lift(
        EmailOptOut.objects.filter(email_hash=contact_hash(email)),
        channel=OptOutChannel.EMAIL,
        value_hash=contact_hash(email),
        reason=reason,
        source=source,
        actor=actor,
        staff_user=staff_user,
        evidence=evidence,
    )


def keep_opt_outs_across_a_merge(
    sender: object, *, keep_id: int, duplicate_id: int, staff_user: "User | None" = None, **kwargs: Any
) -> None:
    """clinic.identity.clients_merging: a STOP or unsubscribe of the duplicate's own number or address wins.

    The lists are per number and address, so they stay as they are; but the merged record keeps its
    own phone and email, which the list does not name. When the duplicate's (different) number is on
    the STOP list, or its address on the unsubscribe list, the kept record's "yes" to those messages
    is withdrawn (recorded as of the merge): the person told us to stop.
    """
    records = {c.pk: c for c in Client.objects.filter(pk__in=[keep_id, duplicate_id])}
    keep, duplicate = records[keep_id], records[duplicate_id]
    purposes: list[str] = []
    if (
        duplicate.mobile_phone
        and duplicate.mobile_phone != keep.mobile_phone
        and is_sms_opted_out(duplicate.mobile_phone)
    ):
        purposes += SMS_PURPOSES
    if (
        duplicate.email
        and duplicate.email.lower() != (keep.email or "").lower()
        and is_email_opted_out(duplicate.email)
    ):
        purposes.append(ConsentPurpose.EMAIL_MARKETING)
    from privacy.selectors import current_consents

    for purpose in purposes:
        if not current_consents(client_ids=[keep_id], purpose=purpose).get(keep_id):
            continue
        record_consent(
            client=keep,
            purpose=purpose,
            granted=False,
            notice_text="The person's number or address on the record merged in is on the opt-out list.",
            source=ConsentSource.RECORD_MERGE,
            actor=ConsentActor.STAFF if staff_user else ConsentActor.SYSTEM,
            staff_user=staff_user,
            evidence=f"Merge of client #{duplicate_id} into #{keep_id}: the opt-out of record #{duplicate_id} stands.",
        )
