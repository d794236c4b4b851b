"""Privacy-rights requests: intake, verification, deadlines and fulfilment.

Nothing about any client is revealed before verification, and intake answers
the same whether or not the email is known. Verification is by a signed,
single-use email link (72 h); deletion and requests for specific data also
need a one-time code texted to the phone on file.
"""

import hashlib
import logging
import re
import secrets
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from clinic import identity
from clinic.errors import BusinessRuleError
from clinic.hashing import normalise_email
from clinic.models import Client
from clinic.plain_text import render_plain_text
from clinic.queueing import enqueue

from . import registry
from .models import ConsentActor, ConsentPurpose, ConsentSource
from .requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, Regime, RequestStatus, RequestType
from .services import record_consent

logger = logging.getLogger(__name__)

VERIFY_SALT = "privacy.request-verify"
DOWNLOAD_SALT = "privacy.request-download"
# Types that need the phone on file confirmed too (two matching data points).
NEEDS_PHONE_CODE = {RequestType.ERASURE, RequestType.ACCESS, RequestType.PORTABILITY}
# Types that take effect as soon as the request is verified.
IMMEDIATE = {RequestType.OBJECTION, RequestType.WITHDRAW_CONSENT, RequestType.OPT_OUT_SALE, RequestType.RESTRICTION}
MARKETING_PURPOSES = (ConsentPurpose.SMS_MARKETING, ConsentPurpose.EMAIL_MARKETING, ConsentPurpose.SALE_SHARING)
ALL_CLIENT_PURPOSES = (ConsentPurpose.SMS_REMINDERS, ConsentPurpose.SMS_WAITLIST) + MARKETING_PURPOSES


class VerificationError(BusinessRuleError):
    """The link or code does not verify this request; the message says why, for the person."""


class RequestRefused(BusinessRuleError):
    """What staff asked of a privacy request is not allowed now (closed, already extended, no reason given)."""


def audit(action, *, request=None, client=None, client_id=None, actor=None, actor_label="", detail=""):
    return PrivacyAuditEvent.objects.create(
        action=action,
        request=request,
        client_id=client.pk if client is not None else client_id,
        actor=actor,
        actor_label=actor_label,
        detail=detail[:2000],
    )


# --- The lifecycle -------------------------------------------------------------
#
# Every change of a request's status goes through transition(): it checks the move is
# allowed from the current status, saves, writes the audit row, and sends the email
# only once the transaction has committed (a rolled-back change tells nobody anything).

TRANSITIONS = {
    RequestStatus.RECEIVED: {RequestStatus.VERIFIED, RequestStatus.REFUSED, RequestStatus.EXPIRED},
    RequestStatus.VERIFIED: {RequestStatus.IN_PROGRESS, RequestStatus.COMPLETED, RequestStatus.REFUSED},
    # In progress again: a new export link replaces the last.
    RequestStatus.IN_PROGRESS: {RequestStatus.IN_PROGRESS, RequestStatus.COMPLETED, RequestStatus.REFUSED},
    RequestStatus.COMPLETED: set(),
    RequestStatus.REFUSED: set(),
    RequestStatus.EXPIRED: set(),
}
_NOW = {
    RequestStatus.RECEIVED: "not verified yet",
    RequestStatus.VERIFIED: "already verified",
    RequestStatus.IN_PROGRESS: "in progress",
    RequestStatus.COMPLETED: "already completed",
    RequestStatus.REFUSED: "already refused",
    RequestStatus.EXPIRED: "expired (it was never verified)",
}
_VERB = {
    RequestStatus.VERIFIED: "verified",
    RequestStatus.IN_PROGRESS: "worked on",
    RequestStatus.COMPLETED: "completed",
    RequestStatus.REFUSED: "refused",
    RequestStatus.EXPIRED: "expired",
}


def transition(
    dsr,
    new_status,
    *,
    action,
    actor=None,
    actor_label="",
    detail="",
    email=None,
    fields=(),
):
    """Move a request (locked by the caller, inside its transaction) to new_status, or raise RequestRefused.

    fields: the other attributes the caller set on dsr, saved with the status.
    email: (template, subject, extra context), sent to the requester after commit.
    """
    if new_status not in TRANSITIONS[RequestStatus(dsr.status)]:
        raise RequestRefused(f"Request {dsr.reference} is {_NOW[dsr.status]}: it cannot be {_VERB[new_status]}.")
    dsr.status = new_status
    dsr.save(update_fields=["status", *fields])
    audit(action, request=dsr, actor=actor, actor_label=actor_label, detail=detail)
    if email is not None:
        _email_after_commit(dsr, *email)
    return dsr


