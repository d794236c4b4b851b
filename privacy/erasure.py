"""Erasure: anonymise a person everywhere through each app's eraser, unless a legal hold applies."""

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from clinic.errors import BusinessRuleError
from clinic.hashing import contact_hash
from clinic.models import Client
from clinic.personal_data import traces_of
from clinic.plain_text import render_plain_text

from . import registry
from .personal_data import scrub
from .requests_models import AuditAction, DataSubjectRequest, ErasureTombstone, RequestStatus, RequestType
from .subject_requests import audit, complete_request, refuse_request

logger = logging.getLogger(__name__)
# The job runs daily; a day and a half before the deadline is surely its last run in time, even if one run is late.
IN_PROGRESS_MARGIN = timedelta(hours=36)


class ErasureRefused(BusinessRuleError):
    """The erasure cannot go ahead (legal hold, not verified, ...): the message says why."""


def erase_clients(*, client_ids, request=None, staff_user=None, reason="", tombstone=True):
    """Anonymise these clients in every app. Idempotent. Returns {app: rows changed}.

    `tombstone=False` for a record erased because it was never used (an online booking abandoned at the
    payment step), not because the person asked: a tombstone would erase their other records on a restore."""
    client_ids = list(client_ids)
    with transaction.atomic():
        # Staff may name the person in the reason; the audit row outlives the erasure, so it must not.
        reason = scrub(reason, traces_of(Client.objects.filter(pk__in=client_ids))) if reason else ""
        if tombstone:
            _leave_tombstones(client_ids, erased_at=timezone.now())
        counts = registry.erase_subject(client_ids)
        for client_id in client_ids:
            audit(
                AuditAction.DATA_ERASED,
                request=request,
                client_id=client_id,
                actor=staff_user,
                actor_label="" if staff_user else "system",
                detail=(reason + " " if reason else "") + ", ".join(f"{app}: {n}" for app, n in counts.items()),
            )
    return counts


def _leave_tombstones(client_ids, *, erased_at):
    tombstones = []
    for client in Client.objects.filter(pk__in=client_ids, erased_at__isnull=True).only("email", "mobile_phone"):
        if client.email:
            tombstones.append(
                ErasureTombstone(contact_hash=contact_hash(client.email), kind="email", erased_at=erased_at)
            )
        if client.mobile_phone:
            tombstones.append(
                ErasureTombstone(contact_hash=contact_hash(str(client.mobile_phone)), kind="phone", erased_at=erased_at)
            )
    ErasureTombstone.objects.bulk_create(tombstones, ignore_conflicts=True)


def export_tombstones():
    """Lines "kind hash erased_at" of every erasure (the input of reapply_erasures)."""
    rows = ErasureTombstone.objects.order_by("erased_at", "id").values_list("kind", "contact_hash", "erased_at")
    return [f"{kind} {value} {erased_at.isoformat()}" for kind, value, erased_at in rows]


def reapply_erasures(*, lines):
    """After a restore: erase again whoever was erased after the backup was taken.

    `lines` come from export_tombstones() on the newest database. A restored
    client is erased again when their email matches a tombstone (or, with no
    email, their phone: numbers can be shared in a family), and only if the
    record was created before that erasure: someone who came back later is left
    alone. The tombstones are kept in the restored database too. Returns the ids erased.
    """
    tombstones = [_parse_tombstone(line) for line in lines if line.strip()]
    ErasureTombstone.objects.bulk_create(tombstones, ignore_conflicts=True)
    erased_at = {}
    for tombstone in tombstones:
        key = (tombstone.kind, tombstone.contact_hash)
        erased_at[key] = max(erased_at.get(key, tombstone.erased_at), tombstone.erased_at)
    client_ids = []
    for client in Client.objects.filter(erased_at__isnull=True).only("pk", "email", "mobile_phone", "created_at"):
        key = (
            ("email", contact_hash(client.email)) if client.email else ("phone", contact_hash(str(client.mobile_phone)))
        )
        if (client.email or client.mobile_phone) and key in erased_at and client.created_at <= erased_at[key]:
            client_ids.append(client.pk)
    if client_ids:
        erase_clients(client_ids=client_ids, reason="Re-applied after a database restore.")
    return client_ids


class BadTombstone(ValueError):
    pass


