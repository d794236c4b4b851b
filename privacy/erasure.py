"""Erasure: anonymise a person everywhere through each app's eraser, unless a legal hold applies."""

from django.db import transaction
from django.utils import timezone

from clinic.hashing import contact_hash
from clinic.models import Client

from . import registry
from .requests import audit, complete_request, refuse_request
from .requests_models import AuditAction, DataSubjectRequest, RequestStatus, RequestType


class ErasureRefused(Exception):
    pass


def erase_clients(*, client_ids, request=None, staff_user=None, reason=""):
    """Anonymise these clients in every app. Idempotent. Returns {app: rows changed}."""
    client_ids = list(client_ids)
    with transaction.atomic():
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


def reapply_erasures(*, contact_hashes):
    """After a restore: erase again the clients whose number or address was erased since.

    The hashes come from the newest database's suppression list (see README, Backups and restore).
    Returns the ids erased.
    """
    contact_hashes = set(contact_hashes)
    client_ids = [
        client.pk
        for client in Client.objects.filter(erased_at__isnull=True).only("pk", "email", "mobile_phone")
        if (client.email and contact_hash(client.email) in contact_hashes)
        or (client.mobile_phone and contact_hash(str(client.mobile_phone)) in contact_hashes)
    ]
    if client_ids:
        erase_clients(client_ids=client_ids, reason="Re-applied after a database restore.")
    return client_ids


def fulfil_erasure_request(*, request_id, staff_user=None):
    """Erase the verified requester, or refuse with the recorded legal-hold reason."""
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    if dsr.request_type != RequestType.ERASURE or dsr.status not in (RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS):
        raise ErasureRefused("Only a verified deletion request can be fulfilled.")
    if dsr.legal_hold:
        refuse_request(
            request_id=dsr.pk,
            basis=f"Legal hold: {dsr.legal_hold_reason or 'the data must be kept by law'}",
            staff_user=staff_user,
        )
        raise ErasureRefused(f"Legal hold: {dsr.legal_hold_reason}")
    client_ids = list(dsr.clients.values_list("pk", flat=True))
    counts = erase_clients(client_ids=client_ids, request=dsr, staff_user=staff_user)
    complete_request(
        request_id=dsr.pk,
        outcome=f"Erased {len(client_ids)} client record(s) everywhere; hashed suppression entries kept.",
        staff_user=staff_user,
    )
    return counts


def process_due_erasures(*, now=None):
    """Daily: erase verified deletion requests so none passes its 14-day deadline."""
    now = now or timezone.now()
    done = 0
    for dsr in DataSubjectRequest.objects.filter(
        request_type=RequestType.ERASURE, status=RequestStatus.VERIFIED, legal_hold=False
    ):
        fulfil_erasure_request(request_id=dsr.pk)
        done += 1
    return done