def _email_after_commit(dsr, template, subject, extra=None):
    # Rendered and sent once the change is committed: a rollback sends nothing.
    transaction.on_commit(lambda: _email(dsr, template, subject, **(extra or {})))


# --- Deadlines ---------------------------------------------------------------


def regime():
    """The regime that governs deadlines: PRIVACY_REGIME, or the stricter of the two by default."""
    return settings.PRIVACY_REGIME


def due_date(received_at, chosen_regime):
    gdpr = received_at + relativedelta(months=1)
    ccpa = received_at + timedelta(days=45)
    return {Regime.GDPR: gdpr, Regime.CCPA: ccpa}.get(chosen_regime, min(gdpr, ccpa))


def _regime_for_record():
    chosen = regime()
    return chosen if chosen in (Regime.GDPR, Regime.CCPA) else Regime.GDPR  # the stricter


def extend_deadline(*, request_id, reason, staff_user=None, now=None):
    """Extend once, with the reason, telling the person: +2 months (GDPR) or +45 days (CCPA)."""
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if not TRANSITIONS[RequestStatus(dsr.status)]:
            raise RequestRefused(f"Request {dsr.reference} is {_NOW[dsr.status]}: its deadline cannot be extended.")
        if dsr.extended_due_at:
            raise RequestRefused("This request has already been extended once.")
        if not reason.strip():
            raise RequestRefused("An extension needs a reason, which is sent to the person.")
        if dsr.regime == Regime.GDPR:
            if now > dsr.received_at + relativedelta(months=1):
                raise RequestRefused("Under GDPR the person must be told of an extension within the first month.")
            dsr.extended_due_at = dsr.due_at + relativedelta(months=2)
        else:
            dsr.extended_due_at = dsr.due_at + timedelta(days=45)
        dsr.extension_reason = reason.strip()
        dsr.extension_notified_at = now
        dsr.save(update_fields=["extended_due_at", "extension_reason", "extension_notified_at"])
        _email_after_commit(
            dsr,
            "privacy/email/request_extended.txt",
            gettext("Your privacy request %(reference)s: more time needed") % {"reference": dsr.reference},
        )
        audit(
            AuditAction.REQUEST_EXTENDED,
            request=dsr,
            actor=staff_user,
            detail=f"New deadline {dsr.extended_due_at:%Y-%m-%d}. Reason: {reason}",
        )
    return dsr


# --- Intake ------------------------------------------------------------------


def _email(dsr, template, subject, **extra):
    context = {"request": dsr, "clinic_name": settings.CLINIC_NAME, **extra}
    send_mail(
        subject=subject, message=render_plain_text(template, context), from_email=None, recipient_list=[dsr.email]
    )


def verification_url(dsr):
    token = signing.dumps({"r": dsr.pk, "n": dsr.verification_nonce}, salt=VERIFY_SALT)
    return settings.SITE_URL + reverse("privacy:request_verify", args=[token])


def submit_request(*, request_type, email, phone="", details="", channel="web", staff_user=None, now=None):
    """Record a request and send the acknowledgement with the verification link."""
    now = now or timezone.now()
    chosen = _regime_for_record()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.create(
            request_type=request_type,
            email=normalise_email(email),
            phone=phone,
            details=details,
            channel=channel,
            regime=chosen,
            received_at=now,
            due_at=due_date(now, regime()),
            verification_nonce=secrets.token_urlsafe(24),
            created_by=staff_user,
        )
        audit(
            AuditAction.REQUEST_RECEIVED,
            request=dsr,
            actor=staff_user,
            actor_label="" if staff_user else "requester",
            detail=f"{dsr.get_request_type_display()} via {dsr.get_channel_display()}",
        )
        if request_type == RequestType.OPT_OUT_SALE:
            # CCPA: no identity verification, effective at once for the address given.
            _withdraw(dsr, Client.objects.filter(email=dsr.email), (ConsentPurpose.SALE_SHARING,), now)
        transaction.on_commit(lambda: _send_acknowledgement(dsr.pk))
    return dsr


