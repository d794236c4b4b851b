"""Privacy-rights requests: intake, verification, deadlines and fulfilment.

Nothing about any client is revealed before verification, and intake answers
the same whether or not the email is known. Verification is by a signed,
single-use email link (72 h); deletion and requests for specific data also
need a one-time code texted to the phone on file.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from clinic import identity
from clinic.models import Client
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
ALL_CLIENT_PURPOSES = (ConsentPurpose.SMS_REMINDERS,) + MARKETING_PURPOSES


class VerificationError(Exception):
    """The link or code does not verify this request; the message says why, for the person."""


def audit(action, *, request=None, client=None, client_id=None, actor=None, actor_label="", detail=""):
    return PrivacyAuditEvent.objects.create(
        action=action,
        request=request,
        client_id=client.pk if client is not None else client_id,
        actor=actor,
        actor_label=actor_label,
        detail=detail[:2000],
    )


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
        if dsr.extended_due_at:
            raise ValueError("This request has already been extended once.")
        if not reason.strip():
            raise ValueError("An extension needs a reason, which is sent to the person.")
        if dsr.regime == Regime.GDPR:
            if now > dsr.received_at + relativedelta(months=1):
                raise ValueError("Under GDPR the person must be told of an extension within the first month.")
            dsr.extended_due_at = dsr.due_at + relativedelta(months=2)
        else:
            dsr.extended_due_at = dsr.due_at + timedelta(days=45)
        dsr.extension_reason = reason.strip()
        dsr.extension_notified_at = now
        dsr.save(update_fields=["extended_due_at", "extension_reason", "extension_notified_at"])
        _email(dsr, "privacy/email/request_extended.txt", f"Your privacy request {dsr.reference}: more time needed")
        audit(AuditAction.REQUEST_EXTENDED, request=dsr, actor=staff_user, detail=f"New deadline {dsr.extended_due_at:%Y-%m-%d}. Reason: {reason}")
    return dsr


# --- Intake ------------------------------------------------------------------


def _email(dsr, template, subject, **extra):
    context = {"request": dsr, "clinic_name": settings.CLINIC_NAME, **extra}
    send_mail(subject=subject, message=render_to_string(template, context), from_email=None, recipient_list=[dsr.email])


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
            email=email.strip().lower(),
            phone=phone,
            details=details,
            channel=channel,
            regime=chosen,
            received_at=now,
            due_at=due_date(now, regime()),
            verification_nonce=secrets.token_urlsafe(24),
            created_by=staff_user,
        )
        audit(AuditAction.REQUEST_RECEIVED, request=dsr, actor=staff_user, actor_label="" if staff_user else "requester",
              detail=f"{dsr.get_request_type_display()} via {dsr.get_channel_display()}")
        if request_type == RequestType.OPT_OUT_SALE:
            # CCPA: no identity verification, effective at once for the address given.
            _withdraw(dsr, Client.objects.filter(email=dsr.email), (ConsentPurpose.SALE_SHARING,), now)
        transaction.on_commit(lambda: _send_acknowledgement(dsr.pk))
    return dsr


def _send_acknowledgement(request_id):
    from .tasks import send_request_acknowledgement

    enqueue(send_request_acknowledgement, request_id)


def send_pending_acknowledgements():
    """Sweeper: acknowledgements whose task never ran are sent now."""
    pending = DataSubjectRequest.objects.filter(acknowledged_at__isnull=True, status=RequestStatus.RECEIVED).exclude(email="")
    return sum(send_acknowledgement(request_id=pk) for pk in pending.values_list("pk", flat=True))


def send_acknowledgement(*, request_id):
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    if dsr.acknowledged_at or not dsr.email:
        return False
    _email(
        dsr,
        "privacy/email/request_received.txt",
        f"We received your privacy request {dsr.reference}",
        verify_url=verification_url(dsr),
        hours=settings.PRIVACY_VERIFICATION_HOURS,
    )
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(acknowledged_at=timezone.now())
    return True


# --- Verification ------------------------------------------------------------


def _hash_code(dsr, code):
    return hashlib.sha256(f"{dsr.pk}:{dsr.reference}:{code}".encode()).hexdigest()


def confirm_email(*, token, now=None):
    """Use the emailed link once. Returns the request, and whether a texted code is still needed."""
    now = now or timezone.now()
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=settings.PRIVACY_VERIFICATION_HOURS * 3600)
    except signing.SignatureExpired as exc:
        raise VerificationError("This link has expired. Please send your request again.") from exc
    except signing.BadSignature as exc:
        raise VerificationError("This link is not valid.") from exc
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().filter(pk=data.get("r")).first()
        if dsr is None or not dsr.verification_nonce or not secrets.compare_digest(dsr.verification_nonce, str(data.get("n"))):
            raise VerificationError("This link has already been used or is not valid.")
        if dsr.status != RequestStatus.RECEIVED:
            raise VerificationError("This request is no longer waiting for verification.")
        dsr.verification_nonce = ""  # single use
        dsr.email_confirmed_at = now
        clients = list(Client.objects.filter(email=dsr.email))
        dsr.clients.set(clients)
        # The link proved control of the address: every record holding it is this person's.
        identity.mark_email_verified(client_ids=[c.pk for c in clients], email=dsr.email, now=now)
        phone_client = identity.phone_on_file(clients)
        if dsr.request_type in NEEDS_PHONE_CODE and phone_client is not None:
            code = f"{secrets.randbelow(10**6):06d}"
            dsr.sms_code_hash = _hash_code(dsr, code)
            dsr.sms_code_expires_at = now + timedelta(minutes=settings.PRIVACY_SMS_CODE_MINUTES)
            dsr.sms_code_attempts = 0
            dsr.save()
            registry.send_verification_sms(
                phone=str(phone_client.mobile_phone),
                body=f"{settings.CLINIC_NAME}: your privacy request code is {code}. It expires in "
                f"{settings.PRIVACY_SMS_CODE_MINUTES} minutes. If you did not ask for it, ignore this text.",
                client=phone_client,
            )
            return dsr, True
        dsr.save()
        _verified(dsr, now)
        return dsr, False


def confirm_sms_code(*, request_id, code, now=None):
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if dsr.status != RequestStatus.RECEIVED or not dsr.sms_code_hash or not dsr.email_confirmed_at:
            raise VerificationError("This request is not waiting for a code.")
        if dsr.sms_code_attempts >= 5 or (dsr.sms_code_expires_at and now > dsr.sms_code_expires_at):
            raise VerificationError("This code has expired or was entered wrongly too often. Please send your request again.")
        dsr.sms_code_attempts += 1
        if not secrets.compare_digest(dsr.sms_code_hash, _hash_code(dsr, (code or "").strip())):
            dsr.save(update_fields=["sms_code_attempts"])
            raise VerificationError("That code is not right. Please check the text and try again.")
        dsr.sms_code_hash = ""
        dsr.save(update_fields=["sms_code_attempts", "sms_code_hash"])
        # The right code proves control of the phone it was texted to.
        clients = list(dsr.clients.all())
        phone_client = identity.phone_on_file(clients)
        if phone_client is not None:
            identity.mark_phone_verified(client_ids=[c.pk for c in clients], phone=phone_client.mobile_phone, now=now)
        _verified(dsr, now)
    return dsr


def _verified(dsr, now):
    dsr.status = RequestStatus.VERIFIED
    dsr.verified_at = now
    if dsr.request_type == RequestType.ERASURE:
        # The policy promises deletion within 14 days of verification.
        dsr.due_at = min(dsr.due_at, now + timedelta(days=settings.PRIVACY_ERASURE_DAYS))
    dsr.save(update_fields=["status", "verified_at", "due_at"])
    audit(AuditAction.REQUEST_VERIFIED, request=dsr, actor_label="requester",
          detail=f"Matched {dsr.clients.count()} client record(s)")
    if dsr.request_type in IMMEDIATE:
        fulfil_immediately(dsr, now)


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
        audit(AuditAction.CONSENT_WITHDRAWN, request=dsr, client=client, actor=dsr.created_by if by_staff else None,
              actor_label="" if by_staff else "requester", detail=", ".join(str(p) for p in purposes))


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
            request=request, client=client, actor=staff_user, actor_label="" if staff_user else "requester",
        )


def complete_request(*, request_id, outcome, staff_user=None, now=None):
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        dsr.status = RequestStatus.COMPLETED
        dsr.completed_at = now
        dsr.outcome = outcome
        dsr.save(update_fields=["status", "completed_at", "outcome"])
        audit(AuditAction.REQUEST_COMPLETED, request=dsr, actor=staff_user, actor_label="" if staff_user else "system", detail=outcome)
    return dsr


def refuse_request(*, request_id, basis, staff_user=None, now=None):
    if not basis.strip():
        raise ValueError("A refusal needs its legal basis.")
    now = now or timezone.now()
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        dsr.status = RequestStatus.REFUSED
        dsr.refusal_basis = basis.strip()
        dsr.completed_at = now
        dsr.save(update_fields=["status", "refusal_basis", "completed_at"])
        audit(AuditAction.REQUEST_REFUSED, request=dsr, actor=staff_user, detail=basis)
        _email(dsr, "privacy/email/request_refused.txt", f"Your privacy request {dsr.reference}")
    return dsr


def download_token(dsr):
    return signing.dumps({"r": dsr.pk, "ref": dsr.reference}, salt=DOWNLOAD_SALT)


def request_from_download_token(token):
    try:
        data = signing.loads(token, salt=DOWNLOAD_SALT, max_age=settings.PRIVACY_EXPORT_LINK_DAYS * 86400)
    except signing.SignatureExpired as exc:
        raise VerificationError("This download link has expired.") from exc
    except signing.BadSignature as exc:
        raise VerificationError("This download link is not valid.") from exc
    dsr = DataSubjectRequest.objects.filter(pk=data.get("r"), reference=data.get("ref")).first()
    if dsr is None or dsr.request_type not in (RequestType.ACCESS, RequestType.PORTABILITY) or dsr.verified_at is None:
        raise VerificationError("This download link is not valid.")
    return dsr


def send_export_link(*, request_id, staff_user=None):
    """Email the verified requester a signed, expiring link to their export."""
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    if dsr.verified_at is None:
        raise ValueError("Only a verified request gets its data.")
    url = settings.SITE_URL + reverse("privacy:request_download", args=[download_token(dsr)])
    _email(dsr, "privacy/email/request_export.txt", f"Your data from {settings.CLINIC_NAME} ({dsr.reference})",
           url=url, days=settings.PRIVACY_EXPORT_LINK_DAYS)
    complete_request(request_id=dsr.pk, outcome="Export link emailed to the verified requester.", staff_user=staff_user)
    return url


def expire_unverified_requests(*, now=None):
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.PRIVACY_VERIFICATION_HOURS)
    stale = DataSubjectRequest.objects.filter(status=RequestStatus.RECEIVED, received_at__lt=cutoff)
    count = stale.update(status=RequestStatus.EXPIRED, verification_nonce="", sms_code_hash="")
    return count