def _parse_tombstone(line):
    try:
        kind, value, when = line.split()
        erased_at = datetime.fromisoformat(when)
    except ValueError as exc:
        raise BadTombstone(f"Not a tombstone line: {line.strip()[:80]!r}") from exc
    if kind not in ErasureTombstone.Kind.values or len(value) != 64 or timezone.is_naive(erased_at):
        raise BadTombstone(f"Not a tombstone line: {line.strip()[:80]!r}")
    return ErasureTombstone(kind=kind, contact_hash=value, erased_at=erased_at)


def fulfil_erasure_request(*, request_id, staff_user=None):
    """Erase the verified requester and tell them, or refuse with the recorded legal-hold reason.

    Under the request's lock from the check to the end: a legal hold placed, or the request
    closed, while an erasure starts is seen before anything is erased.
    """
    with transaction.atomic():
        dsr = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if dsr.request_type != RequestType.ERASURE or dsr.status not in (
            RequestStatus.VERIFIED,
            RequestStatus.IN_PROGRESS,
        ):
            raise ErasureRefused("Only a verified deletion request can be fulfilled.")
        held = dsr.legal_hold
        if held:
            refuse_request(
                request_id=dsr.pk,
                basis=f"Legal hold: {dsr.legal_hold_reason or 'the data must be kept by law'}",
                staff_user=staff_user,
            )
        else:
            # Erasure wipes the request's address too: keep it in memory only, to say it is done.
            reply_to = dsr.email
            client_ids = list(dsr.clients.values_list("pk", flat=True))
            kept_by_law = registry.legal_holds(client_ids)  # named in the answer (medical records, ...)
            counts = erase_clients(client_ids=client_ids, request=dsr, staff_user=staff_user)
            dsr = complete_request(
                request_id=dsr.pk,
                outcome=f"Erased {len(client_ids)} client record(s) everywhere; hashed suppression entries kept."
                + "".join(f" {sentence}" for sentence in kept_by_law),
                staff_user=staff_user,
            )
            transaction.on_commit(lambda: _tell_requester(dsr, reply_to, kept_by_law))
    if held:  # raised once the refusal is committed
        raise ErasureRefused(f"Legal hold: {dsr.legal_hold_reason}")
    return counts


def _tell_requester(dsr, email, kept_by_law=()):
    if not email:
        return
    try:
        send_mail(
            subject=gettext("Your privacy request %(reference)s: your data has been deleted")
            % {"reference": dsr.reference},
            message=render_plain_text(
                "privacy/email/request_erased.txt",
                {"request": dsr, "clinic_name": settings.CLINIC_NAME, "kept_by_law": kept_by_law},
            ),
            from_email=None,
            recipient_list=[email],
        )
    except (OSError, smtplib.SMTPException) as exc:
        # The erasure stands; the register shows it completed. The address is gone, so no retry.
        logger.warning("Erasure %s done but its email failed: %s", dsr.reference, exc.__class__.__name__)


def due_erasures(*, now=None):
    """Deletion requests the daily job completes now.

    Verified ones at the first run after verification. One staff marked "in
    progress" is theirs to finish, but the job completes it on the last daily run
    before its deadline (within IN_PROGRESS_MARGIN of it) or once past it, so the
    14-day promise holds whatever happens at the desk. Under a legal
    hold nothing is erased: staff refuse it, and until then the register and the
    digest flag it overdue.
    """
    now = now or timezone.now()
    last_run = now + IN_PROGRESS_MARGIN
    open_erasures = DataSubjectRequest.objects.filter(request_type=RequestType.ERASURE, legal_hold=False)
    verified = open_erasures.filter(status=RequestStatus.VERIFIED)
    in_progress = open_erasures.filter(status=RequestStatus.IN_PROGRESS).filter(
        Q(extended_due_at__isnull=True, due_at__lte=last_run) | Q(extended_due_at__lte=last_run)
    )
    return list((verified | in_progress).order_by("due_at").values_list("pk", flat=True))


def process_due_erasures(*, now=None):
    """Daily (beat): complete due deletion requests so none passes its 14-day deadline. Returns how many."""
    done = 0
    for request_id in due_erasures(now=now):
        try:
            fulfil_erasure_request(request_id=request_id)
        except ErasureRefused:
            continue
        except Exception:
            # One failure must not hold up the others; it stays open and the digest flags it.
            logger.exception("Erasure of privacy request %s failed", request_id)
            continue
        done += 1
    return done