# What the requester proved control of, or asked for: fixed once the emailed link was used.
PROVEN_DETAILS = ("request_type", "email", "phone")


def update_request_details(*, request_id, changes, staff_user=None):
    """Staff correct a request's details (the admin form): only the fields named in `changes` are written.

    A new address before the link was used gets a fresh link, and the old one dies: the link
    proves control of the address it was sent to, never of one typed in after it left.
    Once the link was used, what it proved (type, address, phone) stays as it is.
    """
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        proven = [name for name in PROVEN_DETAILS if name in changes]
        if proven and (dsr.email_confirmed_at or dsr.verified_at or dsr.status != RequestStatus.RECEIVED):
            raise RequestRefused(
                f"Request {dsr.reference} is {_NOW[dsr.status]} and its address was confirmed: "
                f"its {', '.join(proven).replace('_', ' ')} can no longer be changed."
            )
        for name, value in changes.items():
            setattr(dsr, name, value)
        fields = list(changes)
        if "email" in changes:
            dsr.email = normalise_email(dsr.email)
            dsr.verification_nonce = secrets.token_urlsafe(24)  # the link sent to the old address dies
            dsr.acknowledged_at = None
            fields += ["verification_nonce", "acknowledged_at"]
            transaction.on_commit(lambda: _send_acknowledgement(dsr.pk))
        if fields:
            dsr.save(update_fields=fields)  # never the status or stamps read before the lock
        audit(AuditAction.REQUEST_UPDATED, request=dsr, actor=staff_user, detail=", ".join(changes))
    return dsr


def _send_acknowledgement(request_id):
    from .tasks import send_request_acknowledgement

    enqueue(send_request_acknowledgement, request_id)


def send_pending_acknowledgements():
    """Sweeper: acknowledgements whose task never ran are sent now."""
    pending = DataSubjectRequest.objects.filter(acknowledged_at__isnull=True, status=RequestStatus.RECEIVED).exclude(
        email=""
    )
    return sum(send_acknowledgement(request_id=pk) for pk in pending.values_list("pk", flat=True))


def send_acknowledgement(*, request_id):
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    if dsr.acknowledged_at or not dsr.email:
        return False
    _email(
        dsr,
        "privacy/email/request_received.txt",
        gettext("We received your privacy request %(reference)s") % {"reference": dsr.reference},
        verify_url=verification_url(dsr),
        hours=settings.PRIVACY_VERIFICATION_HOURS,
    )
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(acknowledged_at=timezone.now())
    return True


# --- Verification ------------------------------------------------------------


def _hash_code(dsr, code):
    return hashlib.sha256(f"{dsr.pk}:{dsr.reference}:{code}".encode()).hexdigest()


MAX_CODE_TRIES = 5  # wrong entries before a code is dead and a new one is needed
MAX_CODES_SENT = 5  # new codes per request; then staff check identity instead
MAX_CODES_SENT_IN_ALL = 10  # with the fresh codes for opening an export in another browser


def _code_text(code):
    return (
        f"{settings.CLINIC_NAME}: your privacy request code is {code}. It expires in "
        f"{settings.PRIVACY_SMS_CODE_MINUTES} minutes. If you did not ask for it, ignore this text."
    )


def _phone_client(dsr):
    # A proven phone, else the oldest record's: never a later booking's typed number.
    return identity.phone_on_file(list(dsr.clients.all()))


def _new_code(dsr, now):
    """A fresh code on the request (hashed), the old one dead; returns the code."""
    code = f"{secrets.randbelow(10**6):06d}"
    dsr.sms_code_hash = _hash_code(dsr, code)
    dsr.sms_code_expires_at = now + timedelta(minutes=settings.PRIVACY_SMS_CODE_MINUTES)
    dsr.sms_code_attempts = 0
    dsr.sms_codes_sent += 1
    dsr.save(update_fields=["sms_code_hash", "sms_code_expires_at", "sms_code_attempts", "sms_codes_sent"])
    return code


def _text_code(dsr, code):
    """Queue the code to the phone on file. False when it cannot go (no phone, refused, failed)."""
    phone_client = _phone_client(dsr)
    if phone_client is None:
        return False
    try:
        with transaction.atomic():  # a savepoint: a failed send leaves the request's own writes usable
            sent = registry.send_verification_sms(
                phone=str(phone_client.mobile_phone), body=_code_text(code), client=phone_client
            )
    except Exception:  # whatever the sender's failure (logged), the requester gets the other proof path
        logger.exception("Privacy request %s: the verification code could not be queued", dsr.reference)
        return False
    return sent is not None


def needs_identity_check(dsr, *, reason, now=None):
    """We cannot prove identity by text: staff check it another way. Flagged in the register; never expired for it."""
    if dsr.identity_check_needed:
        return dsr
    dsr.identity_check_needed = True
    dsr.identity_check_reason = reason[:200]
    dsr.sms_code_hash = ""
    dsr.save(update_fields=["identity_check_needed", "identity_check_reason", "sms_code_hash"])
    audit(AuditAction.IDENTITY_CHECK_NEEDED, request=dsr, actor_label="system", detail=reason)
    return dsr


def confirm_email(*, token, now=None):
    """Use the emailed link once. Returns the request, and what is still needed: "code", "staff" or None."""
    now = now or timezone.now()
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=settings.PRIVACY_VERIFICATION_HOURS * 3600)
    except signing.SignatureExpired as exc:
        raise VerificationError(gettext("This link has expired. Please send your request again.")) from exc
    except signing.BadSignature as exc:
        raise VerificationError(gettext("This link is not valid.")) from exc
    if not isinstance(data, dict):
        raise VerificationError(gettext("This link is not valid."))
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().filter(pk=data.get("r")).first()
        if (
            dsr is None
            or not dsr.verification_nonce
            or not secrets.compare_digest(dsr.verification_nonce, str(data.get("n")))
        ):
            raise VerificationError(gettext("This link has already been used or is not valid."))
        if dsr.status != RequestStatus.RECEIVED:
            raise VerificationError(gettext("This request is no longer waiting for verification."))
        dsr.verification_nonce = ""  # single use
        dsr.email_confirmed_at = now
        dsr.save(update_fields=["verification_nonce", "email_confirmed_at"])
        clients = list(Client.objects.filter(email=dsr.email))
        dsr.clients.set(clients)
        # The link proved control of the address: every record holding it is this person's.
        identity.mark_email_verified(client_ids=[c.pk for c in clients], email=dsr.email, now=now)
        if dsr.request_type in NEEDS_PHONE_CODE and clients:
            # A second data point is needed: a code to the phone on file, or else staff check identity.
            if _text_code(dsr, _new_code(dsr, now)):
                return dsr, "code"
            reason = (
                "No mobile phone on file"
                if _phone_client(dsr) is None
                else "The code could not be texted to the phone on file"
            )
            needs_identity_check(dsr, reason=f"{reason}: confirm the requester's identity another way.", now=now)
            return dsr, "staff"
        _verified(dsr, now)
        return dsr, None


def _waiting_for_code(dsr):
    return dsr.status == RequestStatus.RECEIVED and dsr.email_confirmed_at is not None and not dsr.identity_check_needed


def resend_sms_code(*, request_id, now=None):
    """The requester asks for a new code (the old one expired, was mistyped too often, or never came).

    Returns the request; after MAX_CODES_SENT, or when the code cannot be texted,
    it goes to staff for an identity check instead (identity_check_needed).
    """
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if not _waiting_for_code(dsr):
            raise VerificationError(gettext("This request is not waiting for a code."))
        if dsr.sms_codes_sent >= MAX_CODES_SENT:
            return needs_identity_check(
                dsr, reason="Too many codes asked for: confirm the requester's identity another way.", now=now
            )
        if _text_code(dsr, _new_code(dsr, now)):
            return dsr
        return needs_identity_check(dsr, reason="A new code could not be texted to the phone on file.", now=now)


def ask_for_identity_check(*, request_id, now=None):
    """The requester cannot receive our texts: staff confirm identity another way."""
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if not _waiting_for_code(dsr):
            raise VerificationError(gettext("This request is not waiting for a code."))
        return needs_identity_check(dsr, reason="The requester could not receive the texted code.", now=now)


def _check_code(dsr, code, now):
    """Count the try and say whether the code is right; a code is dead after MAX_CODE_TRIES wrong ones.

    The caller saves and raises only after its transaction commits, so a wrong
    try is counted even though the request fails.
    """
    if (
        not dsr.sms_code_hash
        or dsr.sms_code_attempts >= MAX_CODE_TRIES
        or (dsr.sms_code_expires_at and now > dsr.sms_code_expires_at)
    ):
        return gettext("This code has expired or was entered wrongly too often. Ask for a new code.")
    dsr.sms_code_attempts += 1
    if not secrets.compare_digest(dsr.sms_code_hash, _hash_code(dsr, (code or "").strip())):
        if dsr.sms_code_attempts >= MAX_CODE_TRIES:
            dsr.sms_code_hash = ""  # dead: only a new code will do
            return gettext("That code is not right, and it was entered wrongly too often. Ask for a new code.")
        return gettext("That code is not right. Please check the text and try again.")
    dsr.sms_code_hash = ""  # single use
    return None


def confirm_sms_code(*, request_id, code, now=None):
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if not _waiting_for_code(dsr):
            raise VerificationError(gettext("This request is not waiting for a code."))
        problem = _check_code(dsr, code, now)
        dsr.save(update_fields=["sms_code_attempts", "sms_code_hash"])
        if problem is None:
            # The right code proves control of the phone it was texted to.
            phone_client = _phone_client(dsr)
            if phone_client is not None:
                clients = list(dsr.clients.all())
                identity.mark_phone_verified(
                    client_ids=[c.pk for c in clients], phone=phone_client.mobile_phone, now=now
                )
            _verified(dsr, now)
    if problem is not None:  # raised outside the transaction: the counted try stays counted
        raise VerificationError(problem)
    return dsr


def _verified(dsr, now, *, staff_user=None):
    dsr.verified_at = now
    dsr.identity_check_needed = False
    dsr.sms_code_hash = ""
    if dsr.request_type == RequestType.ERASURE:
        # The policy promises deletion within 14 days of verification.
        dsr.due_at = min(dsr.due_at, now + timedelta(days=settings.PRIVACY_ERASURE_DAYS))
    matched = f"Matched {dsr.clients.count()} client record(s)"
    transition(
        dsr,
        RequestStatus.VERIFIED,
        action=AuditAction.REQUEST_VERIFIED,
        actor=staff_user,
        actor_label="" if staff_user else "requester",
        detail=f"Identity checked by staff. {matched}" if staff_user else matched,
        fields=["verified_at", "due_at", "identity_check_needed", "sms_code_hash"],
    )
    if dsr.request_type in IMMEDIATE:
        fulfil_immediately(dsr, now)


def verify_by_staff(*, request_id, staff_user, now=None):
    """Staff confirmed the requester's identity another way (in person, a call back): the request is verified."""
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if dsr.status != RequestStatus.RECEIVED:
            raise RequestRefused(f"Request {dsr.reference} is {_NOW[dsr.status]}: it cannot be verified.")
        dsr.clients.set(Client.objects.filter(email=dsr.email))
        _verified(dsr, now, staff_user=staff_user)
    return dsr


def submit_verified_request(*, request_type, client, proof, now=None):
    """A request the person made signed in to their own account: verified already (their session and
    proof, `proof`, showed who they are), for this record only. On the register like any other."""
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.create(
            request_type=request_type,
            email=normalise_email(client.email),
            phone=str(client.mobile_phone or ""),
            details="",
            regime=_regime_for_record(),
            received_at=now,
            due_at=due_date(now, regime()),
        )
        audit(
            AuditAction.REQUEST_RECEIVED,
            request=dsr,
            actor_label="requester (signed in to their account)",
            detail=f"{dsr.get_request_type_display()} from the client's account ({proof})",
        )
        dsr.clients.set([client])
        _verified(dsr, now)
    return dsr


def export_downloaded_from_account(*, client, ip_address="", user_agent="", now=None):
    """The signed-in client (with a fresh code) downloads their data at once: an access request, verified,
    fulfilled and completed now, the download audited as a download link's is. Returns (request, ZIP bytes)."""
    from .export import build_bundle

    now = now or timezone.now()
    proof = "signed in to the account + fresh code"
    with transaction.atomic():
        dsr = submit_verified_request(request_type=RequestType.ACCESS, client=client, proof=proof, now=now)
        bundle = build_bundle(client_ids=[client.pk], reference=dsr.reference)
        audit(
            AuditAction.DATA_EXPORTED,
            request=dsr,
            client=client,
            actor_label="requester (own account)",
            detail=f"Downloaded at {now:%Y-%m-%d %H:%M:%S} UTC from {ip_address or 'unknown address'} "
            f"({proof}); browser: {user_agent[:300] or 'unknown'}",
        )  # DOWNLOAD_SOURCE below reads this
        complete_request(request_id=dsr.pk, outcome="Export downloaded by the client from their account.", now=now)
    return dsr, bundle


# --- Fulfilment ----------------------------------------------------------------


def _withdraw(dsr, clients, purposes, now):
    # A request staff logged (phone, letter) is the person's choice recorded by staff on their behalf: said so.
    by_staff = dsr.created_by_id is not None
    for client in clients:
        for purpose in purposes:
            record_consent(
                client=client,
                purpose=purpose,
                granted=False,
                notice_text=f"Privacy request {dsr.reference}: {dsr.get_request_type_display()}",
                source=ConsentSource.PRIVACY_REQUEST,
                actor=ConsentActor.STAFF if by_staff else ConsentActor.CLIENT,
                staff_user=dsr.created_by if by_staff else None,
                evidence=dsr.reference,
            )
        audit(
            AuditAction.CONSENT_WITHDRAWN,
            request=dsr,
            client=client,
            actor=dsr.created_by if by_staff else None,
            actor_label="" if by_staff else "requester",
            detail=", ".join(str(p) for p in purposes),
        )


def fulfil_immediately(dsr, now):
    clients = list(dsr.clients.all())
    if dsr.request_type == RequestType.OBJECTION:
        _withdraw(dsr, clients, (ConsentPurpose.SMS_MARKETING, ConsentPurpose.EMAIL_MARKETING), now)
        outcome = "Direct marketing stopped: marketing consents withdrawn."
    elif dsr.request_type == RequestType.WITHDRAW_CONSENT:
        _withdraw(dsr, clients, ALL_CLIENT_PURPOSES, now)
        outcome = "All consents withdrawn."
    elif dsr.request_type == RequestType.OPT_OUT_SALE:
        _withdraw(dsr, clients, (ConsentPurpose.SALE_SHARING,), now)
        outcome = "Opted out of sale and sharing."
    else:  # restriction
        set_restriction(clients=clients, restricted=True, request=dsr)
        outcome = "Processing restricted: stored only; no reminders or marketing until lifted."
    complete_request(request_id=dsr.pk, outcome=outcome, now=now)


def set_restriction(*, clients, restricted, request=None, staff_user=None):
    ids = [c.pk for c in clients]
    Client.objects.filter(pk__in=ids).update(processing_restricted=restricted)
    for client in clients:
        audit(
            AuditAction.PROCESSING_RESTRICTED if restricted else AuditAction.RESTRICTION_LIFTED,
            request=request,
            client=client,
            actor=staff_user,
            actor_label="" if staff_user else "requester",
        )


def complete_request(*, request_id, outcome, staff_user=None, now=None):
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        dsr.completed_at = now
        dsr.outcome = outcome
        dsr.export_nonce, dsr.export_link_expires_at = "", None  # its download link dies with it
        transition(
            dsr,
            RequestStatus.COMPLETED,
            action=AuditAction.REQUEST_COMPLETED,
            actor=staff_user,
            actor_label="" if staff_user else "system",
            detail=outcome,
            fields=["completed_at", "outcome", "export_nonce", "export_link_expires_at"],
        )
    return dsr


def refuse_request(*, request_id, basis, staff_user=None, now=None):
    if not basis.strip():
        raise RequestRefused("A refusal needs its legal basis.")
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        dsr.refusal_basis = basis.strip()
        dsr.completed_at = now
        dsr.export_nonce, dsr.export_link_expires_at = "", None  # its download link dies with it
        transition(
            dsr,
            RequestStatus.REFUSED,
            action=AuditAction.REQUEST_REFUSED,
            actor=staff_user,
            detail=basis,
            email=(
                "privacy/email/request_refused.txt",
                gettext("Your privacy request %(reference)s") % {"reference": dsr.reference},
            ),
            fields=["refusal_basis", "completed_at", "export_nonce", "export_link_expires_at"],
        )
    return dsr


# --- The export download link ------------------------------------------------------
#
# Single use (a nonce on the request, cleared by the download), short-lived
# (PRIVACY_EXPORT_LINK_HOURS), opened only in the browser that verified the
# request or after a fresh code, dead once the request is refused or completed,
# and every download audited with when and from where.


def download_token(dsr):
    return signing.dumps({"r": dsr.pk, "ref": dsr.reference, "n": dsr.export_nonce}, salt=DOWNLOAD_SALT)


def request_from_download_token(token, *, now=None):
    """The request whose export this live link is for; VerificationError otherwise."""
    now = now or timezone.now()
    try:
        data = signing.loads(token, salt=DOWNLOAD_SALT, max_age=settings.PRIVACY_EXPORT_LINK_HOURS * 3600)
    except signing.SignatureExpired as exc:
        raise VerificationError(gettext("This download link has expired. Please ask us for a new one.")) from exc
    except signing.BadSignature as exc:
        raise VerificationError(gettext("This download link is not valid.")) from exc
    if not isinstance(data, dict):
        raise VerificationError(gettext("This download link is not valid."))
    dsr = DataSubjectRequest.objects.filter(pk=data.get("r"), reference=str(data.get("ref"))).first()
    if dsr is None or dsr.request_type not in (RequestType.ACCESS, RequestType.PORTABILITY) or dsr.verified_at is None:
        raise VerificationError(gettext("This download link is not valid."))
    if (
        dsr.status != RequestStatus.IN_PROGRESS
        or not dsr.export_nonce
        or not secrets.compare_digest(dsr.export_nonce, str(data.get("n")))
    ):
        raise VerificationError(gettext("This download link has already been used or is no longer valid."))
    if dsr.export_link_expires_at is None or now > dsr.export_link_expires_at:
        raise VerificationError(gettext("This download link has expired. Please ask us for a new one."))
    return dsr


def send_export_link(*, request_id, staff_user=None, now=None):
    """Email the verified requester a single-use, short-lived link to their export (a new one voids the last)."""
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if dsr.request_type not in (RequestType.ACCESS, RequestType.PORTABILITY):
            # (An erasure moved to "in progress" this way would wait for its last day before being done.)
            raise RequestRefused(f"A {dsr.get_request_type_display().lower()} request gets no data export.")
        if dsr.verified_at is None:
            raise RequestRefused("Only a verified request gets its data.")
        if dsr.status not in (RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS):
            raise RequestRefused("This request is closed: its data is no longer sent.")
        dsr.export_nonce = secrets.token_urlsafe(24)
        dsr.export_link_expires_at = now + timedelta(hours=settings.PRIVACY_EXPORT_LINK_HOURS)
        url = settings.SITE_URL + reverse("privacy:request_download", args=[download_token(dsr)])
        transition(
            dsr,
            RequestStatus.IN_PROGRESS,
            action=AuditAction.EXPORT_LINK_SENT,
            actor=staff_user,
            actor_label="" if staff_user else "system",
            detail=f"Valid until {dsr.export_link_expires_at:%Y-%m-%d %H:%M} UTC, once.",
            email=(
                "privacy/email/request_export.txt",
                gettext("Your data from %(clinic)s (%(reference)s)")
                % {"clinic": settings.CLINIC_NAME, "reference": dsr.reference},
                {"url": url, "hours": settings.PRIVACY_EXPORT_LINK_HOURS},
            ),
            fields=["export_nonce", "export_link_expires_at"],
        )
    return url


def send_download_code(*, request_id, now=None):
    """A fresh code for opening the export in another browser: texted to the phone on file, else emailed.

    Returns "sms" or "email"; None once MAX_CODES_SENT codes were sent.
    """
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if dsr.status != RequestStatus.IN_PROGRESS or not dsr.export_nonce:
            raise VerificationError("This download link is no longer valid.")
        if dsr.sms_codes_sent >= MAX_CODES_SENT_IN_ALL:
            return None
        code = _new_code(dsr, now)
        if _text_code(dsr, code):
            return "sms"
        _email_after_commit(
            dsr,
            "privacy/email/download_code.txt",
            gettext("Your code for %(reference)s") % {"reference": dsr.reference},
            {"code": code, "minutes": settings.PRIVACY_SMS_CODE_MINUTES},
        )
        return "email"


def confirm_download_code(*, request_id, code, now=None):
    """Check a fresh download code (tries counted as for verification codes); VerificationError if wrong."""
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if dsr.status != RequestStatus.IN_PROGRESS or not dsr.export_nonce:
            raise VerificationError("This download link is no longer valid.")
        problem = _check_code(dsr, code, now)
        dsr.save(update_fields=["sms_code_attempts", "sms_code_hash"])
    if problem is not None:
        raise VerificationError(problem)
    return dsr


def use_download_link(*, token, proof, ip_address="", user_agent="", now=None):
    """Spend the link (once), complete the request and audit the download; returns the request.

    proof says how this browser showed it is the requester's ("verified in this
    browser" or "fresh code"); the caller checked it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        DataSubjectRequest.objects.select_for_update().filter(pk=request_from_download_token(token, now=now).pk).first()
        dsr = request_from_download_token(
            token, now=now
        )  # checked again under the lock: of two racing downloads, one gets it
        DataSubjectRequest.objects.filter(pk=dsr.pk).update(export_nonce="", export_link_expires_at=None)
        audit(
            AuditAction.DATA_EXPORTED,
            request=dsr,
            actor_label="requester (download link)",
            detail=f"Downloaded at {now:%Y-%m-%d %H:%M:%S} UTC from {ip_address or 'unknown address'} "
            f"({proof}); browser: {user_agent[:300] or 'unknown'}",
        )  # DOWNLOAD_SOURCE below reads this
        complete_request(request_id=dsr.pk, outcome="Export downloaded by the verified requester.", now=now)
    return dsr


# Where a download came from (address and browser) in its audit row: personal data, erased with the person.
DOWNLOAD_SOURCE = re.compile(r" from .+? \((?P<proof>[^()]*)\); browser: .*\Z", re.S)


def forget_download_source(detail: str) -> str:
    """The download's audit detail without its address and browser (when and how it was proven stay)."""
    return DOWNLOAD_SOURCE.sub(lambda m: f" from [erased] ({m['proof']}); browser: [erased]", detail)


def expire_unverified_requests(*, now=None):
    """Requests the requester never acted on expire; none stuck because we could not reach them.

    Expired: acknowledged (the link reached the mail server) and the link not
    used within PRIVACY_VERIFICATION_HOURS. A request whose email was confirmed
    but whose code never came back goes to staff for an identity check instead.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.PRIVACY_VERIFICATION_HOURS)
    waiting = DataSubjectRequest.objects.filter(status=RequestStatus.RECEIVED, identity_check_needed=False)
    stale = waiting.filter(email_confirmed_at__isnull=True, acknowledged_at__isnull=False, acknowledged_at__lt=cutoff)
    count = 0
    for request_id in stale.values_list("pk", flat=True):
        with transaction.atomic():
            dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
            if dsr.status != RequestStatus.RECEIVED or dsr.email_confirmed_at is not None:
                continue  # verified (or confirmed) since the list was read
            dsr.verification_nonce, dsr.sms_code_hash = "", ""
            transition(
                dsr,
                RequestStatus.EXPIRED,
                action=AuditAction.REQUEST_EXPIRED,
                actor_label="system",
                detail=f"Verification link not used within {settings.PRIVACY_VERIFICATION_HOURS} hours.",
                fields=["verification_nonce", "sms_code_hash"],
            )
        count += 1
    no_code = waiting.filter(email_confirmed_at__isnull=False, email_confirmed_at__lt=cutoff)
    for request_id in no_code.values_list("pk", flat=True):
        with transaction.atomic():
            dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
            if not _waiting_for_code(dsr):
                continue  # the code was entered (or staff stepped in) since the list was read
            needs_identity_check(
                dsr,
                reason="The requester confirmed the email but no code was entered: check identity another way.",
                now=now,
            )
    return count
